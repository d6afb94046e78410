import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

export interface StageLagRow {
  stage: string;
  oldest_pending_at: Date | null;
  lag_seconds: number;
  rows_behind: string;
  rows_capped: boolean;
}

/** How far behind each stage is (switchyard.stage_lag); rows are counted up to rowCap per lane, 0: not counted. */
export async function listStageLag(db: Db, rowCap = 0): Promise<StageLagRow[]> {
  const result = await sql<StageLagRow>`select * from switchyard.stage_lag(${rowCap}::int)`.execute(db);
  return result.rows;
}
