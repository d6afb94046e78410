-- Reverses 0009_stage_lag_open_transactions_by_probe: the definition of 0005.
create or replace function switchyard.stage_lag(row_cap integer default 0)
returns table (stage text, oldest_pending_at timestamptz, lag_seconds double precision, rows_behind bigint, rows_capped boolean)
language sql stable as $$
  with per_lane as (
    select c.stage,
           least(
             (select m.created_at from switchyard.message m
              where m.lane = c.lane and m.xid >= pg_snapshot_xmax(c.prev)
              order by m.xid, m.id limit 1),
             (select min(m.created_at) from switchyard.message m
              where m.lane = c.lane and m.xid = any (array(select pg_snapshot_xip(c.prev))))
           ) as oldest,
           case when row_cap > 0 then
             (select count(*) from (select 1 from switchyard.message m
                                    where m.lane = c.lane and m.xid >= pg_snapshot_xmax(c.prev) limit row_cap) behind)
             + (select count(*) from switchyard.message m
                where m.lane = c.lane and m.xid = any (array(select pg_snapshot_xip(c.prev))))
           else 0 end as behind
    from switchyard.stage_cursor c
  )
  select stage, min(oldest), coalesce(extract(epoch from now() - min(oldest)), 0)::double precision,
         sum(behind)::bigint, row_cap > 0 and bool_or(behind >= row_cap)
  from per_lane
  group by stage
  order by stage
$$;
