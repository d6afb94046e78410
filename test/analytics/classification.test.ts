// Content classification end to end, on a real PostgreSQL: spam on a classified topic becomes a
// label row and a label event on topic:switchyard.labels; an operator teaches a label, the retrain
// job makes a new model version, and the next message is labelled by it. The starter model is
// trained on a slice of the corpus to keep the test fast.
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { retrainClassifier } from '../../src/analytics/classifier-training.ts';
import { JSON_PATHS_MAX, TEACH_LABELS_MAX } from '../../src/analytics/classifier.schemas.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { eventually, publish, registerClient, type TestClient } from '../helpers/factories.ts';
import { expectProblem } from '../helpers/problems.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

const CORPUS_SLICE = 8;
let database: TestDatabase;
let service: TestService;
let moderator: TestClient;
let sender: TestClient;

beforeAll(async () => {
  database = await createTestDatabase();
  service = await startTestService(database.url);
  moderator = await registerClient(service.admin, 'moderator', ['topic:switchyard.labels']);
  sender = await registerClient(service.admin, 'sam');
});

afterAll(async () => {
  await service?.stop();
  await database?.drop();
});

interface LabelEvent {
  message_id: string;
  topic: string;
  label: string;
  score: number;
  model_version: number;
}

async function labelEventFor(messageId: string): Promise<LabelEvent> {
  return eventually(async () => {
    const reply = await moderator.api.get('/v1/inbox?wait=1&max=100');
    const event = (reply.body.messages as { payload: LabelEvent }[]).map((m) => m.payload).find((p) => p.message_id === messageId);
    return event;
  }, 20_000, `a label event for ${messageId}`);
}

async function labelOf(messageId: string) {
  return eventually(async () => {
    const result = await sql<{ label: string; score: number; model_version: number }>`
      select label, score, model_version from switchyard.message_label where message_id = ${messageId}`.execute(database.db);
    return result.rows[0];
  }, 20_000, `a label for ${messageId}`);
}

const SPAM = 'Congratulations!!! You have been selected to receive a FREE cash prize. Click here to claim your money now, '
  + 'limited time offer, order today and save 100%. Remove yourself from our mailing list.';

test('spam on a classified topic is labelled in SQL and announced on topic:switchyard.labels', async () => {
  const put = await service.admin.put('/v1/admin/topics/chat/classifier', { json_paths: ['$.text'], threshold: 0.8 });
  expect(put.status, JSON.stringify(put.body)).toBe(200);
  expect(put.body).toMatchObject({ topic: 'chat', json_paths: ['$.text'], threshold: 0.8, quiet_labels: ['ham'] });
  // The retrain job trains the starter model once a topic is classified.
  expect(await retrainClassifier(database.db, { now: () => new Date(), corpusSlice: CORPUS_SLICE })).toBe(1);

  const id = await publish(sender, { to: 'topic:chat', payload: { text: SPAM, room: 'lobby' } });
  const event = await labelEventFor(id);
  expect(event).toMatchObject({ message_id: id, topic: 'topic:chat', label: 'spam', model_version: 1 });
  expect(event.score).toBeGreaterThanOrEqual(0.8);
  expect(await labelOf(id)).toMatchObject({ label: 'spam', model_version: 1 });
  const history = await eventually(async () => {
    const reply = await sender.api.get('/v1/history?conversation=topic:chat');
    return (reply.body.messages as { id: string; label: unknown }[]).find((m) => m.id === id);
  }, 10_000, 'the message in history');
  expect(history.label).toMatchObject({ label: 'spam', model_version: 1 });

  // Unclassified topics get no label.
  const plain = await publish(sender, { to: 'topic:other', payload: { text: SPAM } });
  await labelOf(id);
  await eventually(async () => ((await service.admin.get('/v1/admin/analytics?address=topic:other')).body.minutes?.length > 0 ? true : undefined));
  const none = await sql`select 1 from switchyard.message_label where message_id = ${plain}`.execute(database.db);
  expect(none.rows).toEqual([]);
});

