-- The functions on the live path keep one generic plan per statement instead of planning a custom
-- plan on each call. PostgreSQL plans a PL/pgSQL statement's first five calls with the parameters'
-- values, then keeps the generic plan only when it is estimated no dearer; for these statements it
-- is estimated dearer (the arrays' lengths are unknown to it), so every call was planned again. At
-- 3,000 msg/s (pg_stat_statements, same load) that was about 80 us of each append_messages call
-- (328 -> 246 us), 30 us of each claim_deliveries (368 -> 338) and of each route_batch (428 -> 397).
-- The plans do not depend on the values: every statement here finds its rows by key (a client, a
-- lane, a message id, a ctid), and the many-client claim already addresses its rows by ctid so that
-- no plan leans on a guess of how many there are (0023).
alter function switchyard.append_messages set plan_cache_mode = force_generic_plan;
alter function switchyard.route_batch set plan_cache_mode = force_generic_plan;
alter function switchyard.claim_lanes set plan_cache_mode = force_generic_plan;
alter function switchyard.read_lane_batches set plan_cache_mode = force_generic_plan;
alter function switchyard.insert_deliveries set plan_cache_mode = force_generic_plan;
alter function switchyard.claim_deliveries set plan_cache_mode = force_generic_plan;
alter function switchyard.claim_deliveries_for_clients set plan_cache_mode = force_generic_plan;
