// switchyard dlq list|redrive|purge: every client's dead letters, like the admin API. Redrive and
// purge go through DeadLettersService in bounded batches (switchyard.redrive_dead_letters /
// purge_dead_letters), one round of batches per second or so, showing progress as they go.
import type { Db } from '../db/database.ts';
import type { DeadLetterFilter } from '../inbox/dead-letters.repository.ts';
import { DeadLettersService } from '../inbox/dead-letters.service.ts';
import { sendNotification } from '../notifications/notify.repository.ts';
import { ProgressBar, type ProgressOutput } from './progress-bar.ts';
import { formatTable, truncate } from './text-table.ts';
import { UsageError } from './usage-error.ts';

export const DLQ_USAGE = `usage: switchyard dlq list|redrive|purge [--client ID] [--error TEXT] [--since ISO] [--until ISO]
         list: [--limit N];  redrive, purge: [--batch-size N];  purge without a filter needs --all`;
const LIST_LIMIT_DEFAULT = 50;
const BATCH_SIZE_DEFAULT = 1_000;
/** Each call of the service works this long at most, then the progress is shown. */
const ROUND_SECONDS = 1;

export interface DlqArgs {
  sub: string | undefined;
  client: string | undefined;
  error: string | undefined;
  since: string | undefined;
  until: string | undefined;
  limit: string | undefined;
  batchSize: string | undefined;
  all: boolean;
}

export function dlqCommand(a: DlqArgs, out: NodeJS.WritableStream & ProgressOutput): (db: Db) => Promise<void> {
  const filter = parseFilter(a);
  const filtered = Object.values(filter).some((v) => v !== undefined);
  switch (a.sub) {
    case 'list': {
      const limit = wholeNumber('--limit', a.limit, LIST_LIMIT_DEFAULT, 1_000);
      return async (db) => {
        const page = await service(db).list(filter, undefined, limit);
        const rows = page.dead_letters.map((d) => [
          d.dead_at, `${d.client_name} (${d.client_id})`, d.id, d.reason, String(d.receive_count), truncate(d.last_error ?? '-', 60),
        ]);
        out.write(`${formatTable(['DEAD AT', 'CLIENT', 'MESSAGE', 'REASON', 'RECEIVES', 'LAST ERROR'], rows).join('\n')}\n`);
        if (page.next_before) out.write(`more dead letters follow: raise --limit (up to 1000) or narrow the filter\n`);
      };
    }
    case 'redrive':
    case 'purge': {
      const action = a.sub;
      if (action === 'purge' && !filtered && !a.all) throw new UsageError('dlq purge deletes every dead letter of every client: add --all to mean it, or a filter');
      const batchSize = wholeNumber('--batch-size', a.batchSize, BATCH_SIZE_DEFAULT, 10_000);
      return async (db) => {
        const dead = service(db);
        const total = await dead.count(filter);
        const progress = new ProgressBar(out, action);
        progress.update(0, total);
        let moved = 0;
        let batches = 0;
        let remaining = total;
        for (;;) {
          const run = { batchSize, maxBatches: Number.MAX_SAFE_INTEGER, maxSeconds: ROUND_SECONDS };
          const round = action === 'redrive' ? await dead.redrive(filter, run) : await dead.purge(filter, run);
          moved += round.moved;
          batches += round.batches;
          remaining = round.remaining;
          progress.update(moved, moved + remaining);
          if (round.done) break;
        }
        const verb = action === 'redrive' ? 'redriven' : 'purged';
        // A redrive leaves behind dead letters whose message has left the log (nothing to put back)
        // and those of revoked clients (nobody would read them).
        const left = remaining > 0 ? `; ${remaining} left${action === 'redrive' ? ' (their messages have left the log, or their clients are revoked)' : ''}` : '';
        progress.finish(`${moved} dead letters ${verb} in ${batches} batches${left}`);
        // Waiting receivers of running services look at their queues now (no keys: everyone).
        if (action === 'redrive' && moved > 0) await sendNotification(db, 'delivery', filter.clientId ? [filter.clientId] : [], 'cli');
      };
    }
    default:
      throw new UsageError(DLQ_USAGE);
  }
}

function parseFilter(a: DlqArgs): DeadLetterFilter {
  if (a.client !== undefined && !/^[1-9]\d{0,18}$/.test(a.client)) throw new UsageError(`--client ${a.client}: not a client id`);
  return { clientId: a.client, errorLike: a.error, since: date('--since', a.since), until: date('--until', a.until) };
}

function date(flag: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const parsed = new Date(value);
  if (Number.isNaN(parsed.getTime())) throw new UsageError(`${flag} ${value}: not a date (2026-11-01T00:00:00Z)`);
  return parsed;
}

function wholeNumber(flag: string, value: string | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new UsageError(`${flag} must be a whole number from 1 to ${max}`);
  return n;
}

function service(db: Db): DeadLettersService {
  return new DeadLettersService(db, () => undefined); // the CLI wakes running services by NOTIFY instead
}
