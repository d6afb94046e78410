// npm run bench:lanes: the database's cost of one lane claim (switchyard.claim_lanes), the fixed
// cost of every stage batch. A fresh database (its 9 daily log partitions), 2,000 messages already
// routed in lane 0 (one transaction each) and one new message in lane 3: the claim as migration 0021
// wrote it (every claim before 0026), the new claim looking at every lane, naming lane 3 (a stage
// woken by the router's flush), and naming a lane with nothing to do (a hint already served). Each
// claim runs in its own transaction, rolled back; the time of the same transaction around
// `select 1` is subtracted. Prints microseconds per claim, per round.
import { readFile } from 'node:fs/promises';
import { withScratchDatabase } from './lib/scratch-database.ts';

const CLAIMS = 2_000;
const ROUNDS = 5;

await withScratchDatabase('lanes', async (db) => {
  // One transaction per message, as publishes commit: the log's xids are as varied as they are live.
  const insert = async (lane: number, n: number) => {
    for (let i = 0; i < n; i++) {
      await db.query(`insert into switchyard.message (id, lane, sender, to_address, conversation, payload)
                      values (switchyard.uuidv7(), $1, 'user:bench', 'topic:b', 'topic:b', '{"n":1}')`, [lane]);
    }
  };
  await insert(0, CLAIMS);
  await db.query(`select * from switchyard.route_batch(16, 100000, 0, '{}', 900, 500)`);
  await db.query('vacuum analyze switchyard.message');
  await insert(3, 1);
  // The claim as migration 0021 wrote it, under another name, to measure before and after side by side.
  const v0021 = (await readFile(new URL('../migrations/0021_routing_in_one_statement.up.sql', import.meta.url), 'utf8'))
    .match(/create function switchyard\.claim_lanes\([\s\S]*?\n\$\$;/)![0]
    .replace('switchyard.claim_lanes(', 'public.claim_lanes_0021(');
  await db.query(v0021);
  await db.query('alter function public.claim_lanes_0021 set plan_cache_mode = force_generic_plan'); // as 0025 set it
  const partitions = (await db.query<{ n: number }>(`select count(*)::int as n from pg_inherits where inhparent = 'switchyard.message'::regclass`)).rows[0]!.n;
  console.log(`${partitions} log partitions, 16 lanes, one lane with a new message`);

  const timed = async (text: string, values: unknown[]) => {
    const started = performance.now();
    for (let i = 0; i < CLAIMS; i++) {
      await db.query('begin');
      await db.query(text, values);
      await db.query('rollback');
    }
    return performance.now() - started;
  };
  const claim = 'select switchyard.claim_lanes($1, $2, $3::smallint[])';
  const ways: Record<string, [string, unknown[]]> = {
    'before 0026': ['select public.claim_lanes_0021($1, $2)', ['routing', 8]],
    'every lane': [claim, ['routing', 8, null]],
    'the lane the flush named': [claim, ['routing', 8, [3]]],
    'a named lane with nothing to do': [claim, ['routing', 8, [5]]],
  };
  for (let round = 1; round <= ROUNDS; round++) {
    const floor = await timed('select 1', []);
    const figures = [];
    for (const [name, [text, values]] of Object.entries(ways)) {
      const ms = await timed(text, values) - floor;
      figures.push(`${name} ${(ms * 1000 / CLAIMS).toFixed(1)} us`);
    }
    console.log(`round ${round}: ${figures.join(', ')}`);
  }
});
