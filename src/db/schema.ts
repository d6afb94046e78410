// Row types of the tables the query builder touches, mirroring migrations/*.sql.
// bigint and numeric columns arrive as strings (pg's default, which keeps 64-bit ids exact).
import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;

export interface SettingTable {
  key: string;
  value: string;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface ClientTable {
  id: Generated<string>;
  name: string;
  token_hash: Buffer;
  created_at: CreatedAt;
  revoked_at: ColumnType<Date | null, never, Date | string | null>;
}
export type ClientRow = Selectable<ClientTable>;
export type NewClient = Insertable<ClientTable>;

export interface SubscriptionTable {
  address: string;
  client_id: string;
  /** A filter policy (routing/filter-policy.ts); null: every message to the address. */
  filter: unknown;
  created_at: CreatedAt;
}

export interface GroupMemberTable {
  group_name: string;
  user_name: string;
  added_at: CreatedAt;
}

/** The per-minute series anomaly detection watches for each address; mirrored by the CHECK on switchyard.anomaly_series.kind. */
export const SERIES_KINDS = ['count', 'bytes', 'dead_letter_rate', 'latency_p95'] as const;
export type SeriesKind = (typeof SERIES_KINDS)[number];

export const TOPIC_ACTIONS = ['publish', 'subscribe'] as const;
export type TopicAction = (typeof TOPIC_ACTIONS)[number];

export interface TopicPolicyTable {
  topic: string;
  action: TopicAction;
  grants: string[];
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface TopicSchemaTable {
  topic: string;
  schema: ColumnType<unknown, string, string>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** Mirrored by the CHECK on switchyard.idempotency_key.state. */
export const IDEMPOTENCY_STATES = { inProgress: 'in_progress', done: 'done' } as const;

export interface IdempotencyKeyTable {
  client_id: string;
  key: string;
  fingerprint: Buffer;
  state: (typeof IDEMPOTENCY_STATES)[keyof typeof IDEMPOTENCY_STATES];
  message_ids: string[];
  response_status: number;
  response_body: ColumnType<unknown, string, string>;
  locked_until: Date | null;
  created_at: CreatedAt;
  expires_at: Date;
}

export interface StageDeadLetterTable {
  stage: string;
  message_id: string;
  attempts: number;
  first_failed_at: Date;
  failed_at: CreatedAt;
  last_error: string;
}

export interface AnalyticsMinuteTable {
  minute: Date;
  address: string;
  published: string;
  payload_bytes: string;
  delivered: string;
  latency_ms_sum: string;
  latency_ms_max: number;
  latency_ms_buckets: string[];
  expired: string;
  dead_lettered: string;
}

export interface Database {
  'switchyard_secret.setting': SettingTable;
  'switchyard.client': ClientTable;
  'switchyard.subscription': SubscriptionTable;
  'switchyard.group_member': GroupMemberTable;
  'switchyard.topic_policy': TopicPolicyTable;
  'switchyard.topic_schema': TopicSchemaTable;
  'switchyard.idempotency_key': IdempotencyKeyTable;
  'switchyard.stage_dead_letter': StageDeadLetterTable;
  'switchyard.analytics_minute': AnalyticsMinuteTable;
}
