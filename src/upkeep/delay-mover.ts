// The delay mover: brings pending deliveries (due beyond routing's horizon) into the claimed
// delivery table shortly before they are due. Run by pg-boss every minute as a singleton across
// replicas; each run moves batch after batch until nothing within the horizon is left.
import type { Db } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import { DELAY_HORIZON_SECONDS } from '../routing/routing.repository.ts';
import { movePendingDeliveries } from './delay-mover.repository.ts';

/** Rows per statement: a short transaction that never holds many locks at once. */
const MOVE_BATCH = 5_000;

/**
 * Moves everything due within the horizon, less a two-minute margin: the mover runs once a
 * minute, so a row is in the claimed table at least that long before it is due.
 */
export const MOVE_AHEAD_SECONDS = DELAY_HORIZON_SECONDS - 120;

export interface DelayMoverOptions {
  /** Injected clock for tests. */
  now?: Date;
}

export async function runDelayMover(db: Db, log: Logger, o: DelayMoverOptions = {}): Promise<number> {
  let total = 0;
  for (;;) {
    // Moved rows are not visible before they are due, so no receiver needs waking now: the
    // receivers' own polling finds them when they are.
    const moved = (await movePendingDeliveries(db, MOVE_AHEAD_SECONDS, MOVE_BATCH, o.now)).length;
    total += moved;
    if (moved < MOVE_BATCH) break;
  }
  if (total > 0) log.info('delay mover', { moved: total });
  return total;
}
