alter function switchyard.append_messages reset plan_cache_mode;
alter function switchyard.route_batch reset plan_cache_mode;
alter function switchyard.claim_lanes reset plan_cache_mode;
alter function switchyard.read_lane_batches reset plan_cache_mode;
alter function switchyard.insert_deliveries reset plan_cache_mode;
alter function switchyard.claim_deliveries reset plan_cache_mode;
alter function switchyard.claim_deliveries_for_clients reset plan_cache_mode;
