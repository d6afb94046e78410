-- The persistence and analytics batches in one round trip, as routing's has been since 0021.
-- Driven from the service, each of their batches cost five round trips (BEGIN, claim_lanes,
-- read_lane_batches, the work, COMMIT; analytics six, its counts being two statements). At a
-- steady 275 msg/s that was about one round trip per message of the four or five the live path
-- makes, each waking a PostgreSQL backend on a machine whose two cores the live path shares.
--
-- Each stage's work moves into a function (keep_history, count_messages), which its general path
-- calls as well, so each keeps one text; stage_batch claims lanes, reads and advances them and does
-- the work, as one autocommitted statement. The argument of 0021 (docs/architecture.md, "The
-- routing batch in one round trip") holds unchanged, being about statements, not round trips: in
-- this VOLATILE PL/pgSQL function under READ COMMITTED the claim is one statement and the read the
-- next, each with its own snapshot (rule 1); the snapshot the read stores is that of its own scan
-- (rule 2); the claim, the read, the work and the cursors' advance commit together or not at all.
--
-- Analytics labels the messages of classified topics with a model that runs in the service. While
-- any topic is classified, stage_batch does nothing for analytics and says so ('general'), and the
-- stage takes its general path, as route_batch does for content routing.

create function switchyard.keep_history(p_ids uuid[]) returns void
language plpgsql volatile set search_path = pg_catalog set enable_seqscan = off as $$
begin
  insert into switchyard.history (message_id, conversation, created_at, sender, to_address, type, payload, headers,
                                  correlation_id, reply_to)
  select m.id, m.conversation, m.created_at, m.sender, m.to_address, m.type, m.payload, m.headers,
         m.correlation_id, m.reply_to
  from switchyard.message m
  where m.id = any (p_ids)
  on conflict (message_id) do nothing;
end
$$;

-- Adds the messages to the per-minute counts per address (direct messages counted together as
-- 'user:*'), the per-minute counts per sender (anomaly detection) and the per-hour ones (top
-- publishers). Rows are touched in key order, so two workers never deadlock on them.
create function switchyard.count_messages(p_ids uuid[]) returns void
language plpgsql volatile set search_path = pg_catalog set enable_seqscan = off as $$
begin
  insert into switchyard.analytics_minute (minute, address, published, payload_bytes)
  select date_trunc('minute', m.created_at),
         case when m.to_address like 'user:%' then 'user:*' else m.to_address end,
         count(*), sum(pg_column_size(m.payload))
  from switchyard.message m
  where m.id = any (p_ids)
  group by 1, 2
  order by 1, 2
  on conflict (minute, address) do update
    set published = analytics_minute.published + excluded.published,
        payload_bytes = analytics_minute.payload_bytes + excluded.payload_bytes;

  with counted as (
    select date_trunc('minute', m.created_at) as minute, m.sender, count(*) as published,
           sum(pg_column_size(m.payload)) as payload_bytes
    from switchyard.message m
    where m.id = any (p_ids)
    group by 1, 2
  ),
  minutes as (
    insert into switchyard.analytics_sender_minute (minute, sender, published, payload_bytes)
    select c.minute, c.sender, c.published, c.payload_bytes from counted c
    order by 1, 2
    on conflict (minute, sender) do update
      set published = analytics_sender_minute.published + excluded.published,
          payload_bytes = analytics_sender_minute.payload_bytes + excluded.payload_bytes
  )
  insert into switchyard.analytics_sender_hour (hour, sender, published, payload_bytes)
  select date_trunc('hour', c.minute, 'UTC'), c.sender, sum(c.published), sum(c.payload_bytes)
  from counted c
  group by 1, 2
  order by 1, 2
  on conflict (hour, sender) do update
    set published = analytics_sender_hour.published + excluded.published,
        payload_bytes = analytics_sender_hour.payload_bytes + excluded.payload_bytes;
end
$$;

-- One batch of the persistence or the analytics stage. Answers one row: 'general' (analytics while
-- a topic is classified: nothing was done) or 'done', with the lanes claimed, the messages handled
-- and whether a lane filled the batch (there is more to read at once).
create function switchyard.stage_batch(p_stage text, p_max_lanes int, p_limit int, p_lanes smallint[] default null)
returns table (outcome text, lanes int, entries int, full_lane boolean)
language plpgsql volatile set search_path = pg_catalog set plan_cache_mode = force_generic_plan set enable_seqscan = off as $$
declare
  claimed smallint[];
  ids uuid[];
  n int;
  filled boolean;
begin
  if current_setting('transaction_isolation') <> 'read committed' then
    raise exception 'stage_batch needs READ COMMITTED: the cursor rules rely on a snapshot per statement'
      using errcode = '25001';
  end if;
  if p_stage not in ('persistence', 'analytics') then
    raise exception 'stage_batch runs the persistence and analytics stages, not %', p_stage using errcode = '22023';
  end if;
  if p_stage = 'analytics' and exists (select 1 from switchyard.topic_classifier) then
    return query select 'general'::text, 0, 0, false;
    return;
  end if;
  claimed := switchyard.claim_lanes(p_stage, p_max_lanes, p_lanes);
  if cardinality(claimed) = 0 then
    return query select 'done'::text, 0, 0, false;
    return;
  end if;
  select coalesce(array_agg(b.id), '{}'), count(*), coalesce(max(b.per_lane) >= p_limit, false)
    into ids, n, filled
  from (select r.id, count(*) over (partition by r.lane) as per_lane
        from switchyard.read_lane_batches(p_stage, claimed, p_limit) r) b;
  if n > 0 and p_stage = 'persistence' then
    perform switchyard.keep_history(ids);
  elsif n > 0 then
    perform switchyard.count_messages(ids);
  end if;
  return query select 'done'::text, cardinality(claimed), n, filled;
end
$$;
