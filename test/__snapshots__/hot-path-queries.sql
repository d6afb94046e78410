
    insert into switchyard.message (id, lane, sender_id, sender, to_address, conversation, type, payload, headers,
                                    priority, deliver_at, expires_at, group_id, dedup_id, correlation_id, reply_to)
    select r.id, switchyard.lane_of(c.conversation), r.sender_id, r.sender, r.to_address, c.conversation, r.type,
           r.payload, r.headers, r.priority,
           case when r.delay_seconds > 0 then clock_timestamp() + make_interval(secs => r.delay_seconds) end,
           case when r.ttl_seconds is not null then clock_timestamp() + make_interval(secs => r.ttl_seconds) end,
           r.group_id, r.dedup_id, r.correlation_id, r.reply_to
    from jsonb_to_recordset($1::jsonb) as r(
           id uuid, sender_id bigint, sender text, to_address text, type text, payload jsonb, headers jsonb,
           priority smallint, delay_seconds integer, ttl_seconds integer, group_id text, dedup_id text,
           correlation_id text, reply_to text)
    cross join lateral (select switchyard.conversation_of(r.sender, r.to_address) as conversation) c;

-- next query

    select c.lane
    from switchyard.stage_cursor c
    where c.stage = $1
      and (c.target is not null
           or exists (select 1 from switchyard.message m
                      where m.lane = c.lane and m.xid >= pg_snapshot_xmax(c.prev))
           or exists (select 1 from switchyard.message m
                      where m.lane = c.lane and m.xid = any (array(select pg_snapshot_xip(c.prev)))))
    order by c.updated_at
    limit $2
    for update of c skip locked;

-- next query

    with cursor as materialized (
      select c.lane, c.prev, c.pos_xid, c.pos_id,
             -- a new window's target is this statement's own snapshot (rule 2)
             coalesce(c.target, pg_current_snapshot()) as snap,
             -- where the xmax(prev).. branch starts: the position, once it has passed xmax(prev)
             case when c.pos_xid >= pg_snapshot_xmax(c.prev) then c.pos_xid else pg_snapshot_xmax(c.prev) end as lo_xid,
             case when c.pos_xid >= pg_snapshot_xmax(c.prev) then c.pos_id
                  else '00000000-0000-0000-0000-000000000000'::uuid end as lo_id
      from switchyard.stage_cursor c
      where c.stage = $1 and c.lane = any ($2::smallint[])
    ),
    batch as (
      select b.*
      from cursor c
      cross join lateral (
        select * from (
          (select m.id, m.xid::text as xid, m.lane, m.created_at, m.sender_id, m.sender, m.to_address,
  m.conversation, m.type, m.priority, m.deliver_at, m.expires_at, m.group_id, m.dedup_id, m.correlation_id, m.reply_to
           from switchyard.message m
           where m.lane = c.lane
             and m.xid = any (array(select pg_snapshot_xip(c.prev)))
             and (c.pos_xid is null or (m.xid, m.id) > (c.pos_xid, c.pos_id))
             and pg_visible_in_snapshot(m.xid, c.snap)
           order by m.xid, m.id
           limit $3)
          union all
          (select m.id, m.xid::text as xid, m.lane, m.created_at, m.sender_id, m.sender, m.to_address,
  m.conversation, m.type, m.priority, m.deliver_at, m.expires_at, m.group_id, m.dedup_id, m.correlation_id, m.reply_to
           from switchyard.message m
           where m.lane = c.lane
             and (m.xid, m.id) > (c.lo_xid, c.lo_id)
             and m.xid < pg_snapshot_xmax(c.snap)
             and pg_visible_in_snapshot(m.xid, c.snap)
           order by m.xid, m.id
           limit $4)
        ) both_branches
        order by both_branches.xid::xid8, both_branches.id
        limit $5
      ) b
    ),
    last as (
      select distinct on (lane) lane, xid::xid8 as xid, id, count(*) over (partition by lane) as n
      from batch
      order by lane, xid::xid8 desc, id desc
    ),
    advance as (
      -- a short batch closes the window (prev := target); a full one keeps it open at its last row
      update switchyard.stage_cursor s
      set prev = case when coalesce(l.n, 0) < $6 then c.snap else s.prev end,
          target = case when coalesce(l.n, 0) < $7 then null else c.snap end,
          pos_xid = case when coalesce(l.n, 0) < $8 then null else l.xid end,
          pos_id = case when coalesce(l.n, 0) < $9 then null else l.id end,
          updated_at = now()
      from cursor c
      left join last l on l.lane = c.lane
      where s.stage = $10 and s.lane = c.lane
    )
    select * from batch order by lane, xid::xid8, id;

