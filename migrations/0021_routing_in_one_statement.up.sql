-- The routing batch in one round trip. The lane claim, the snapshot-bounded read and the fan-out
-- were three statements sent one by one inside BEGIN ... COMMIT: five round trips per batch on the
-- live path. They move into functions, so the service can send the whole batch as one
-- autocommitted call (switchyard.route_batch), and the statements keep one text each: the stage
-- runner's general path (every stage, and routing with content routes) calls the same functions.
--
-- Why the cursor's snapshot rules (docs/architecture.md, "The cursor's rules") still hold: they are
-- rules about statements, not round trips. These functions are VOLATILE PL/pgSQL, and under READ
-- COMMITTED every statement in such a function takes a new snapshot, exactly as a statement sent by
-- the client would. So the claim is still one statement and the read the next (rule 1), and
-- pg_current_snapshot() in the read is the snapshot of the statement that scans the log (rule 2).
-- route_batch refuses any other isolation level.

-- Burying deliveries: the one insert into switchyard.dead_letter. Receives and nacks (max_receives),
-- the overflow policies (queue length, and routing's copies for a full queue) all call it, from SQL
-- functions and from statements the service sends (db/dead-letter.repository.ts writes the call).
-- A row already buried stays as it is; the rows buried come back.
create type switchyard.burial as (
  client_id bigint, message_id uuid, receive_count int, first_received_at timestamptz, last_received_at timestamptz,
  last_error text, enqueued_at timestamptz, priority smallint, group_id text);

create function switchyard.bury_deliveries(p_rows switchyard.burial[], p_reason text)
returns table (client_id bigint, message_id uuid)
language sql volatile set search_path = pg_catalog as $$
  insert into switchyard.dead_letter as dl (client_id, message_id, reason, receive_count, first_received_at,
                                            last_received_at, last_error, enqueued_at, priority, group_id)
  select r.client_id, r.message_id, p_reason, r.receive_count, r.first_received_at, r.last_received_at, r.last_error,
         r.enqueued_at, r.priority, r.group_id
  from unnest(p_rows) r
  on conflict (client_id, message_id) do nothing
  returning dl.client_id, dl.message_id
$$;

-- Locks up to max_lanes cursors of the stage that have something to do: an open window, or a
-- committed row the cursor has not passed. Lanes served longest ago come first.
create function switchyard.claim_lanes(p_stage text, p_max_lanes int) returns smallint[]
language plpgsql volatile set search_path = pg_catalog as $$
declare
  lanes smallint[];
begin
  select coalesce(array_agg(claimed.lane), '{}') into lanes from (
    select c.lane
    from switchyard.stage_cursor c
    where c.stage = p_stage
      and (c.target is not null
           or exists (select 1 from switchyard.message m
                      where m.lane = c.lane and m.xid >= pg_snapshot_xmax(c.prev))
           or exists (select 1 from switchyard.message m
                      where m.lane = c.lane and m.xid = any (array(select pg_snapshot_xip(c.prev)))))
    order by c.updated_at
    limit p_max_lanes
    for update of c skip locked) claimed;
  return lanes;
end
$$;

-- Reads the next batch (up to p_limit rows, in (xid, id) order) of each claimed lane and advances
-- the lanes' cursors past it, in one statement. The caller holds the cursor locks (claim_lanes, in
-- an earlier statement of the same transaction) and commits its work in that transaction.
create function switchyard.read_lane_batches(p_stage text, p_lanes smallint[], p_limit int)
returns table (id uuid, xid text, lane smallint, created_at timestamptz, sender_id bigint, sender text,
               to_address text, conversation text, type text, priority smallint, deliver_at timestamptz,
               expires_at timestamptz, group_id text, dedup_id text, correlation_id text, reply_to text)
