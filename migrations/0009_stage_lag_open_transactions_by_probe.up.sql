-- stage_lag looks up the transactions a stage's window left open (the xip list of its snapshot)
-- one index probe each, instead of matching xid = any(array(...)) against the lane.
--
-- With the array form the planner cannot see how short the list is (almost always empty). On a
-- lane holding most of the log it chose to read the whole partition, twice per cursor: 1.6 s per
-- call with 300,000 messages behind (measured, 48 cursors). Backpressure, metrics and the
-- dashboard call it every few seconds, and the stages being behind is exactly when it is called.
-- Driven from the list, an empty list costs nothing and each open transaction one probe.

create or replace function switchyard.stage_lag(row_cap integer default 0)
returns table (stage text, oldest_pending_at timestamptz, lag_seconds double precision, rows_behind bigint, rows_capped boolean)
language sql stable as $$
  with per_lane as (
    select c.stage,
           least(
             (select m.created_at from switchyard.message m
              where m.lane = c.lane and m.xid >= pg_snapshot_xmax(c.prev)
              order by m.xid, m.id limit 1),
             (select min((select min(m.created_at) from switchyard.message m
                          where m.lane = c.lane and m.xid = open.xid))
              from pg_snapshot_xip(c.prev) as open(xid))
           ) as oldest,
           case when row_cap > 0 then
             (select count(*) from (select 1 from switchyard.message m
                                    where m.lane = c.lane and m.xid >= pg_snapshot_xmax(c.prev) limit row_cap) behind)
             + (select coalesce(sum((select count(*) from switchyard.message m
                                     where m.lane = c.lane and m.xid = open.xid)), 0)
                from pg_snapshot_xip(c.prev) as open(xid))
           else 0 end as behind
    from switchyard.stage_cursor c
  )
  select stage, min(oldest), coalesce(extract(epoch from now() - min(oldest)), 0)::double precision,
         sum(behind)::bigint, row_cap > 0 and bool_or(behind >= row_cap)
  from per_lane
  group by stage
  order by stage
$$;
