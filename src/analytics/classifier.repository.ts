// SQL of content classification: which topics are classified, model versions, what operators
// taught, the labels, and the outbox that publishes labels to topic:switchyard.labels.
import { sql } from 'kysely';
import { PREPARED, type Db, type Tx } from '../db/database.ts';

export interface TopicClassifierRow {
  topic: string;
  json_paths: string[] | null;
  threshold: number;
  quiet_labels: string[];
  updated_at: Date;
}

export async function upsertTopicClassifier(
  db: Db, topic: string, settings: { jsonPaths: string[] | null; threshold: number; quietLabels: string[] },
): Promise<TopicClassifierRow> {
  const result = await sql<TopicClassifierRow>`
    insert into switchyard.topic_classifier (topic, json_paths, threshold, quiet_labels)
    values (${topic}, ${settings.jsonPaths}::text[], ${settings.threshold}, ${settings.quietLabels}::text[])
    on conflict (topic) do update
      set json_paths = excluded.json_paths, threshold = excluded.threshold, quiet_labels = excluded.quiet_labels, updated_at = now()
    returning topic, json_paths, threshold, quiet_labels, updated_at`.execute(db);
  return result.rows[0]!;
}

export async function deleteTopicClassifier(db: Db, topic: string): Promise<boolean> {
  const result = await sql`delete from switchyard.topic_classifier where topic = ${topic}`.execute(db);
  return Number(result.numAffectedRows ?? 0) > 0;
}

export async function listTopicClassifiers(db: Db | Tx): Promise<TopicClassifierRow[]> {
  const result = await sql<TopicClassifierRow>`
    select topic, json_paths, threshold, quiet_labels, updated_at from switchyard.topic_classifier order by topic`.execute(db);
  return result.rows;
}

export interface ClassifierModelRow {
  version: number;
  trained_at: Date;
  corpus_examples: number;
  taught_examples: number;
  model: string;
}

/** Stores a model as the next version; returns that version. */
export async function insertClassifierModel(
  db: Db, model: { trainedAt: Date; corpusExamples: number; taughtExamples: number; json: string },
): Promise<number> {
  const result = await sql<{ version: number }>`
    insert into switchyard.classifier_model (version, trained_at, corpus_examples, taught_examples, model)
    select coalesce(max(version), 0) + 1, ${model.trainedAt}, ${model.corpusExamples}, ${model.taughtExamples}, ${model.json}
    from switchyard.classifier_model
    returning version`.execute(db);
  return result.rows[0]!.version;
}

export async function getLatestModelVersion(db: Db | Tx): Promise<{ version: number; trained_at: Date } | undefined> {
  const result = await sql<{ version: number; trained_at: Date }>`${PREPARED}
    select version, trained_at from switchyard.classifier_model order by version desc limit 1`.execute(db);
  return result.rows[0];
}

export async function getClassifierModel(db: Db | Tx, version: number): Promise<ClassifierModelRow | undefined> {
  const result = await sql<ClassifierModelRow>`
    select version, trained_at, corpus_examples, taught_examples, model from switchyard.classifier_model where version = ${version}`.execute(db);
  return result.rows[0];
}

export interface LoggedPayload {
  id: string;
  to_address: string;
  payload: unknown;
}

/** Payloads of the given messages that are still in the log. */
export async function listLoggedPayloads(db: Db | Tx, messageIds: string[]): Promise<LoggedPayload[]> {
  if (messageIds.length === 0) return [];
  const result = await sql<LoggedPayload>`${PREPARED}
    select m.id, m.to_address, m.payload from switchyard.message m where m.id = any (${messageIds}::uuid[])`.execute(db);
  return result.rows;
}

export interface Teaching {
  messageId: string;
  label: string;
  text: string;
}