-- next query

    with m as (
      select *
      from unnest($1::uuid[], $2::text[],
                  $3::smallint[], $4::timestamptz[],
                  $5::timestamptz[])
           as m(id, to_address, priority, deliver_at, created_at)
    ),
    inserted as (
      insert into switchyard.delivery (client_id, message_id, sort_key, visible_at)
      select s.client_id, m.id,
             coalesce(m.deliver_at, m.created_at) - make_interval(secs => m.priority * $6::float8),
             coalesce(m.deliver_at, now())
      from m
      join switchyard.subscription s on s.address = m.to_address
      on conflict (client_id, message_id) do nothing
      returning client_id
    )
    select distinct client_id from inserted limit $7;

-- next query

    with claimed as (
      select d.client_id, d.message_id, d.sort_key
      from switchyard.delivery d
      where d.client_id = $1 and d.visible_at <= coalesce($2::timestamptz, now())
      order by d.sort_key
      limit $3
      for update skip locked
    ),
    numbered as (
      select c.*, row_number() over (order by c.sort_key, c.message_id)::int as n from claimed c
    ),
      done as (
        update switchyard.delivery d
        set visible_at = coalesce($4::timestamptz, now()) + make_interval(secs => $5),
            receive_count = d.receive_count + 1,
            first_received_at = coalesce(d.first_received_at, coalesce($6::timestamptz, now())),
            last_received_at = coalesce($7::timestamptz, now()),
            lease_owner = $8,
            lease_seq = case when $9::text is null then null else $10::int + n.n end
        from numbered n
        where d.client_id = n.client_id and d.message_id = n.message_id
        returning d.message_id, d.receive_count, d.lease_seq, n.sort_key
      )
    select done.message_id as id, done.receive_count, done.lease_seq, m.sender, m.to_address, m.type, m.payload,
           m.headers, m.priority, m.created_at, m.group_id, m.correlation_id, m.reply_to
    from done
    join switchyard.message m on m.id = done.message_id
    order by done.sort_key, done.message_id;

-- next query

    with claimed as (
      select d.client_id, d.message_id, d.sort_key
      from switchyard.delivery d
      where d.client_id = $1 and d.visible_at <= coalesce($2::timestamptz, now())
      order by d.sort_key
      limit $3
      for update skip locked
    ),
    numbered as (
      select c.*, row_number() over (order by c.sort_key, c.message_id)::int as n from claimed c
    ),
      done as (
        delete from switchyard.delivery d
        using numbered n
        where d.client_id = n.client_id and d.message_id = n.message_id
        returning d.message_id, d.receive_count + 1 as receive_count, ($4::int + n.n)::int as lease_seq, n.sort_key
      )
    select done.message_id as id, done.receive_count, done.lease_seq, m.sender, m.to_address, m.type, m.payload,
           m.headers, m.priority, m.created_at, m.group_id, m.correlation_id, m.reply_to
    from done
    join switchyard.message m on m.id = done.message_id
    order by done.sort_key, done.message_id;

-- next query

    delete from switchyard.delivery d
    using unnest($1::uuid[], $2::int[])
          as r(message_id, receive_count)
    where d.client_id = $3 and d.message_id = r.message_id and d.receive_count = r.receive_count
    returning d.message_id;

-- next query

    update switchyard.delivery
    set visible_at = now(), receive_count = greatest(receive_count - 1, 0), lease_owner = null, lease_seq = null
    where client_id = $1 and lease_owner = $2 and lease_seq > $3 and visible_at > now();

-- next query

    select c.id::text as id
    from unnest($1::bigint[]) as c(id)
    where exists (select 1 from switchyard.delivery d where d.client_id = c.id and d.visible_at <= now());
