/* prepared */
    select requested, first_id from switchyard.append_messages($1::json, $2::int);

-- next query
/* prepared */
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
/* prepared */
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
/* prepared */
    with m as (
      select *
      from unnest($1::uuid[], $2::text[],
                  $3::smallint[], $4::timestamptz[],
                  $5::timestamptz[], $6::text[],
                  $7::timestamptz[])
           with ordinality as m(id, to_address, priority, deliver_at, created_at, group_id, expires_at, entry)),
    r as (
      select s.client_id, m.id as message_id, null::text as via,
             greatest(m.deliver_at, m.created_at) - make_interval(secs => m.priority * $8::float8) as sort_key,
             greatest(m.deliver_at, now()) as visible_at, m.priority, m.group_id, m.expires_at,
             s.client_id = any($9::bigint[]) and m.to_address not like 'user:%' as overflow,
             m.deliver_at > now() + make_interval(secs => $10) as pending
      from m
      join switchyard.subscription s on s.address = m.to_address and s.filter is null),
    inserted as (
      insert into switchyard.delivery (client_id, message_id, sort_key, visible_at, priority, group_id, expires_at, via)
      select client_id, message_id, sort_key, visible_at, priority, group_id, expires_at, via
      from r where not overflow and pending is not true
      on conflict (client_id, message_id) do nothing
      returning client_id
    ),
    postponed as (
      insert into switchyard.delivery_pending (client_id, message_id, due_at, sort_key, priority, group_id, expires_at, via)
      select client_id, message_id, visible_at, sort_key, priority, group_id, expires_at, via
      from r where not overflow and pending
      on conflict (client_id, message_id) do nothing
    ),
    overflowed as (
      insert into switchyard.dead_letter (client_id, message_id, reason, receive_count, first_received_at,
                                          last_received_at, last_error, enqueued_at, priority, group_id)
      select client_id, message_id, 'overflow', receive_count, first_received_at, last_received_at, 'the queue was full (overflow policy reject): this copy was not enqueued',
             enqueued_at, priority, group_id
      from (
      select client_id, message_id, 0 as receive_count, null::timestamptz as first_received_at,
             null::timestamptz as last_received_at, now() as enqueued_at, priority, group_id
      from r where overflow) as buried
      on conflict (client_id, message_id) do nothing
      returning client_id)
    (select 'delivered' as kind, client_id, 1 as n from (select distinct client_id from inserted limit $11) d)
    union all
    (select 'overflow', client_id, count(*)::int from overflowed group by client_id);

-- next query
/* prepared */
    with policy as (
      select coalesce(p.max_receives, $1::int) as max_receives, p.delivery_rate as rate,
             coalesce(p.delivery_burst, greatest(1, ceil(p.delivery_rate)))::float8 as burst
      from (select 1) as one
      left join switchyard.queue_policy p on p.client_id = $2
    ),
    bucket as (
      -- only clients with a delivery rate have a bucket; it refills continuously up to its burst
      select least(pol.burst, b.tokens + pol.rate * extract(epoch from coalesce($3::timestamptz, now()) - b.updated_at)) as tokens
      from switchyard.delivery_bucket b cross join policy pol
      where b.client_id = $4 and pol.rate is not null
      for update of b
    ),
    candidates as (
      select d.client_id, d.message_id, d.sort_key, d.receive_count, d.expires_at
      from switchyard.delivery d
      where d.client_id = $5 and d.visible_at <= coalesce($6::timestamptz, now())
        and (d.group_id is null or not exists (
              select 1 from switchyard.delivery e
              where e.client_id = d.client_id and e.group_id = d.group_id and e.message_id < d.message_id))
      order by d.sort_key
      limit greatest(0, least($7::int, $8::int, coalesce(floor((select tokens from bucket))::int, $9::int)))
      for update of d skip locked
    ),
    expired as (
      delete from switchyard.delivery d
      where d.client_id = $10
        and d.message_id = any(array(select message_id from candidates where expires_at <= coalesce($11::timestamptz, now())))
      returning d.message_id
    ),
    exhausted as (
      delete from switchyard.delivery d
      where d.client_id = $12
        and d.message_id = any(array(
              select c.message_id from candidates c, policy pol
              where (c.expires_at is null or c.expires_at > coalesce($13::timestamptz, now())) and c.receive_count >= pol.max_receives))
      returning d.*
    ),
    buried as (
      insert into switchyard.dead_letter (client_id, message_id, reason, receive_count, first_received_at,
                                          last_received_at, last_error, enqueued_at, priority, group_id)
      select client_id, message_id, 'max_receives', receive_count, first_received_at, last_received_at, last_error,
             enqueued_at, priority, group_id
      from exhausted as buried
      on conflict (client_id, message_id) do nothing
      returning message_id),
    deliverable as (
      -- one row: the ids to hand out, in claim order (their position is the event number)
      select array_agg(c.message_id order by c.sort_key, c.message_id) as ids
      from candidates c, policy pol
      where (c.expires_at is null or c.expires_at > coalesce($14::timestamptz, now())) and c.receive_count < pol.max_receives
    ),
      done as (
        update switchyard.delivery d
        set visible_at = coalesce($15::timestamptz, now()) + make_interval(secs => $16),
            receive_count = d.receive_count + 1,
            first_received_at = coalesce(d.first_received_at, coalesce($17::timestamptz, now())),
            last_received_at = coalesce($18::timestamptz, now()),
            lease_owner = $19,
            lease_seq = case when $20::text is null then null else $21::int + array_position(n.ids, d.message_id) end
        from deliverable n
        where d.client_id = $22 and d.message_id = any(n.ids)
        returning d.message_id, d.receive_count, d.lease_seq, array_position(n.ids, d.message_id) as place, d.via
      ),
    spend as (
      update switchyard.delivery_bucket b
      set tokens = (select tokens from bucket) - (select count(*) from done), updated_at = coalesce($23::timestamptz, now())
      where b.client_id = $24 and exists (select 1 from bucket)
    )
    select 'delivered' as outcome, done.message_id as id, done.receive_count, done.lease_seq, m.sender, m.to_address,
           m.type, m.payload, m.headers, m.priority, floor(extract(epoch from m.created_at) * 1000)::float8 as created_ms, m.group_id, m.correlation_id, m.reply_to, done.via, done.place
    from done join switchyard.message m on m.id = done.message_id
    union all
    select 'expired', m.id, 0, null, m.sender, m.to_address, null, null, null, m.priority, floor(extract(epoch from m.created_at) * 1000)::float8, null, null, null, null, null
    from expired join switchyard.message m on m.id = expired.message_id
    union all
    select 'dead_lettered', m.id, 0, null, m.sender, m.to_address, null, null, null, m.priority, floor(extract(epoch from m.created_at) * 1000)::float8, null, null, null, null, null
    from buried join switchyard.message m on m.id = buried.message_id
    order by outcome, place, id;

