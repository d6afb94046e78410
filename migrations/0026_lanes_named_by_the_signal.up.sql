-- Lanes named by the signal. A lane claim checked every lane of the stage for work: two probes
-- per lane (a row past the cursor's xmax, a row among its in-progress xids), each in every
-- partition of the log, since the log is partitioned by id and not by lane. With 16 lanes and the
-- 9 daily partitions a new database has, that was about 130 us of PostgreSQL per batch, the same
-- whether one lane had work or all of them, and more with every partition kept.
--
-- The router's flushes now say which lanes they wrote (the 'log' signal's keys), and a stage woken
-- by them passes those lanes (p_lanes): the claim checks only them, plus the open windows it
-- always takes. A null p_lanes checks every lane, as before; the stage passes null whenever its
-- hints may be incomplete (queue/lane-hints.ts says when). Which lanes are claimed changes, never
-- how: the cursor rules (0021) do not depend on it.
--
-- Both functions keep generic plans (0025) and take the new argument last, with a default, so a
-- call without it means every lane.
drop function switchyard.route_batch(int, int, float8, bigint[], int, int);
drop function switchyard.claim_lanes(text, int);

create function switchyard.claim_lanes(p_stage text, p_max_lanes int, p_lanes smallint[] default null) returns smallint[]
language plpgsql volatile set search_path = pg_catalog set plan_cache_mode = force_generic_plan as $$
declare
  lanes smallint[];
begin
  select coalesce(array_agg(claimed.lane), '{}') into lanes from (
    select c.lane
    from switchyard.stage_cursor c
    where c.stage = p_stage
      and (c.target is not null
           or ((p_lanes is null or c.lane = any (p_lanes))
               and (exists (select 1 from switchyard.message m
                            where m.lane = c.lane and m.xid >= pg_snapshot_xmax(c.prev))
                    or exists (select 1 from switchyard.message m
                               where m.lane = c.lane and m.xid = any (array(select pg_snapshot_xip(c.prev)))))))
    order by c.updated_at
    limit p_max_lanes
    for update of c skip locked) claimed;
  return lanes;
end
$$;

create function switchyard.route_batch(
  p_max_lanes int, p_limit int, p_aging_ms float8, p_full_clients bigint[], p_horizon_seconds int, p_max_named int,
  p_lanes smallint[] default null)
returns table (kind text, client_id bigint, n int)
language plpgsql volatile set search_path = pg_catalog set plan_cache_mode = force_generic_plan as $$
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
  lanes := switchyard.claim_lanes('routing', p_max_lanes, p_lanes);
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
