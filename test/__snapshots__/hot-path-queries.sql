/* prepared */
    select a.requested, a.first_id, l.lanes
    from (select array(select distinct switchyard.lane_of(switchyard.conversation_of(p.sender, p.to_address))
                       from unnest($1::text[], $2::text[]) as p(sender, to_address))::int[] as lanes) l
    left join switchyard.append_messages($3::json, $4::int) a on true;

-- next query
/* prepared */
    select switchyard.claim_lanes($1, $2, $3::smallint[]) as lanes;

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
      select message_id from switchyard.bury_deliveries(array(
        select row(client_id, message_id, receive_count, first_received_at, last_received_at, $8::text,
                   enqueued_at, priority, group_id)::switchyard.burial
        from exhausted as buried), 'max_receives')),
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
