// Assertions on RFC 9457 problem answers and on the database staying as it was.
import { sql } from 'kysely';
import { expect } from 'vitest';
import type { Db } from '../../src/db/database.ts';
import type { Reply } from './http.ts';

/** The reply is a problem+json with this status and code (and, if given, an error on this path). */
export function expectProblem(reply: Reply, status: number, code: string, path?: string): void {
  expect(reply.status, JSON.stringify(reply.body)).toBe(status);
  expect(reply.headers.get('content-type')).toBe('application/problem+json');
  expect(reply.body).toMatchObject({ status, code, type: expect.stringMatching(/^\/problems\//), title: expect.any(String), detail: expect.any(String) });
  if (path) expect(reply.body.errors?.map((e: { path: string }) => e.path), JSON.stringify(reply.body)).toContain(path);
}

export interface RowCounts {
  messages: number;
  deliveries: number;
  clients: number;
  revoked_clients: number;
  subscriptions: number;
  group_members: number;
  topic_policies: number;
  topic_schemas: number;
  idempotency_keys: number;
  dead_letters: number;
  queue_policies: number;
  dedup_entries: number;
  delivery_receipts: number;
}

/** Rows in every table a request could write to. */
export async function countRows(db: Db): Promise<RowCounts> {
  const result = await sql<RowCounts>`
    select (select count(*)::int from switchyard.message) as messages,
           (select count(*)::int from switchyard.delivery) as deliveries,
           (select count(*)::int from switchyard.client) as clients,
           (select count(*)::int from switchyard.client where revoked_at is not null) as revoked_clients,
           (select count(*)::int from switchyard.subscription) as subscriptions,
           (select count(*)::int from switchyard.group_member) as group_members,
           (select count(*)::int from switchyard.topic_policy) as topic_policies,
           (select count(*)::int from switchyard.topic_schema) as topic_schemas,
           (select count(*)::int from switchyard.idempotency_key) as idempotency_keys,
           (select count(*)::int from switchyard.dead_letter) as dead_letters,
           (select count(*)::int from switchyard.queue_policy) as queue_policies,
           (select count(*)::int from switchyard.dedup) as dedup_entries,
           (select count(*)::int from switchyard.delivery_receipt) as delivery_receipts`.execute(db);
  return result.rows[0]!;
}