language plpgsql volatile set search_path = pg_catalog as $$
#variable_conflict use_column
begin
  return query
    with cursor as materialized (
      select c.lane, c.prev, c.pos_xid, c.pos_id,
             -- a new window's target is this statement's own snapshot (rule 2)
             coalesce(c.target, pg_current_snapshot()) as snap,
             -- where the xmax(prev).. branch starts: the position, once it has passed xmax(prev)
             case when c.pos_xid >= pg_snapshot_xmax(c.prev) then c.pos_xid else pg_snapshot_xmax(c.prev) end as lo_xid,
             case when c.pos_xid >= pg_snapshot_xmax(c.prev) then c.pos_id
                  else '00000000-0000-0000-0000-000000000000'::uuid end as lo_id
      from switchyard.stage_cursor c
      where c.stage = p_stage and c.lane = any (p_lanes)
    ),
    batch as (
      select b.*
      from cursor c
      cross join lateral (
        select * from (
          (select m.id, m.xid, m.lane, m.created_at, m.sender_id, m.sender, m.to_address, m.conversation, m.type,
                  m.priority, m.deliver_at, m.expires_at, m.group_id, m.dedup_id, m.correlation_id, m.reply_to
           from switchyard.message m
           where m.lane = c.lane
             and m.xid = any (array(select pg_snapshot_xip(c.prev)))
             and (c.pos_xid is null or (m.xid, m.id) > (c.pos_xid, c.pos_id))
             and pg_visible_in_snapshot(m.xid, c.snap)
           order by m.xid, m.id
           limit p_limit)
          union all
          (select m.id, m.xid, m.lane, m.created_at, m.sender_id, m.sender, m.to_address, m.conversation, m.type,
                  m.priority, m.deliver_at, m.expires_at, m.group_id, m.dedup_id, m.correlation_id, m.reply_to
           from switchyard.message m
           where m.lane = c.lane
             and (m.xid, m.id) > (c.lo_xid, c.lo_id)
             and m.xid < pg_snapshot_xmax(c.snap)
             and pg_visible_in_snapshot(m.xid, c.snap)
           order by m.xid, m.id
           limit p_limit)
        ) both_branches
        order by both_branches.xid, both_branches.id
        limit p_limit
      ) b
    ),
    last as (
      select distinct on (batch.lane) batch.lane, batch.xid, batch.id, count(*) over (partition by batch.lane) as n
      from batch
      order by batch.lane, batch.xid desc, batch.id desc
    ),
    advance as (
      -- a short batch closes the window (prev := target); a full one keeps it open at its last row
      update switchyard.stage_cursor s
      set prev = case when coalesce(l.n, 0) < p_limit then c.snap else s.prev end,
          target = case when coalesce(l.n, 0) < p_limit then null else c.snap end,
          pos_xid = case when coalesce(l.n, 0) < p_limit then null else l.xid end,
          pos_id = case when coalesce(l.n, 0) < p_limit then null else l.id end,
          updated_at = now()
      from cursor c
      left join last l on l.lane = c.lane
      where s.stage = p_stage and s.lane = c.lane
    )
    select batch.id, batch.xid::text, batch.lane, batch.created_at, batch.sender_id, batch.sender, batch.to_address,
           batch.conversation, batch.type, batch.priority, batch.deliver_at, batch.expires_at, batch.group_id,
           batch.dedup_id, batch.correlation_id, batch.reply_to
    from batch order by batch.lane, batch.xid, batch.id;
end
$$;

-- Fans a batch out into client delivery queues in one statement: one row per (recipient, message).
-- routing.repository.ts (insertDeliveries) documents the rules; this is their one text. Without
-- content routes (all p_add_* and p_pick_* null) the recipients are the plain join, the fast path;
-- with them, every candidate recipient of a message is collected and one row per (client, message)
-- kept, the message's own subscribers first, then the rule first by name. The two shapes differ only
-- in how recipients are found, so the statement is put together here, once, and run with EXECUTE.
create function switchyard.insert_deliveries(
  p_ids uuid[], p_to_addresses text[], p_priorities smallint[], p_deliver_ats timestamptz[], p_created_ats timestamptz[],
  p_group_ids text[], p_expires_ats timestamptz[], p_aging_ms float8, p_full_clients bigint[], p_horizon_seconds int,
  p_max_named int,
  p_add_entries bigint[] default null, p_add_addresses text[] default null, p_add_vias text[] default null,
  p_pick_clients bigint[] default null, p_pick_entries bigint[] default null, p_pick_vias text[] default null)
returns table (kind text, client_id bigint, n int)
language plpgsql volatile set search_path = pg_catalog as $$
declare
  content boolean := p_add_entries is not null or p_pick_clients is not null;
  -- rules add addresses: a (client, message) pair may come twice, so keep the first
  keep_first boolean := coalesce(cardinality(p_add_entries), 0) > 0;
  copy constant text := $copy$
             greatest(m.deliver_at, m.created_at) - make_interval(secs => m.priority * $8 / 1000) as sort_key,
             greatest(m.deliver_at, now()) as visible_at, m.priority, m.group_id, m.expires_at,
             %1$s = any($9) and m.to_address not like 'user:%%' as overflow,
             m.deliver_at > now() + make_interval(secs => $10) as pending$copy$;
  recipients text;
