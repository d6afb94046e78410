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
    select * from switchyard.claim_deliveries($1::bigint, $2::int, $3::int,
      $4::int, $5::text, $6::int, $7::int,
      $8, $9::timestamptz);

-- next query
/* prepared */
    select * from switchyard.claim_deliveries($1::bigint, $2::int, $3::int,
      $4::int, $5::text, $6::int, $7::int,
      $8, $9::timestamptz);

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
