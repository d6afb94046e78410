-- Back to 0022's one-statement claim, with 0025's generic plans.
create or replace function switchyard.claim_deliveries(
  p_client_id bigint, p_max int, p_visibility_seconds int, p_max_receives int,
  p_owner text, p_seq_before int, p_prefetch int, p_auto_ack boolean, p_now timestamptz)
returns table (outcome text, id uuid, receive_count int, lease_seq int, sender text, to_address text, type text,
               payload jsonb, headers jsonb, priority smallint, created_ms float8, group_id text, correlation_id text,
               reply_to text, via text, place int)
language plpgsql volatile set search_path = pg_catalog set plan_cache_mode = force_generic_plan as $$
#variable_conflict use_column
declare
  now_ timestamptz := coalesce(p_now, now());
begin
  return query
    with policy as (
      select coalesce(p.max_receives, p_max_receives) as max_receives, p.delivery_rate as rate,
             coalesce(p.delivery_burst, greatest(1, ceil(p.delivery_rate)))::float8 as burst
      from (select 1) as one
      left join switchyard.queue_policy p on p.client_id = p_client_id
    ),
    bucket as (
      -- only clients with a delivery rate have a bucket; it refills continuously up to its burst
      select least(pol.burst, b.tokens + pol.rate * extract(epoch from now_ - b.updated_at)) as tokens
      from switchyard.delivery_bucket b cross join policy pol
      where b.client_id = p_client_id and pol.rate is not null
      for update of b
    ),
    candidates as (
      select d.client_id, d.message_id, d.sort_key, d.receive_count, d.expires_at
      from switchyard.delivery d
      where d.client_id = p_client_id and d.visible_at <= now_
        and (d.group_id is null or not exists (
              select 1 from switchyard.delivery e
              where e.client_id = d.client_id and e.group_id = d.group_id and e.message_id < d.message_id))
      order by d.sort_key
      limit greatest(0, least(p_max,
        case when p_owner is null then p_max
             else p_prefetch - (select count(*)::int from switchyard.delivery f
                                where f.client_id = p_client_id and f.lease_owner = p_owner and f.visible_at > now_) end,
        coalesce(floor((select tokens from bucket))::int, p_max)))
      for update of d skip locked
    ),
    expired as (
      delete from switchyard.delivery d
      where d.client_id = p_client_id
        and d.message_id = any(array(select c.message_id from candidates c where c.expires_at <= now_))
      returning d.message_id
    ),
    exhausted as (
      delete from switchyard.delivery d
      where d.client_id = p_client_id
        and d.message_id = any(array(
              select c.message_id from candidates c, policy pol
              where (c.expires_at is null or c.expires_at > now_) and c.receive_count >= pol.max_receives))
      returning d.*
    ),
    buried as (
      select b.message_id from switchyard.bury_deliveries(array(
        select row(x.client_id, x.message_id, x.receive_count, x.first_received_at, x.last_received_at, x.last_error,
                   x.enqueued_at, x.priority, x.group_id)::switchyard.burial
        from exhausted x), 'max_receives') b
    ),
    deliverable as (
      -- one row: the ids to hand out, in claim order (their position is the event number)
      select array_agg(c.message_id order by c.sort_key, c.message_id) as ids
      from candidates c, policy pol
      where (c.expires_at is null or c.expires_at > now_) and c.receive_count < pol.max_receives
    ),
    leased as (
      update switchyard.delivery d
      set visible_at = now_ + make_interval(secs => p_visibility_seconds),
          receive_count = d.receive_count + 1,
          first_received_at = coalesce(d.first_received_at, now_),
          last_received_at = now_,
          lease_owner = p_owner,
          lease_seq = case when p_owner is null then null else p_seq_before + array_position(n.ids, d.message_id) end
      from deliverable n
      where not p_auto_ack and d.client_id = p_client_id and d.message_id = any(n.ids)
      returning d.message_id, d.receive_count, d.lease_seq, array_position(n.ids, d.message_id) as place, d.via
    ),
    acked as (
      delete from switchyard.delivery d
      using deliverable n
      where p_auto_ack and d.client_id = p_client_id and d.message_id = any(n.ids)
      returning d.message_id, d.receive_count + 1 as receive_count, p_seq_before + array_position(n.ids, d.message_id) as lease_seq,
                array_position(n.ids, d.message_id) as place, d.client_id, coalesce(d.first_received_at, now_) as first_received_at, d.via
    ),
    auto_receipts as (
      insert into switchyard.delivery_receipt (message_id, client_id, receive_count, first_received_at, acked_at)
      select a.message_id, a.client_id, a.receive_count, a.first_received_at, now_ from acked a
    ),
    done as (
      select l.message_id, l.receive_count, l.lease_seq, l.place, l.via from leased l
      union all
      select a.message_id, a.receive_count, a.lease_seq, a.place, a.via from acked a
    ),
    spend as (
      update switchyard.delivery_bucket b
      set tokens = (select tokens from bucket) - (select count(*) from done), updated_at = now_
      where b.client_id = p_client_id and exists (select 1 from bucket)
    )
    select 'delivered'::text, done.message_id, done.receive_count, done.lease_seq, m.sender, m.to_address,
           m.type, m.payload, m.headers, m.priority, floor(extract(epoch from m.created_at) * 1000)::float8, m.group_id,
           m.correlation_id, m.reply_to, done.via, done.place
    from done join switchyard.message m on m.id = done.message_id
    union all
    select 'expired', m.id, 0, null, m.sender, m.to_address, null, null, null, m.priority,
           floor(extract(epoch from m.created_at) * 1000)::float8, null, null, null, null, null
    from expired join switchyard.message m on m.id = expired.message_id
    union all
    select 'dead_lettered', m.id, 0, null, m.sender, m.to_address, null, null, null, m.priority,
           floor(extract(epoch from m.created_at) * 1000)::float8, null, null, null, null, null
    from buried join switchyard.message m on m.id = buried.message_id
    order by 1, 16, 2;
end
$$;

alter function switchyard.claim_deliveries_for_clients reset enable_seqscan;
