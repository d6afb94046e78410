// The one access rule (src/auth/access.ts) against a real database: every address kind, for
// reading, reading history and publishing, with group membership and restricted topics as the
// admin routes store them. Caches are off (0 ms), so each answer is read from the tables.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AddressAccess } from '../../src/auth/access.ts';
import { deleteGroupMember, insertGroupMember } from '../../src/groups/groups.repository.ts';
import { GroupMembership } from '../../src/groups/membership.ts';
import { TopicPolicies } from '../../src/topics/topic-policies.ts';
import { replaceTopicPolicyAction } from '../../src/topics/topics.repository.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

let database: TestDatabase;
let access: AddressAccess;

beforeAll(async () => {
  database = await createTestDatabase();
  access = new AddressAccess(new GroupMembership(database.db, 0), new TopicPolicies(database.db, 0));
  await insertGroupMember(database.db, 'eng', 'alice');
  await database.db.transaction().execute(async (tx) => {
    await replaceTopicPolicyAction(tx, 'ops-alerts', 'subscribe', ['svc-*', 'alice']); // readers restricted, publishing open
    await replaceTopicPolicyAction(tx, 'payroll', 'publish', ['svc-payroll']); // publishers restricted, reading open
    await replaceTopicPolicyAction(tx, 'sealed', 'subscribe', []); // an empty grant list: no one
    await replaceTopicPolicyAction(tx, 'sealed', 'publish', []);
  });
});

afterAll(async () => {
  await database?.drop();
});

describe('reading (listen-to, reply_to, who may answer a request)', () => {
  test('user:<name> is readable only by the clients registered under that name', async () => {
    expect(await access.readRefusal('alice', 'user:alice')).toBeUndefined();
    expect(await access.readRefusal('bob', 'user:alice')).toEqual({
      code: 'ListenToForbidden', message: 'only clients registered as alice may listen to user:alice',
    });
  });

  test('group:<name> is readable only by its members, and a removed member is refused at once', async () => {
    expect(await access.readRefusal('alice', 'group:eng')).toBeUndefined();
    expect(await access.readRefusal('bob', 'group:eng')).toEqual({ code: 'NotAGroupMember', message: 'bob is not a member of group:eng' });
    await insertGroupMember(database.db, 'eng', 'carol');
    expect(await access.mayRead('carol', 'group:eng')).toBe(true);
    await database.db.transaction().execute((tx) => deleteGroupMember(tx, 'eng', 'carol'));
    expect(await access.mayRead('carol', 'group:eng')).toBe(false);
  });

  test('topic:<name> is open to anyone unless its policy restricts subscribe', async () => {
    expect(await access.readRefusal('bob', 'topic:news')).toBeUndefined();
    expect(await access.readRefusal('bob', 'topic:payroll')).toBeUndefined(); // only publishing is restricted
    expect(await access.readRefusal('svc-billing', 'topic:ops-alerts')).toBeUndefined(); // matches svc-*
    expect(await access.readRefusal('alice', 'topic:ops-alerts')).toBeUndefined(); // an exact grant
    expect(await access.readRefusal('bob', 'topic:ops-alerts')).toEqual({
      code: 'TopicSubscribeForbidden', message: 'the policy of topic:ops-alerts does not grant bob subscribe',
    });
    expect(await access.mayRead('alice', 'topic:sealed')).toBe(false);
  });

  test('an address of no known kind is read by no one', async () => {
    expect(await access.readRefusal('alice', 'queue:alice')).toEqual({
      code: 'ListenToForbidden', message: 'queue:alice is not an address anyone listens to',
    });
  });
});

describe('reading history', () => {
  test("user:<other> is the reader's own direct conversation with that user: both ends may read it", async () => {
    expect(await access.historyRefusal('bob', 'user:alice')).toBeUndefined();
    expect(await access.historyRefusal('alice', 'user:alice')).toBeUndefined();
  });

  test('groups and topics follow the read rule', async () => {
    expect(await access.historyRefusal('alice', 'group:eng')).toBeUndefined();
    expect(await access.historyRefusal('bob', 'group:eng')).toEqual({ code: 'NotAGroupMember', message: 'bob is not a member of group:eng' });
    expect(await access.historyRefusal('bob', 'topic:news')).toBeUndefined();
    expect(await access.historyRefusal('bob', 'topic:ops-alerts')).toEqual({
      code: 'TopicSubscribeForbidden', message: 'the policy of topic:ops-alerts does not grant bob subscribe',
    });
  });
});

describe('publishing', () => {
  test('anyone may publish to user:<name>', async () => {
    expect(await access.publishRefusal('bob', 'user:alice')).toBeUndefined();
  });

  test('only members may publish to group:<name>', async () => {
    expect(await access.publishRefusal('alice', 'group:eng')).toBeUndefined();
    expect(await access.publishRefusal('bob', 'group:eng')).toEqual({ code: 'NotAGroupMember', message: 'bob is not a member of group:eng' });
  });

  test('topic:<name> is open to anyone unless its policy restricts publish', async () => {
    expect(await access.publishRefusal('bob', 'topic:news')).toBeUndefined();
    expect(await access.publishRefusal('bob', 'topic:ops-alerts')).toBeUndefined(); // only reading is restricted
    expect(await access.publishRefusal('svc-payroll', 'topic:payroll')).toBeUndefined();
    expect(await access.publishRefusal('svc-payrollx', 'topic:payroll')).toEqual({
      code: 'TopicPublishForbidden', message: 'the policy of topic:payroll does not grant svc-payrollx publish',
    });
    expect(await access.publishRefusal('svc-payroll', 'topic:sealed')).toEqual({
      code: 'TopicPublishForbidden', message: 'the policy of topic:sealed does not grant svc-payroll publish',
    });
  });
});
