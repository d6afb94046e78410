// npm run bench:claims: the database's cost of the claims one broadcast makes. 10,000 clients with
// one delivery each claim it (auto-ack, as the broadcast's streams do), 500 clients per statement,
// one statement at a time: once with one call of claim_deliveries per client in a statement (0022,
// in steps since 0027), once with the set-based claim_deliveries_for_clients (0023). Prints
// microseconds per client.
import { withScratchDatabase } from './lib/scratch-database.ts';

const CLIENTS = 10_000;
const PER_STATEMENT = 500;
const ROUNDS = 5;

await withScratchDatabase('claims', async (db) => {
  await db.query(`insert into switchyard.client (name, token_hash) select 'c' || g, sha256(convert_to('c' || g, 'UTF8')) from generate_series(1, $1) g`, [CLIENTS]);
  const ids = (await db.query<{ id: string }>('select id from switchyard.client order by id')).rows.map((r) => r.id);

  const fill = async () => {
    await db.query(`insert into switchyard.message (id, lane, sender, to_address, conversation, payload)
                    values (switchyard.uuidv7(), 0, 'user:bench', 'topic:b', 'topic:b', '{"n":1}')`);
    await db.query(`insert into switchyard.delivery (client_id, message_id, sort_key, visible_at)
                    select c.id, (select id from switchyard.message order by created_at desc limit 1), now(), now()
                    from switchyard.client c`);
    await db.query('vacuum analyze switchyard.delivery');
  };
  const arrays = (part: string[]) => [part, part.map(() => 1), part.map(() => 30), part.map(() => 5), part.map(() => null),
    part.map(() => 0), part.map(() => 100), part.map(() => true)];
  const ways: Record<string, (part: string[]) => Promise<unknown>> = {
    'one call of claim_deliveries per client': (part) => db.query(`
      select c.* from unnest($1::bigint[], $2::int[], $3::int[], $4::int[], $5::text[], $6::int[], $7::int[], $8::boolean[])
        as r(client_id, max, vis, max_receives, owner, seq_before, prefetch, auto_ack)
      cross join lateral switchyard.claim_deliveries(r.client_id, r.max, r.vis, r.max_receives, r.owner, r.seq_before, r.prefetch, r.auto_ack, null) c`,
      arrays(part)),
    'set-based (0023)': (part) => db.query('select * from switchyard.claim_deliveries_for_clients($1, $2, $3, $4, $5, $6, $7, $8, null)', arrays(part)),
  };
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [name, claim] of Object.entries(ways)) {
      await fill();
      const started = performance.now();
      for (let i = 0; i < ids.length; i += PER_STATEMENT) await claim(ids.slice(i, i + PER_STATEMENT));
      const ms = performance.now() - started;
      const left = (await db.query<{ n: number }>('select count(*)::int as n from switchyard.delivery')).rows[0]!.n;
      console.log(`round ${round}: ${name}: ${ms.toFixed(0)} ms for ${CLIENTS} clients, ${(ms * 1000 / CLIENTS).toFixed(1)} us per client (${left} left)`);
    }
  }
});
