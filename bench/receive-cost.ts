// npm run bench:receive: the database's cost of one receive (switchyard.claim_deliveries) with plans
// made while the tables were small, as they grow. A fresh database (its 9 daily log partitions),
// 20,000 messages in the log and an empty delivery table, analyzed; then rounds, each of which adds
// 40,000 messages to the log on top of the receives' own (about 60,000 a round), while the delivery
// table churns (every receive's rows deleted, or leased and then cleared) and keeps the dead rows
// autovacuum has not yet removed. Autovacuum is held off on the log only, so its statistics stay
// those of the start, as they are on any live database between two analyses. Two receives, each
// against the claim as migration 0022 wrote it (every receive before 0027) and the claim in steps:
// a stream woken for one message (one row, auto-ack) and an HTTP receive of 100 (leased). Both
// plans are made in the first round and kept (generic, as 0025 set them), as a pooled connection
// keeps them. Prints the median client-side time per receive, per round, with the log's size.
import { readFile } from 'node:fs/promises';
import { withScratchDatabase } from './lib/scratch-database.ts';

const START = 20_000;
const GROWTH = 40_000;
const ROUNDS = 4;
const RECEIVES = 300;

await withScratchDatabase('claims', async (db) => {
  await db.query(`insert into switchyard.client (name, token_hash) values ('consumer', sha256('consumer'))`);
  const clientId = (await db.query<{ id: string }>(`select id from switchyard.client`)).rows[0]!.id;
  const addToLog = (n: number) => db.query(`insert into switchyard.message (id, lane, sender, to_address, conversation, payload)
    select switchyard.uuidv7(), 0, 'user:bench', 'topic:b', 'topic:b', '{"n":1}' from generate_series(1, $1)`, [n]);
  await addToLog(START);
  await db.query('vacuum analyze');
  for (const { p } of (await db.query<{ p: string }>(`select inhrelid::regclass::text as p from pg_inherits where inhparent = 'switchyard.message'::regclass`)).rows) {
    await db.query(`alter table ${p} set (autovacuum_enabled = false)`);
  }
  // The claim as migration 0022 wrote it, under another name, to measure before and after side by side.
  const v0022 = (await readFile(new URL('../migrations/0022_claim_function.up.sql', import.meta.url), 'utf8'))
    .match(/create function switchyard\.claim_deliveries\([\s\S]*?\n\$\$;/)![0]
    .replace('switchyard.claim_deliveries(', 'public.claim_deliveries_0022(');
  await db.query(v0022);
  await db.query('alter function public.claim_deliveries_0022 set plan_cache_mode = force_generic_plan'); // as 0025 set it

  // n new messages, each queued for the consumer and visible now.
  const enqueue = (n: number) => db.query(`
    with m as (insert into switchyard.message (id, lane, sender, to_address, conversation, payload)
               select switchyard.uuidv7(), 0, 'user:bench', 'topic:b', 'topic:b', '{"n":1}' from generate_series(1, $2) returning id)
    insert into switchyard.delivery (client_id, message_id, sort_key, visible_at) select $1, m.id, now(), now() from m`, [clientId, n]);
  const receives = {
    'one row, auto-ack': { rows: 1, args: [clientId, 100, 30, 5, 'stream', 0, 100, true] },
    '100 rows, leased': { rows: 100, args: [clientId, 100, 30, 5, null, 0, 100, false] },
  };
  const claims = { 'before 0027': 'public.claim_deliveries_0022', 'in steps': 'switchyard.claim_deliveries' };
  for (let round = 1; round <= ROUNDS; round++) {
    const size = (await db.query<{ n: number }>('select count(*)::int as n from switchyard.message')).rows[0]!.n;
    const figures = [];
    for (const [receive, { rows, args }] of Object.entries(receives)) {
      for (const [name, fn] of Object.entries(claims)) {
        const times: number[] = [];
        for (let i = 0; i < RECEIVES; i++) {
          await enqueue(rows);
          const started = performance.now();
          const result = await db.query(`select * from ${fn}($1::bigint, $2::int, $3::int, $4::int, $5::text, $6::int, $7::int, $8::boolean, null)`, args);
          times.push(performance.now() - started);
          if (result.rows.length !== rows) throw new Error(`${name} handed out ${result.rows.length} rows, not ${rows}`);
        }
        // What a leased receive left behind would slow the next one's index scan: clear it.
        await db.query('delete from switchyard.delivery');
        times.sort((a, b) => a - b);
        figures.push(`${receive}, ${name} ${times[times.length >> 1]!.toFixed(2)} ms`);
      }
    }
    console.log(`round ${round}, log ${size.toLocaleString('en-US')} rows: ${figures.join('; ')}`);
    await addToLog(GROWTH);
  }
});
