-- Receives of many clients in one set-based statement. A broadcast wakes every open stream of a
-- topic at once; calling switchyard.claim_deliveries once per stream (0022) costs about 120 us of
-- PostgreSQL per client, so 10,000 streams kept the database busy for over a second. This function
-- applies the same rules to every request together: each CTE below is one pass over all requests
-- instead of one per request. The rules, and the reasons for each statement's shape, are those of
-- claim_deliveries; only what differs is explained here. claim_deliveries keeps its own body, held
-- equal to this one by test/delivery/claim-for-clients.test.ts: as one request of this function, a
-- single receive of 100 rows ran about a fifth slower.
--
-- Each client may appear once per call (two requests of one client in one statement would both lock
-- the same rows: a statement does not skip its own locks). The caller sends a client's second
-- request in another statement, which skips the rows this one locked, as competing consumers do.
--
-- Every write after the claim addresses its rows by ctid = any(array(...)): a TID scan of exactly
-- the locked rows, whatever the planner guesses of the CTEs' sizes (a join on the primary key of
-- 10,000 guessed rows may become a hash join over the whole delivery table). The ctids are stable:
-- the rows are locked by this statement, and the deletes and the update touch disjoint sets.
-- Messages are read by a lateral lookup on their id for the same reason.
create function switchyard.claim_deliveries_for_clients(
  p_client_ids bigint[], p_max int[], p_visibility_seconds int[], p_max_receives int[],
  p_owners text[], p_seq_before int[], p_prefetch int[], p_auto_ack boolean[], p_now timestamptz)
returns table (k int, outcome text, id uuid, receive_count int, lease_seq int, sender text, to_address text, type text,
               payload jsonb, headers jsonb, priority smallint, created_ms float8, group_id text, correlation_id text,
               reply_to text, via text, place int)
language plpgsql volatile set search_path = pg_catalog as $$
#variable_conflict use_column
declare
  now_ timestamptz := coalesce(p_now, now());
