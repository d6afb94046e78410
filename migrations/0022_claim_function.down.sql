drop function switchyard.claim_deliveries(bigint, int, int, int, text, int, int, boolean, timestamptz);