-- next query
/* prepared */
    with policy as (
      select coalesce(p.max_receives, $1::int) as max_receives, p.delivery_rate as rate,
             coalesce(p.delivery_burst, greatest(1, ceil(p.delivery_rate)))::float8 as burst
      from (select 1) as one
      left join switchyard.queue_policy p on p.client_id = $2
    ),
    bucket as (
      -- only clients with a delivery rate have a bucket; it refills continuously up to its burst
      select least(pol.burst, b.tokens + pol.rate * extract(epoch from coalesce($3::timestamptz, now()) - b.updated_at)) as tokens
      from switchyard.delivery_bucket b cross join policy pol
      where b.client_id = $4 and pol.rate is not null
      for update of b
    ),
    candidates as (
      select d.client_id, d.message_id, d.sort_key, d.receive_count, d.expires_at
      from switchyard.delivery d
      where d.client_id = $5 and d.visible_at <= coalesce($6::timestamptz, now())
        and (d.group_id is null or not exists (
              select 1 from switchyard.delivery e
              where e.client_id = d.client_id and e.group_id = d.group_id and e.message_id < d.message_id))
      order by d.sort_key
      limit greatest(0, least($7::int, $8::int - (select count(*)::int from switchyard.delivery f
          where f.client_id = $9 and f.lease_owner = $10 and f.visible_at > coalesce($11::timestamptz, now())), coalesce(floor((select tokens from bucket))::int, $12::int)))
      for update of d skip locked
    ),
    expired as (
      delete from switchyard.delivery d
      where d.client_id = $13
        and d.message_id = any(array(select message_id from candidates where expires_at <= coalesce($14::timestamptz, now())))
      returning d.message_id
    ),
    exhausted as (
      delete from switchyard.delivery d
      where d.client_id = $15
        and d.message_id = any(array(
              select c.message_id from candidates c, policy pol
              where (c.expires_at is null or c.expires_at > coalesce($16::timestamptz, now())) and c.receive_count >= pol.max_receives))
      returning d.*
    ),
    buried as (
      insert into switchyard.dead_letter (client_id, message_id, reason, receive_count, first_received_at,
                                          last_received_at, last_error, enqueued_at, priority, group_id)
      select client_id, message_id, 'max_receives', receive_count, first_received_at, last_received_at, last_error,
             enqueued_at, priority, group_id
      from exhausted as buried
      on conflict (client_id, message_id) do nothing
      returning message_id),
    deliverable as (
      -- one row: the ids to hand out, in claim order (their position is the event number)
      select array_agg(c.message_id order by c.sort_key, c.message_id) as ids
      from candidates c, policy pol
      where (c.expires_at is null or c.expires_at > coalesce($17::timestamptz, now())) and c.receive_count < pol.max_receives
    ),
      done as (
        delete from switchyard.delivery d
        using deliverable n
        where d.client_id = $18 and d.message_id = any(n.ids)
        returning d.message_id, d.receive_count + 1 as receive_count, $19::int + array_position(n.ids, d.message_id) as lease_seq, array_position(n.ids, d.message_id) as place,
                  d.client_id, coalesce(d.first_received_at, coalesce($20::timestamptz, now())) as first_received_at, d.via
      ),
      auto_receipts as (
        insert into switchyard.delivery_receipt (message_id, client_id, receive_count, first_received_at, acked_at)
        select message_id, client_id, receive_count, first_received_at, coalesce($21::timestamptz, now()) from done
      ),
    spend as (
      update switchyard.delivery_bucket b
      set tokens = (select tokens from bucket) - (select count(*) from done), updated_at = coalesce($22::timestamptz, now())
      where b.client_id = $23 and exists (select 1 from bucket)
    )
    select 'delivered' as outcome, done.message_id as id, done.receive_count, done.lease_seq, m.sender, m.to_address,
           m.type, m.payload, m.headers, m.priority, floor(extract(epoch from m.created_at) * 1000)::float8 as created_ms, m.group_id, m.correlation_id, m.reply_to, done.via, done.place
    from done join switchyard.message m on m.id = done.message_id
    union all
    select 'expired', m.id, 0, null, m.sender, m.to_address, null, null, null, m.priority, floor(extract(epoch from m.created_at) * 1000)::float8, null, null, null, null, null
    from expired join switchyard.message m on m.id = expired.message_id
    union all
    select 'dead_lettered', m.id, 0, null, m.sender, m.to_address, null, null, null, m.priority, floor(extract(epoch from m.created_at) * 1000)::float8, null, null, null, null, null
    from buried join switchyard.message m on m.id = buried.message_id
    order by outcome, place, id;

