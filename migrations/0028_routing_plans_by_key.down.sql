alter function switchyard.route_batch reset enable_seqscan;
alter function switchyard.claim_lanes reset enable_seqscan;
alter function switchyard.read_lane_batches reset enable_seqscan;
alter function switchyard.insert_deliveries reset enable_seqscan;
