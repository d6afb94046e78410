drop function switchyard.claim_deliveries_for_clients(bigint[], int[], int[], int[], text[], int[], int[], boolean[], timestamptz);
