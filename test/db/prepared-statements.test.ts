// Statements marked PREPARED run as named prepared statements (db/database.ts patches each pooled
// connection's query method to give them a name). Nothing else would notice if a pg or kysely
// upgrade routed queries past that patch: they would still work, only be planned on every call.
// So this asks PostgreSQL itself, on the connection that ran a receive, what it has prepared.
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createDb, createPool, type Db } from '../../src/db/database.ts';
import { claimDeliveries } from '../../src/inbox/inbox.repository.ts';
import { createLogger } from '../../src/logger.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { createQueueClient, newMessage, publishAndRoute } from '../helpers/queue.ts';

let database: TestDatabase;
let oneConnection: Db;

beforeAll(async () => {
  database = await createTestDatabase();
  // One connection, so that every query below runs in the session whose statements are listed.
  const pool = createPool({
    url: database.url, max: 1, statementTimeoutMs: 60_000, idleInTransactionTimeoutMs: 60_000, applicationName: 'switchyard:test',
  }, createLogger('silent'));
  oneConnection = createDb(pool);
});

afterAll(async () => {
  await oneConnection?.destroy();
  await database?.drop();
});

interface PreparedStatement {
  name: string;
  statement: string;
  executions: string;
}

async function preparedStatements(): Promise<PreparedStatement[]> {
  const result = await sql<PreparedStatement>`
    select name, statement, (generic_plans + custom_plans)::text as executions
    from pg_prepared_statements order by name`.execute(oneConnection);
  return result.rows;
}

test('a receive runs as one named prepared statement on its connection, reused on the next call', async () => {
  const clientId = await createQueueClient(database.db, 'prepared');
  await publishAndRoute(database.db, [newMessage('topic:prepared'), newMessage('topic:prepared')]);
  expect(await preparedStatements()).toEqual([]); // a fresh connection; unmarked statements are never named

  const receive = () => claimDeliveries(oneConnection, { clientId, max: 1, visibilitySeconds: 30, maxReceives: 10 });
  expect((await receive()).filter((row) => row.outcome === 'delivered')).toHaveLength(1);
  const [prepared, ...others] = await preparedStatements();
  expect(others).toEqual([]);
  expect(prepared!.name).toMatch(/^sy_[0-9a-f]{20}$/);
  expect(prepared!.statement.startsWith('/* prepared */')).toBe(true);
  expect(prepared!.statement).toContain('switchyard.claim_deliveries(');
  expect(prepared!.executions).toBe('1');

  expect((await receive()).filter((row) => row.outcome === 'delivered')).toHaveLength(1);
  expect(await preparedStatements()).toEqual([{ ...prepared, executions: '2' }]);
});
