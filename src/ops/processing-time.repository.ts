// Consumer processing time (receive to ack), from the samples the acks record in the delivery
// receipts, through the switchyard.processing_time view (last 5 minutes, true percentiles).
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

export interface ProcessingTimeRow {
  client_id: string;
  client_name: string;
  acked: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  avg_ms: number;
  /** The average lease the acked deliveries had (visibility, extensions included). */
  visibility_ms: number;
  /** p99 is over half the lease: the consumer is close to redeliveries by lease expiry. */
  at_risk: boolean;
  /** About six times the average processing time. */
  recommended_visibility_seconds: number;
}

/** Clients that acked in the window, the closest to their lease first (p99 / visibility), at most `limit`. */
export async function listProcessingTimes(db: Db, limit: number): Promise<ProcessingTimeRow[]> {
  const result = await sql<ProcessingTimeRow>`
    select client_id::text, client_name, acked::float8 as acked, p50_ms, p95_ms, p99_ms, avg_ms, visibility_ms, at_risk,
           recommended_visibility_seconds
    from switchyard.processing_time
    order by p99_ms / greatest(visibility_ms, 1) desc, client_id
    limit ${limit}`.execute(db);
  return result.rows;
}
