// The router's ingest: concurrent publishes share one INSERT into the log (queue/group-commit.ts),
// and the stages, and requests waiting for a reply, hear of it after the commit.
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import { isDataError } from '../db/errors.ts';
import type { Reads } from '../db/read-replica.ts';
import { GroupCommit } from '../queue/group-commit.ts';
import { insertMessages, newMessageBytes, type NewMessage } from './messages.repository.ts';

export interface IngestFlushOptions {
  db: Db;
  dedupWindowSeconds: number;
  /** Each sender's next reads wait for the replica to replay its write (a no-op without one). */
  reads: Pick<Reads, 'noteWrite'>;
  /** Told after each flush commits: how long it took and how many rows were new. */
  onFlushed: (seconds: number, written: number) => void;
  /** Wakes the stages ('log', keys: the lanes written) and requests waiting for these correlation ids ('reply'). */
  signal: (channel: 'log' | 'reply', keys?: string[]) => void;
}

export type IngestCommit = GroupCommit<NewMessage, string>;

export function createIngestCommit(limits: Config['ingest'], o: IngestFlushOptions): IngestCommit {
  return new GroupCommit<NewMessage, string>({
    maxBatch: limits.maxBatch,
    maxConcurrent: limits.concurrentFlushes,
    // A value PostgreSQL refuses fails only its own publish (the flush is split), and what
    // waits is bounded: above a limit publishes are refused at once (admission control).
    isolate: isDataError,
    maxQueuedItems: limits.maxQueuedMessages,
    maxQueuedBytes: limits.maxQueuedBytes,
    maxWaitMs: limits.maxWaitMs,
    sizeOf: newMessageBytes,
    flush: (rows) => flushMessages(rows, o),
  });
}

/** Writes one flush; the ids are in the rows' order, an earlier message's id where a row repeated a dedup_id. */
export async function flushMessages(rows: NewMessage[], o: IngestFlushOptions): Promise<string[]> {
  const started = performance.now();
  const { ids, lanes } = await insertMessages(o.db, rows, o.dedupWindowSeconds);
  for (const row of rows) o.reads.noteWrite(row.sender);
  o.onFlushed((performance.now() - started) / 1000, countWritten(rows, ids));
  o.signal('log', lanes.map(String)); // the stages claim only these lanes next (queue/lane-hints.ts)
  const correlationIds = rows.flatMap((row) => (row.correlation_id === null ? [] : [row.correlation_id]));
  if (correlationIds.length > 0) o.signal('reply', correlationIds);
  return ids;
}

/** Rows that were written: a row whose id came back as another's repeated a dedup_id. */
export function countWritten(rows: NewMessage[], ids: string[]): number {
  let written = 0;
  for (let i = 0; i < rows.length; i++) if (ids[i] === rows[i]!.id) written += 1;
  return written;
}