begin
  if not content then
    recipients := format($plain$
      select s.client_id, m.id as message_id, null::text as via, %s
      from m
      join switchyard.subscription s on s.address = m.to_address and s.filter is null$plain$, format(copy, 's.client_id'));
  else
    recipients := format($content$
      select %s p.client_id, m.id as message_id, p.via, %s
      from (
        select s.client_id, m.entry, null::text as via
        from m join switchyard.subscription s on s.address = m.to_address and s.filter is null
        union all
        select s.client_id, r.entry, r.via
        from unnest($12, $13, $14) as r(entry, address, via)
        join switchyard.subscription s on s.address = r.address and s.filter is null
        union all
        select x.client_id, x.entry, x.via
        from unnest($15, $16, $17) as x(client_id, entry, via)
      ) p
      join m on m.entry = p.entry
      %s$content$,
      case when keep_first then 'distinct on (p.client_id, m.id)' else '' end,
      format(copy, 'p.client_id'),
      case when keep_first then 'order by p.client_id, m.id, p.via nulls first' else '' end);
  end if;
  return query execute format($statement$
    with m as (
      select *
      from unnest($1, $2, $3, $4, $5, $6, $7)
           with ordinality as m(id, to_address, priority, deliver_at, created_at, group_id, expires_at, entry)
    ),
    r as (%s),
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
      select b.client_id from switchyard.bury_deliveries(array(
        select row(r.client_id, r.message_id, 0, null, null, 'the queue was full (overflow policy reject): this copy was not enqueued',
                   now(), r.priority, r.group_id)::switchyard.burial
        from r where r.overflow), 'overflow') b
    )
    (select 'delivered'::text, d.client_id, 1 from (select distinct client_id from inserted limit $11 + 1) d)
    union all
    (select 'overflow'::text, o.client_id, count(*)::int from overflowed o group by o.client_id)$statement$, recipients)
  using p_ids, p_to_addresses, p_priorities, p_deliver_ats, p_created_ats, p_group_ids, p_expires_ats,
        p_aging_ms, p_full_clients, p_horizon_seconds, p_max_named,
        p_add_entries, p_add_addresses, p_add_vias, p_pick_clients, p_pick_entries, p_pick_vias;
end
$$;

-- One routing batch, whole: claim lanes, read and advance their cursors, fan out. Called on its own
-- (autocommit), it is the routing batch in one round trip. It does nothing and answers a 'content'
-- row when any routing rule or filtered subscription exists: those need the routing stage's policy
-- evaluator, which runs in the service (routing.stage.ts), so the stage then takes its general path.
-- Rows: 'lanes' and 'entries' (n), 'full_lane' (n = 1 when a lane filled the batch: more to read),
-- then insert_deliveries's 'delivered' and 'overflow' rows.
create function switchyard.route_batch(
  p_max_lanes int, p_limit int, p_aging_ms float8, p_full_clients bigint[], p_horizon_seconds int, p_max_named int)
returns table (kind text, client_id bigint, n int)
language plpgsql volatile set search_path = pg_catalog as $$
#variable_conflict use_column
declare
  lanes smallint[];
  ids uuid[]; to_addresses text[]; priorities smallint[]; deliver_ats timestamptz[]; created_ats timestamptz[];
  group_ids text[]; expires_ats timestamptz[]; entries int; full_lane boolean;
begin
  if current_setting('transaction_isolation') <> 'read committed' then
    raise exception 'route_batch needs READ COMMITTED: the cursor rules rely on a snapshot per statement'
      using errcode = '25001';
  end if;
  if exists (select 1 from switchyard.routing_rule) or exists (select 1 from switchyard.subscription s where s.filter is not null) then
    return query select 'content'::text, null::bigint, 0;
    return;
  end if;
  lanes := switchyard.claim_lanes('routing', p_max_lanes);
  return query select 'lanes'::text, null::bigint, cardinality(lanes);
  if cardinality(lanes) = 0 then
    return;
  end if;
  select array_agg(b.id), array_agg(b.to_address), array_agg(b.priority), array_agg(b.deliver_at), array_agg(b.created_at),
         array_agg(b.group_id), array_agg(b.expires_at), count(*), coalesce(max(b.per_lane) >= p_limit, false)
    into ids, to_addresses, priorities, deliver_ats, created_ats, group_ids, expires_ats, entries, full_lane
  from (select r.*, count(*) over (partition by r.lane) as per_lane
        from switchyard.read_lane_batches('routing', lanes, p_limit) r) b;
  return query select 'entries'::text, null::bigint, entries;
  return query select 'full_lane'::text, null::bigint, case when full_lane then 1 else 0 end;
  if entries > 0 then
    return query select * from switchyard.insert_deliveries(ids, to_addresses, priorities, deliver_ats, created_ats,
      group_ids, expires_ats, p_aging_ms, p_full_clients, p_horizon_seconds, p_max_named);
  end if;
end
$$;
