-- The routing batch's functions reach every table by a key, whatever the statistics were when
-- their plans were made. They keep generic plans (0025), made at a connection's first call and kept
-- until an analyze of their tables replaces them. Made while the log and the subscriptions were
-- small, those plans read tables whole: on a scratch database where routing began with 10 messages
-- and 3 subscriptions, and the log then grew to 50,000 messages and the subscriptions to 20,000,
-- each route_batch call of 20 messages made 43 sequential scans of every log partition and 2 of the
-- subscriptions, and took 116 ms (median of 20); with sequential scans off, none, and 6.5 ms.
-- test/routing/routing-plans.test.ts counts them. As for the claims (0027): every statement here
-- finds its rows by a key (a stage and lane, a lane and xid, an address, a client and message id),
-- so an index is always the right path, and now the only one the planner takes. A setting of
-- route_batch holds for the functions it calls; each is set too, for the stage runner's general
-- path, which calls them one by one.
alter function switchyard.route_batch set enable_seqscan = off;
alter function switchyard.claim_lanes set enable_seqscan = off;
alter function switchyard.read_lane_batches set enable_seqscan = off;
alter function switchyard.insert_deliveries set enable_seqscan = off;