export async function upsertClassifierTeachings(db: Db, teachings: Teaching[], taughtAt: Date): Promise<void> {
  await sql`
    insert into switchyard.classifier_teaching (message_id, label, text, taught_at)
    select t.message_id, t.label, t.text, ${taughtAt}
    from jsonb_to_recordset(${JSON.stringify(teachings.map((t) => ({ message_id: t.messageId, label: t.label, text: t.text })))}::jsonb)
      as t(message_id uuid, label text, text text)
    order by t.message_id
    on conflict (message_id) do update set label = excluded.label, text = excluded.text, taught_at = excluded.taught_at`.execute(db);
}

export async function listClassifierTeachings(db: Db): Promise<{ label: string; text: string; taught_at: Date }[]> {
  const result = await sql<{ label: string; text: string; taught_at: Date }>`
    select label, text, taught_at from switchyard.classifier_teaching order by taught_at, message_id`.execute(db);
  return result.rows;
}

export interface NewMessageLabel {
  messageId: string;
  topic: string;
  label: string;
  score: number;
  modelVersion: number;
  publish: boolean;
}

/** Labels classified messages; a message labelled before (a batch read again) keeps its label. */
export async function insertMessageLabels(tx: Tx, labels: NewMessageLabel[], labelledAt: Date): Promise<void> {
  if (labels.length === 0) return;
  await sql`${PREPARED}
    insert into switchyard.message_label (message_id, topic, label, score, model_version, labelled_at, publish_pending)
    select l.message_id, l.topic, l.label, l.score, l.model_version, ${labelledAt}, l.publish
    from jsonb_to_recordset(${JSON.stringify(labels.map((l) => ({
      message_id: l.messageId, topic: l.topic, label: l.label, score: l.score, model_version: l.modelVersion, publish: l.publish,
    })))}::jsonb) as l(message_id uuid, topic text, label text, score real, model_version integer, publish boolean)
    on conflict (message_id) do nothing`.execute(tx);
}

export interface MessageLabelRow {
  message_id: string;
  topic: string;
  label: string;
  score: number;
  model_version: number;
  labelled_at: Date;
}

export async function listMessageLabels(db: Db, messageIds: string[]): Promise<MessageLabelRow[]> {
  if (messageIds.length === 0) return [];
  const result = await sql<MessageLabelRow>`
    select message_id, topic, label, score, model_version, labelled_at
    from switchyard.message_label where message_id = any (${messageIds}::uuid[])`.execute(db);
  return result.rows;
}

/** Per topic and label over the last `since`: how many messages, and their mean score (dashboard). */
export async function countLabelsByTopic(db: Db, since: Date): Promise<{ topic: string; label: string; messages: number; mean_score: number }[]> {
  const result = await sql<{ topic: string; label: string; messages: number; mean_score: number }>`
    select topic, label, count(*)::integer as messages, avg(score)::real as mean_score
    from switchyard.message_label where labelled_at >= ${since}
    group by topic, label order by topic, label`.execute(db);
  return result.rows;
}

/** Publishes up to `limit` pending labels to topic:switchyard.labels and marks them published, in
 *  one transaction (the outbox: a crash publishes them on the next run, never loses them). */
export async function publishPendingLabels(db: Db, topicAddress: string, limit: number): Promise<number> {
  const result = await sql<{ published: number }>`
    with pending as (
      select message_id from switchyard.message_label where publish_pending
      order by labelled_at limit ${limit} for update skip locked
    ), done as (
      update switchyard.message_label l set publish_pending = false
      from pending p where l.message_id = p.message_id
      returning l.message_id, l.topic, l.label, l.score, l.model_version, l.labelled_at
    )
    select count(switchyard.publish(${topicAddress},
      jsonb_build_object('message_id', d.message_id, 'topic', 'topic:' || d.topic, 'label', d.label, 'score', d.score,
                         'model_version', d.model_version, 'labelled_at', d.labelled_at),
      type => 'switchyard.label'))::integer as published
    from done d`.execute(db);
  return result.rows[0]?.published ?? 0;
}