-- next query

    with policy as (
      select coalesce(p.max_receives, $1::int) as max_receives,
             coalesce(p.backoff_base_ms, $2::int) as base_ms,
             coalesce(p.backoff_cap_ms, $3::int) as cap_ms
      from (select 1) as one
      left join switchyard.queue_policy p on p.client_id = $4
    ),
    target as (
      select d.client_id, d.message_id, d.receive_count
      from switchyard.delivery d
      join
  unnest($5::uuid[], $6::int[]) as r(message_id, receive_count) on d.message_id = r.message_id and d.receive_count = r.receive_count
      where d.client_id = $7
      for update of d
    ),
    exhausted as (
      delete from switchyard.delivery d
      using target t, policy pol
      where d.client_id = t.client_id and d.message_id = t.message_id and t.receive_count >= pol.max_receives
      returning d.*
    ),
    buried as (
      insert into switchyard.dead_letter (client_id, message_id, reason, receive_count, first_received_at,
                                          last_received_at, last_error, enqueued_at, priority, group_id)
      select client_id, message_id, 'max_receives', receive_count, first_received_at, last_received_at, $8,
             enqueued_at, priority, group_id
      from exhausted as buried
      on conflict (client_id, message_id) do nothing
      returning message_id),
    retried as (
      update switchyard.delivery d
      set visible_at = coalesce($9::timestamptz, now()) + make_interval(secs => coalesce($10::float8,
            least(pol.cap_ms, pol.base_ms * power(2, greatest(t.receive_count - 1, 0))) * (0.5 + random() / 2) / 1000.0)),
          last_error = coalesce($11, d.last_error),
          lease_owner = null,
          lease_seq = null
      from target t, policy pol
      where d.client_id = t.client_id and d.message_id = t.message_id and t.receive_count < pol.max_receives
      returning d.message_id
    )
    select message_id, 'retry' as outcome from retried
    union all
    select message_id, 'dead_lettered' from buried;

-- next query
/* prepared */
    with acked as (
      delete from switchyard.delivery d
      using
  unnest($1::uuid[], $2::int[]) as r(message_id, receive_count)
      where d.client_id = $3 and d.message_id = r.message_id and d.receive_count = r.receive_count
      returning d.message_id, d.client_id, d.receive_count, d.first_received_at, d.last_received_at, d.visible_at
    ),
    recorded as (
      insert into switchyard.delivery_receipt (message_id, client_id, receive_count, first_received_at, acked_at,
                                               processing_ms, visibility_ms)
      select message_id, client_id, receive_count, first_received_at, coalesce($4::timestamptz, now()),
             least(2147483647, greatest(0, round(extract(epoch from coalesce($5::timestamptz, now()) - last_received_at) * 1000)))::int, least(2147483647, greatest(0, round(extract(epoch from visible_at - last_received_at) * 1000)))::int
      from acked
    )
    select message_id from acked;

-- next query

    update switchyard.delivery
    set visible_at = coalesce($1::timestamptz, now()), receive_count = greatest(receive_count - 1, 0), lease_owner = null, lease_seq = null
    where client_id = $2 and lease_owner = $3 and lease_seq > $4 and visible_at > coalesce($5::timestamptz, now());

-- next query
/* prepared */
    select c.id::text as id
    from unnest($1::bigint[]) as c(id)
    where exists (select 1 from switchyard.delivery d where d.client_id = c.id and d.visible_at <= coalesce($2::timestamptz, now()));
