// The short-lived caches in front of the token, group-membership and topic-schema lookups,
// against a real database. A cached answer shows as one that outlives a change made behind the cache's back (in
// SQL, with no config signal): a full cache makes room by dropping its least recently used entry,
// not everything, and invalidation (what a config signal calls) drops exactly the entries named.
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { Authenticator } from '../src/auth/authenticator.ts';
import { hashToken } from '../src/auth/tokens.ts';
import { GroupMembership } from '../src/groups/membership.ts';
import { TopicSchemas } from '../src/topics/topic-schemas.ts';
import { upsertTopicSchema } from '../src/topics/topics.repository.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

const CACHE_MS = 600_000; // far longer than the test: nothing expires on its own here

async function createClient(name: string): Promise<{ id: string; token: string }> {
  const token = `token-of-${name}`;
  const result = await sql<{ id: string }>`
    insert into switchyard.client (name, token_hash) values (${name}, ${hashToken(token)}) returning id`.execute(database.db);
  return { id: result.rows[0]!.id, token };
}

const revokeAll = (names: string[]) => sql`update switchyard.client set revoked_at = now() where name = any(${names}::text[])`.execute(database.db);

async function whoIs(auth: Authenticator, token: string): Promise<string | undefined> {
  const principal = await auth.authenticate(token);
  return principal?.kind === 'client' ? principal.client.name : undefined;
}

test('a full token cache drops its least recently used token, not every token', async () => {
  const [ann, ben, cat] = [await createClient('cache-ann'), await createClient('cache-ben'), await createClient('cache-cat')];
  const auth = new Authenticator(database.db, hashToken('admin-token'), CACHE_MS, undefined, undefined, undefined, 2);
  expect(await whoIs(auth, ann.token)).toBe('cache-ann');
  expect(await whoIs(auth, ben.token)).toBe('cache-ben');
  expect(await whoIs(auth, ann.token)).toBe('cache-ann'); // ann is now the more recently used
  expect(await whoIs(auth, cat.token)).toBe('cache-cat'); // the cache is full: ben makes room

  await revokeAll(['cache-ann', 'cache-ben', 'cache-cat']);
  expect(await whoIs(auth, ann.token)).toBe('cache-ann'); // still cached
  expect(await whoIs(auth, cat.token)).toBe('cache-cat'); // still cached
  expect(await whoIs(auth, ben.token)).toBeUndefined(); // evicted: the database says revoked
});

test('invalidating clients drops their cached tokens and keeps the others', async () => {
  const [dan, eve] = [await createClient('cache-dan'), await createClient('cache-eve')];
  const auth = new Authenticator(database.db, hashToken('admin-token'), CACHE_MS);
  expect(await whoIs(auth, dan.token)).toBe('cache-dan');
  expect(await whoIs(auth, eve.token)).toBe('cache-eve');
  await revokeAll(['cache-dan', 'cache-eve']);

  auth.invalidateClients([dan.id]);
  expect(await whoIs(auth, dan.token)).toBeUndefined();
  expect(await whoIs(auth, eve.token)).toBe('cache-eve');
  auth.invalidateClients(undefined);
  expect(await whoIs(auth, eve.token)).toBeUndefined();
});

test('invalidating a group drops its cached answers only, not those of a group whose name it starts', async () => {
  await sql`insert into switchyard.group_member (group_name, user_name)
            values ('ops', 'ann'), ('ops', 'ben'), ('ops2', 'ann'), ('dev', 'ann')`.execute(database.db);
  const membership = new GroupMembership(database.db, CACHE_MS);
  for (const [group, user] of [['ops', 'ann'], ['ops', 'ben'], ['ops2', 'ann'], ['dev', 'ann']] as const) {
    expect(await membership.isMember(group, user)).toBe(true);
  }
  expect(await membership.isMember('ops', 'cat')).toBe(false);
  await sql`delete from switchyard.group_member`.execute(database.db);
  await sql`insert into switchyard.group_member (group_name, user_name) values ('ops', 'cat')`.execute(database.db);

  membership.invalidate(['ops']);
  expect(await membership.isMember('ops', 'ann')).toBe(false);
  expect(await membership.isMember('ops', 'ben')).toBe(false);
  expect(await membership.isMember('ops', 'cat')).toBe(true); // a cached "no" goes too
  expect(await membership.isMember('ops2', 'ann')).toBe(true); // still cached
  expect(await membership.isMember('dev', 'ann')).toBe(true); // still cached
  membership.invalidate(undefined);
  expect(await membership.isMember('ops2', 'ann')).toBe(false);
  expect(await membership.isMember('dev', 'ann')).toBe(false);
});

test('an expired topic schema is read again, and an unchanged one keeps its compiled validator', async () => {
  let now = 1_000_000; // lru-cache takes an entry stored at time 0 for one without a time to live
  const schemas = new TopicSchemas(database.db, 1_000, { now: () => now });
  await upsertTopicSchema(database.db, 'prices', { type: 'object', required: ['price'] });
  const first = await schemas.validator('prices');
  expect(first!({}, 'payload')).toHaveLength(1);

  await upsertTopicSchema(database.db, 'prices', { type: 'object', required: ['price'] }); // written again, unchanged
  now += 1_001;
  expect(await schemas.validator('prices')).toBe(first); // expired and read again: the same text, the same validator

  await upsertTopicSchema(database.db, 'prices', { type: 'object', required: ['price', 'currency'] });
  now += 999;
  expect(await schemas.validator('prices')).toBe(first); // cached: the change came without a signal
  now += 2;
  const changed = await schemas.validator('prices');
  expect(changed).not.toBe(first);
  expect(changed!({ price: 1 }, 'payload')).toEqual([expect.objectContaining({ path: 'payload' })]);
});
