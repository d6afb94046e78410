drop function switchyard.route_batch(int, int, float8, bigint[], int, int);
drop function switchyard.insert_deliveries(uuid[], text[], smallint[], timestamptz[], timestamptz[], text[], timestamptz[],
  float8, bigint[], int, int, bigint[], text[], text[], bigint[], bigint[], text[]);
drop function switchyard.read_lane_batches(text, smallint[], int);
drop function switchyard.claim_lanes(text, int);
drop function switchyard.bury_deliveries(switchyard.burial[], text);
drop type switchyard.burial;