begin
  if cardinality(p_client_ids) <> (select count(distinct c) from unnest(p_client_ids) c) then
    raise exception 'claim_deliveries_for_clients: each client may appear once per call' using errcode = '22023';
  end if;
  return query
    with req as (
      select r.k::int as k, r.client_id, r.max, r.visibility_seconds, r.max_receives, r.owner, r.seq_before,
             r.prefetch, r.auto_ack
      from unnest(p_client_ids, p_max, p_visibility_seconds, p_max_receives, p_owners, p_seq_before, p_prefetch, p_auto_ack)
           with ordinality as r(client_id, max, visibility_seconds, max_receives, owner, seq_before, prefetch, auto_ack, k)
    ),
    policy as (
      select q.k, coalesce(p.max_receives, q.max_receives) as max_receives, p.delivery_rate as rate,
             coalesce(p.delivery_burst, greatest(1, ceil(p.delivery_rate)))::float8 as burst
      from req q left join switchyard.queue_policy p on p.client_id = q.client_id
    ),
    bucket as (
      select b.client_id, least(pol.burst, b.tokens + pol.rate * extract(epoch from now_ - b.updated_at)) as tokens
      from switchyard.delivery_bucket b
      join req q on q.client_id = b.client_id
      join policy pol on pol.k = q.k
      where pol.rate is not null
      for update of b
    ),
    quota as (
      select q.k, q.client_id,
             greatest(0, least(q.max,
               case when q.owner is null then q.max
                    else q.prefetch - (select count(*)::int from switchyard.delivery f
                                       where f.client_id = q.client_id and f.lease_owner = q.owner and f.visible_at > now_) end,
               coalesce(floor(bk.tokens)::int, q.max))) as n
      from req q left join bucket bk on bk.client_id = q.client_id
    ),
    candidates as (
      select q.k, c.*
      from quota q cross join lateral (
        select d.ctid as tid, d.client_id, d.message_id, d.sort_key, d.receive_count, d.expires_at
        from switchyard.delivery d
        where d.client_id = q.client_id and d.visible_at <= now_
          and (d.group_id is null or not exists (
                select 1 from switchyard.delivery e
                where e.client_id = d.client_id and e.group_id = d.group_id and e.message_id < d.message_id))
        order by d.sort_key
        limit q.n
        for update of d skip locked) c
    ),
    expired as (
      delete from switchyard.delivery d
      where d.ctid = any(array(select c.tid from candidates c where c.expires_at <= now_))
      returning d.client_id, d.message_id
    ),
    exhausted as (
      delete from switchyard.delivery d
      where d.ctid = any(array(
              select c.tid from candidates c join policy pol on pol.k = c.k
              where (c.expires_at is null or c.expires_at > now_) and c.receive_count >= pol.max_receives))
      returning d.*
    ),
    buried as (
      select b.client_id, b.message_id from switchyard.bury_deliveries(array(
        select row(x.client_id, x.message_id, x.receive_count, x.first_received_at, x.last_received_at, x.last_error,
                   x.enqueued_at, x.priority, x.group_id)::switchyard.burial
        from exhausted x), 'max_receives') b
    ),
    deliverable as (
      -- the rows to hand out, each with its place in its request's claim order (the event number)
      select c.k, c.tid, c.message_id, row_number() over (partition by c.k order by c.sort_key, c.message_id)::int as place,
             q.owner, q.seq_before, q.visibility_seconds, q.auto_ack
      from candidates c join policy pol on pol.k = c.k join req q on q.k = c.k
      where (c.expires_at is null or c.expires_at > now_) and c.receive_count < pol.max_receives
    ),
    leased as (
      update switchyard.delivery d
      set visible_at = now_ + make_interval(secs => n.visibility_seconds),
          receive_count = d.receive_count + 1,
          first_received_at = coalesce(d.first_received_at, now_),
          last_received_at = now_,
          lease_owner = n.owner,
          lease_seq = case when n.owner is null then null else n.seq_before + n.place end
      from deliverable n
      where d.ctid = any(array(select l.tid from deliverable l where not l.auto_ack)) and d.ctid = n.tid
      returning n.k, d.message_id, d.receive_count, d.lease_seq, n.place, d.via
    ),
    acked as (
      delete from switchyard.delivery d
      using deliverable n
      where d.ctid = any(array(select a.tid from deliverable a where a.auto_ack)) and d.ctid = n.tid
      returning n.k, d.message_id, d.receive_count + 1 as receive_count, n.seq_before + n.place as lease_seq, n.place,
                d.client_id, coalesce(d.first_received_at, now_) as first_received_at, d.via
    ),
    auto_receipts as (
      insert into switchyard.delivery_receipt (message_id, client_id, receive_count, first_received_at, acked_at)
      select a.message_id, a.client_id, a.receive_count, a.first_received_at, now_ from acked a
    ),
    done as (
      select l.k, l.message_id, l.receive_count, l.lease_seq, l.place, l.via from leased l
      union all
      select a.k, a.message_id, a.receive_count, a.lease_seq, a.place, a.via from acked a
    ),
    spend as (
      update switchyard.delivery_bucket b
      set tokens = bk.tokens - (select count(*) from done join req q on q.k = done.k where q.client_id = bk.client_id),
          updated_at = now_
      from bucket bk
      where b.client_id = bk.client_id
    ),
    gone as (
      select q.k, 'expired'::text as outcome, x.message_id from expired x join req q on q.client_id = x.client_id
      union all
      select q.k, 'dead_lettered', x.message_id from buried x join req q on q.client_id = x.client_id
    )
    select done.k, 'delivered'::text, done.message_id, done.receive_count, done.lease_seq, m.sender, m.to_address,
           m.type, m.payload, m.headers, m.priority, m.created_ms, m.group_id, m.correlation_id, m.reply_to, done.via,
           done.place
    from done cross join lateral (
      select m.sender, m.to_address, m.type, m.payload, m.headers, m.priority,
             floor(extract(epoch from m.created_at) * 1000)::float8 as created_ms, m.group_id, m.correlation_id, m.reply_to
      from switchyard.message m where m.id = done.message_id) m
    union all
    select gone.k, gone.outcome, gone.message_id, 0, null, m.sender, m.to_address, null, null, null, m.priority,
           m.created_ms, null, null, null, null, null
    from gone cross join lateral (
      select m.sender, m.to_address, m.priority, floor(extract(epoch from m.created_at) * 1000)::float8 as created_ms
      from switchyard.message m where m.id = gone.message_id) m
    order by 1, 2, 17, 3;
end
$$;
