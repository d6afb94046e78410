/* prepared */
    with input as (select * from json_to_recordset($1::json) as r(id uuid, sender_id bigint, sender text, to_address text, type text, payload jsonb, headers jsonb,
  priority smallint, delay_seconds integer, deliver_at timestamptz, ttl_seconds integer, group_id text, dedup_id text,
  correlation_id text, reply_to text)),
    claimed as (
      insert into switchyard.dedup as d (scope, dedup_id, message_id, expires_at)
      select r.sender, r.dedup_id, r.id, clock_timestamp() + make_interval(secs => $2)
      from input r
      where r.dedup_id is not null
      on conflict (scope, dedup_id) do update
        set message_id = excluded.message_id, expires_at = excluded.expires_at
        where d.expires_at < clock_timestamp()
      returning d.message_id
    ),
    inserted as (
  insert into switchyard.message (id, lane, sender_id, sender, to_address, conversation, type, payload, headers,
                                  priority, deliver_at, expires_at, group_id, dedup_id, correlation_id, reply_to)
  select r.id, switchyard.lane_of(c.conversation), r.sender_id, r.sender, r.to_address, c.conversation, r.type,
         r.payload, r.headers, r.priority,
         coalesce(r.deliver_at, case when r.delay_seconds > 0 then clock_timestamp() + make_interval(secs => r.delay_seconds) end),
         case when r.ttl_seconds is not null then clock_timestamp() + make_interval(secs => r.ttl_seconds) end,
         r.group_id, r.dedup_id, r.correlation_id, r.reply_to
  from input r
  cross join lateral (select switchyard.conversation_of(r.sender, r.to_address) as conversation) c
      where r.dedup_id is null or r.id in (select message_id from claimed)
    )
    select r.id as requested, coalesce(c.message_id, d.message_id) as id
    from input r
    left join claimed c on c.message_id = r.id
    left join switchyard.dedup d on d.scope = r.sender and d.dedup_id = r.dedup_id
    where r.dedup_id is not null;

-- next query
/* prepared */
    select switchyard.claim_lanes($1, $2) as lanes;

-- next query
/* prepared */
    select * from switchyard.read_lane_batches($1, $2::smallint[], $3);

-- next query
/* prepared */
    select * from switchyard.insert_deliveries(
      $1::uuid[], $2::text[],
      $3::smallint[], $4::timestamptz[],
      $5::timestamptz[], $6::text[],
      $7::timestamptz[], $8::float8, $9::bigint[],
      $10, $11);

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
      from exhausted
      on conflict (client_id, message_id) do nothing
      returning message_id
    ),
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
      from exhausted
      on conflict (client_id, message_id) do nothing
      returning message_id
    ),
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
      select client_id, message_id, 'max_receives', receive_count, first_received_at, last_received_at,
             $8, enqueued_at, priority, group_id
      from exhausted
      on conflict (client_id, message_id) do nothing
      returning message_id
    ),
    retried as (
      update switchyard.delivery d
      set visible_at = now() + make_interval(secs => coalesce($9::float8,
            least(pol.cap_ms, pol.base_ms * power(2, greatest(t.receive_count - 1, 0))) * (0.5 + random() / 2) / 1000.0)),
          last_error = coalesce($10, d.last_error),
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
    set visible_at = now(), receive_count = greatest(receive_count - 1, 0), lease_owner = null, lease_seq = null
    where client_id = $1 and lease_owner = $2 and lease_seq > $3 and visible_at > now();

-- next query
/* prepared */
    select c.id::text as id
    from unnest($1::bigint[]) as c(id)
    where exists (select 1 from switchyard.delivery d where d.client_id = c.id and d.visible_at <= now());