test('a taught label, once retrained, labels the next message with the new model version', async () => {
  const text = 'zorblax quuxifier frobnitz wibblewobble';
  const first = await publish(sender, { to: 'topic:chat', payload: { text } });
  expect((await labelOf(first)).model_version).toBe(1);
  const taught = await service.admin.post('/v1/admin/classifier/labels', { labels: [{ message_id: first, label: 'urgent' }] });
  expect(taught.status, JSON.stringify(taught.body)).toBe(200);
  expect(taught.body).toEqual({ taught: 1 });

  expect(await retrainClassifier(database.db, { now: () => new Date(), corpusSlice: CORPUS_SLICE })).toBe(2);
  // Nothing taught since: no new version.
  expect(await retrainClassifier(database.db, { now: () => new Date(), corpusSlice: CORPUS_SLICE })).toBeUndefined();

  const next = await eventually(async () => {
    const id = await publish(sender, { to: 'topic:chat', payload: { text } });
    const label = await labelOf(id);
    return label.model_version === 2 ? { id, label } : undefined;
  }, 20_000, 'a message labelled by version 2');
  expect(next.label.label).toBe('urgent');
  const event = await labelEventFor(next.id);
  expect(event).toMatchObject({ label: 'urgent', model_version: 2 });
  const status = await service.admin.get('/v1/admin/classifier');
  expect(status.body.model.version).toBe(2);
  expect(status.body.labels_last_hour).toContainEqual(expect.objectContaining({ topic: 'chat', label: 'urgent' }));
});

test('the service does not classify its own topics, and bad classifier input changes nothing', async () => {
  expectProblem(await service.admin.put('/v1/admin/topics/switchyard.labels/classifier', {}), 400, 'ValidationFailed', 'topic');
  expectProblem(await service.admin.put('/v1/admin/topics/x/classifier', { threshold: 1.5 }), 400, 'ValidationFailed', 'threshold');
  expectProblem(await service.admin.put('/v1/admin/topics/x/classifier', { json_paths: ['body'] }), 400, 'ValidationFailed', 'json_paths.0');
  expectProblem(await service.admin.get('/v1/admin/topics/x/classifier'), 404, 'NotFound');
  const paths = Array.from({ length: JSON_PATHS_MAX }, (_, i) => `$.p${i}`);
  expect((await service.admin.put('/v1/admin/topics/x/classifier', { json_paths: paths })).status).toBe(200);
  expectProblem(await service.admin.put('/v1/admin/topics/x/classifier', { json_paths: [...paths, '$.one_more'] }), 400, 'ValidationFailed', 'json_paths');
  expect((await service.admin.delete('/v1/admin/topics/x/classifier')).body).toEqual({ topic: 'x', deleted: true });
  const unknown = '00000000-0000-7000-8000-000000000000';
  expectProblem(await service.admin.post('/v1/admin/classifier/labels', { labels: [{ message_id: unknown, label: 'spam' }] }), 404, 'NotFound', 'labels.0.message_id');
  // At the limit the request is valid (and the unknown message is the problem); one more is not.
  const atLimit = Array.from({ length: TEACH_LABELS_MAX }, () => ({ message_id: unknown, label: 'spam' }));
  expectProblem(await service.admin.post('/v1/admin/classifier/labels', { labels: atLimit }), 404, 'NotFound', 'labels.49.message_id');
  const tooMany = [...atLimit, atLimit[0]];
  expectProblem(await service.admin.post('/v1/admin/classifier/labels', { labels: tooMany }), 400, 'ValidationFailed', 'labels');
  expectProblem(await service.admin.post('/v1/admin/classifier/labels', { labels: [{ message_id: unknown, label: 'Not A Label' }] }), 400, 'ValidationFailed', 'labels.0.label');
  const taught = await sql<{ n: number }>`select count(*)::int as n from switchyard.classifier_teaching`.execute(database.db);
  expect(taught.rows[0]!.n).toBe(1);
  expect((await service.admin.delete('/v1/admin/topics/x/classifier')).body).toEqual({ topic: 'x', deleted: false });
});
