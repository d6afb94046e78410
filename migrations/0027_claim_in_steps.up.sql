-- One receive in steps, each an index lookup whatever the planner guesses. claim_deliveries (0022)
-- was one statement of twelve CTEs, kept as a generic plan (0025): planned once per connection, at
-- its first call, and kept until an analyze of its tables (autovacuum's, or a manual one) makes the
-- connection plan again. Two costs came with that:
--
-- - A plan made while the tables are small (a new database; a quiet moment with the queues empty)
--   reads whole tables. With an empty delivery table the planner chose sequential scans of it for
--   the prefetch count and for every delete and update (the claim's own index scan aside), and with
--   a log of 2,000 rows a hash join over a scan of every log partition to fetch the messages. Both
--   then grow with the tables until the next analyze: `npm run bench:receive` (plans made on a 20,000-row log and an empty
--   delivery table) measured a one-row auto-ack claim at 0.54 ms, then 2.2, 4.6 and 9.9 ms as the
--   log grew to 322,000 rows and the delivery table's dead rows piled up between vacuums; a 100-row
--   leased receive at 16 ms, then 19, 25 and 28 ms. This function turns sequential scans off
--   (enable_seqscan): every table it touches is reached by a key (a client, a client and message id,
--   a message id), so an index is always the right path, and now the only one the planner takes. Its
--   message lookups are lateral, one id each, as in the many-client claim (0023).
-- - Most of the twelve CTEs serve rules a receive seldom meets (a delivery rate, expired rows, rows
--   received max_receives times), yet each was started and ended on every call. The claim now sorts
--   what it locked into arrays first, and only the steps with something to do run: in the common
--   case three statements (the policy, the claim, the hand-out with its message lookups). In the
--   same runs: 0.42-0.53 ms and 3.0-3.5 ms per receive, at every size.
--
-- The rules are unchanged, and so is the order of the rows it returns (dead-lettered, delivered in
-- place order, expired). Under READ COMMITTED each statement of this VOLATILE function takes a new
-- snapshot, but every step after the claim addresses only rows the claim locked (FOR UPDATE SKIP
-- LOCKED, held to the end of the transaction), so no other transaction can change them in between;
-- and each statement sees the earlier ones' writes, so a second call for the same client in one
-- statement (claimDeliveriesMany) still sees what the first leased or deleted.
-- test/delivery/claim-for-clients.test.ts holds this function to the many-client claim's answers
-- and leftovers over generated queues with every rule in play.
create or replace function switchyard.claim_deliveries(
  p_client_id bigint, p_max int, p_visibility_seconds int, p_max_receives int,
  p_owner text, p_seq_before int, p_prefetch int, p_auto_ack boolean, p_now timestamptz)
returns table (outcome text, id uuid, receive_count int, lease_seq int, sender text, to_address text, type text,
               payload jsonb, headers jsonb, priority smallint, created_ms float8, group_id text, correlation_id text,
               reply_to text, via text, place int)
language plpgsql volatile set search_path = pg_catalog set plan_cache_mode = force_generic_plan set enable_seqscan = off as $$
#variable_conflict use_column
declare
  now_ timestamptz := coalesce(p_now, now());
  max_receives_ int;
  rate_ float8;
  burst_ float8;
  tokens_ float8;
  has_bucket boolean := false;
  ids uuid[];           -- to hand out, in claim order: a row's position is its place (the event number)
  expired_ids uuid[];
  exhausted_ids uuid[];
begin
  select p.max_receives, p.delivery_rate, coalesce(p.delivery_burst, greatest(1, ceil(p.delivery_rate)))::float8
    into max_receives_, rate_, burst_
    from switchyard.queue_policy p where p.client_id = p_client_id;
  max_receives_ := coalesce(max_receives_, p_max_receives);
  if rate_ is not null then
    -- only clients with a delivery rate have a bucket; it refills continuously up to its burst
    select least(burst_, b.tokens + rate_ * extract(epoch from now_ - b.updated_at)) into tokens_
      from switchyard.delivery_bucket b where b.client_id = p_client_id for update;
    has_bucket := found;
  end if;

  -- The claim: lock the candidates and sort them into what to hand out, what expired and what has
  -- been received max_receives times already.
  select coalesce(array_agg(c.message_id order by c.sort_key, c.message_id)
                    filter (where not c.expired and c.receive_count < max_receives_), '{}'),
         coalesce(array_agg(c.message_id order by c.message_id) filter (where c.expired), '{}'),
         coalesce(array_agg(c.message_id order by c.message_id)
                    filter (where not c.expired and c.receive_count >= max_receives_), '{}')
    into ids, expired_ids, exhausted_ids
    from (
      select d.message_id, d.sort_key, d.receive_count, coalesce(d.expires_at <= now_, false) as expired
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
        coalesce(floor(tokens_)::int, p_max)))
      for update of d skip locked) c;

  if cardinality(expired_ids) > 0 then
    delete from switchyard.delivery d where d.client_id = p_client_id and d.message_id = any(expired_ids);
  end if;

  if cardinality(exhausted_ids) > 0 then
    return query
      with exhausted as (
        delete from switchyard.delivery d
        where d.client_id = p_client_id and d.message_id = any(exhausted_ids)
        returning d.*
      ),
      buried as (
        select b.message_id from switchyard.bury_deliveries(array(
          select row(x.client_id, x.message_id, x.receive_count, x.first_received_at, x.last_received_at, x.last_error,
                     x.enqueued_at, x.priority, x.group_id)::switchyard.burial
          from exhausted x), 'max_receives') b
      )
      select 'dead_lettered'::text, m.id, 0, null::int, m.sender, m.to_address, null::text, null::jsonb, null::jsonb, m.priority,
             floor(extract(epoch from m.created_at) * 1000)::float8, null::text, null::text, null::text, null::text, null::int
      from buried cross join lateral (
        select m.id, m.sender, m.to_address, m.priority, m.created_at from switchyard.message m where m.id = buried.message_id) m
      order by m.id;
  end if;

  if cardinality(ids) > 0 and p_auto_ack then
    return query
      with acked as (
        delete from switchyard.delivery d
        where d.client_id = p_client_id and d.message_id = any(ids)
        returning d.message_id, d.receive_count + 1 as receive_count, p_seq_before + array_position(ids, d.message_id) as lease_seq,
                  array_position(ids, d.message_id) as place, d.client_id, coalesce(d.first_received_at, now_) as first_received_at, d.via
      ),
      receipts as (
        insert into switchyard.delivery_receipt (message_id, client_id, receive_count, first_received_at, acked_at)
        select a.message_id, a.client_id, a.receive_count, a.first_received_at, now_ from acked a
      )
      select 'delivered'::text, a.message_id, a.receive_count, a.lease_seq, m.sender, m.to_address, m.type, m.payload, m.headers,
             m.priority, m.created_ms, m.group_id, m.correlation_id, m.reply_to, a.via, a.place
      from acked a cross join lateral (
        select m.sender, m.to_address, m.type, m.payload, m.headers, m.priority,
               floor(extract(epoch from m.created_at) * 1000)::float8 as created_ms, m.group_id, m.correlation_id, m.reply_to
        from switchyard.message m where m.id = a.message_id) m
      order by a.place;
  elsif cardinality(ids) > 0 and not p_auto_ack then
    return query
      with leased as (
        update switchyard.delivery d
        set visible_at = now_ + make_interval(secs => p_visibility_seconds),
            receive_count = d.receive_count + 1,
            first_received_at = coalesce(d.first_received_at, now_),
            last_received_at = now_,
            lease_owner = p_owner,
            lease_seq = case when p_owner is null then null else p_seq_before + array_position(ids, d.message_id) end
        where d.client_id = p_client_id and d.message_id = any(ids)
        returning d.message_id, d.receive_count, d.lease_seq, array_position(ids, d.message_id) as place, d.via
      )
      select 'delivered'::text, l.message_id, l.receive_count, l.lease_seq, m.sender, m.to_address, m.type, m.payload, m.headers,
             m.priority, m.created_ms, m.group_id, m.correlation_id, m.reply_to, l.via, l.place
      from leased l cross join lateral (
        select m.sender, m.to_address, m.type, m.payload, m.headers, m.priority,
               floor(extract(epoch from m.created_at) * 1000)::float8 as created_ms, m.group_id, m.correlation_id, m.reply_to
        from switchyard.message m where m.id = l.message_id) m
      order by l.place;
  end if;

  if has_bucket then
    update switchyard.delivery_bucket b set tokens = tokens_ - cardinality(ids), updated_at = now_
    where b.client_id = p_client_id;
  end if;

  if cardinality(expired_ids) > 0 then
    return query
      select 'expired'::text, m.id, 0, null::int, m.sender, m.to_address, null::text, null::jsonb, null::jsonb, m.priority,
             floor(extract(epoch from m.created_at) * 1000)::float8, null::text, null::text, null::text, null::text, null::int
      from unnest(expired_ids) x(message_id) cross join lateral (
        select m.id, m.sender, m.to_address, m.priority, m.created_at from switchyard.message m where m.id = x.message_id) m
      order by m.id;
  end if;
end
$$;

-- The many-client claim (0023) had the same exposure, a plan made on small tables reading whole
-- ones: with an empty delivery table at its first call, 26 sequential scans per call once the queue
-- had grown (test/delivery/claim-plans.test.ts). Its every table is reached by a key too.
alter function switchyard.claim_deliveries_for_clients set enable_seqscan = off;
