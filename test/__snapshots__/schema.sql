table switchyard.analytics_minute (
  minute timestamp with time zone not null,
  address text not null,
  published bigint not null default 0,
  payload_bytes bigint not null default 0,
  delivered bigint not null default 0,
  latency_ms_sum bigint not null default 0,
  latency_ms_max integer not null default 0,
  latency_ms_buckets bigint[] not null default array_fill((0)::bigint, ARRAY[16]),
  expired bigint not null default 0,
  dead_lettered bigint not null default 0,
  constraint analytics_minute_pkey PRIMARY KEY (minute, address)
);
CREATE UNIQUE INDEX analytics_minute_pkey ON switchyard.analytics_minute USING btree (minute, address);

table switchyard.analytics_sender_hour (
  hour timestamp with time zone not null,
  sender text not null,
  published bigint not null default 0,
  payload_bytes bigint not null default 0,
  constraint analytics_sender_hour_pkey PRIMARY KEY (hour, sender)
);
CREATE UNIQUE INDEX analytics_sender_hour_pkey ON switchyard.analytics_sender_hour USING btree (hour, sender);

table switchyard.analytics_sender_minute (
  minute timestamp with time zone not null,
  sender text not null,
  published bigint not null default 0,
  payload_bytes bigint not null default 0,
  constraint analytics_sender_minute_pkey PRIMARY KEY (minute, sender)
);
CREATE UNIQUE INDEX analytics_sender_minute_pkey ON switchyard.analytics_sender_minute USING btree (minute, sender);

table switchyard.anomaly (
  id bigint not null generated always as identity,
  series_kind text not null,
  series_key text not null,
  window_start timestamp with time zone not null,
  window_end timestamp with time zone,
  observed double precision not null,
  band_low double precision not null,
  band_high double precision not null,
  direction text not null,
  severity real not null,
  state text not null,
  constraint anomaly_direction_check CHECK ((direction = ANY (ARRAY['spike'::text, 'drop'::text]))),
  constraint anomaly_pkey PRIMARY KEY (id),
  constraint anomaly_state_check CHECK ((state = ANY (ARRAY['open'::text, 'closed'::text])))
);
CREATE INDEX anomaly_open ON switchyard.anomaly USING btree (series_kind, series_key) WHERE (state = 'open'::text);
CREATE INDEX anomaly_window ON switchyard.anomaly USING btree (window_start);
CREATE UNIQUE INDEX anomaly_pkey ON switchyard.anomaly USING btree (id);

table switchyard.anomaly_series (
  kind text not null,
  key text not null,
  last_minute timestamp with time zone not null,
  state jsonb not null,
  constraint anomaly_series_kind_check CHECK ((kind = ANY (ARRAY['count'::text, 'bytes'::text, 'dead_letter_rate'::text, 'latency_p95'::text]))),
  constraint anomaly_series_pkey PRIMARY KEY (kind, key)
);
CREATE UNIQUE INDEX anomaly_series_pkey ON switchyard.anomaly_series USING btree (kind, key);

table switchyard.classifier_model (
  version integer not null,
  trained_at timestamp with time zone not null,
  corpus_examples integer not null,
  taught_examples integer not null,
  model text not null,
  constraint classifier_model_pkey PRIMARY KEY (version)
);
CREATE UNIQUE INDEX classifier_model_pkey ON switchyard.classifier_model USING btree (version);

table switchyard.classifier_teaching (
  message_id uuid not null,
  label text not null,
  text text not null,
  taught_at timestamp with time zone not null,
  constraint classifier_teaching_label_check CHECK ((label ~ '^[a-z0-9][a-z0-9_-]{0,39}$'::text)),
  constraint classifier_teaching_pkey PRIMARY KEY (message_id)
);
CREATE UNIQUE INDEX classifier_teaching_pkey ON switchyard.classifier_teaching USING btree (message_id);

table switchyard.client (
  id bigint not null generated always as identity,
  name text not null,
  token_hash bytea not null,
  created_at timestamp with time zone not null default now(),
  revoked_at timestamp with time zone,
  constraint client_name_check CHECK ((name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'::text)),
  constraint client_pkey PRIMARY KEY (id),
  constraint client_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX client_name ON switchyard.client USING btree (name);
CREATE UNIQUE INDEX client_pkey ON switchyard.client USING btree (id);
CREATE UNIQUE INDEX client_token_hash_key ON switchyard.client USING btree (token_hash);

table switchyard.dead_letter (
  client_id bigint not null,
  message_id uuid not null,
  reason text not null,
  receive_count integer not null,
  first_received_at timestamp with time zone,
  last_received_at timestamp with time zone,
  last_error text,
  enqueued_at timestamp with time zone not null,
  priority smallint not null,
  group_id text,
  dead_at timestamp with time zone not null default now(),
  constraint dead_letter_pkey PRIMARY KEY (client_id, message_id),
  constraint dead_letter_reason_check CHECK ((reason = ANY (ARRAY['max_receives'::text, 'overflow'::text])))
);
CREATE INDEX dead_letter_client_time ON switchyard.dead_letter USING btree (client_id, dead_at);
CREATE INDEX dead_letter_time ON switchyard.dead_letter USING btree (dead_at);
CREATE UNIQUE INDEX dead_letter_pkey ON switchyard.dead_letter USING btree (client_id, message_id);

table switchyard.dedup (
  scope text not null,
  dedup_id text not null,
  message_id uuid not null,
  expires_at timestamp with time zone not null,
  constraint dedup_pkey PRIMARY KEY (scope, dedup_id)
);
CREATE INDEX dedup_expiry ON switchyard.dedup USING btree (expires_at);
CREATE UNIQUE INDEX dedup_pkey ON switchyard.dedup USING btree (scope, dedup_id);

table switchyard.delivery with (autovacuum_vacuum_scale_factor=0.02, autovacuum_vacuum_threshold=1000, autovacuum_vacuum_insert_scale_factor=0.05, fillfactor=50) (
  client_id bigint not null,
  message_id uuid not null,
  enqueued_at timestamp with time zone not null default now(),
  sort_key timestamp with time zone not null,
  visible_at timestamp with time zone not null,
  receive_count integer not null default 0,
  first_received_at timestamp with time zone,
  last_received_at timestamp with time zone,
  lease_owner text,
  lease_seq integer,
  priority smallint not null default 0,
  group_id text,
  expires_at timestamp with time zone,
  last_error text,
  via text,
  constraint delivery_pkey PRIMARY KEY (client_id, message_id)
);
CREATE INDEX delivery_claim ON switchyard.delivery USING btree (client_id, sort_key);
CREATE INDEX delivery_expiry ON switchyard.delivery USING btree (expires_at) WHERE (expires_at IS NOT NULL);
CREATE INDEX delivery_group ON switchyard.delivery USING btree (client_id, group_id, message_id) WHERE (group_id IS NOT NULL);
CREATE INDEX delivery_lease_owner ON switchyard.delivery USING btree (client_id, lease_owner, lease_seq) WHERE (lease_owner IS NOT NULL);
CREATE UNIQUE INDEX delivery_pkey ON switchyard.delivery USING btree (client_id, message_id);

table switchyard.delivery_bucket with (fillfactor=50) (
  client_id bigint not null,
  tokens double precision not null,
  updated_at timestamp with time zone not null,
  constraint delivery_bucket_pkey PRIMARY KEY (client_id)
);
CREATE UNIQUE INDEX delivery_bucket_pkey ON switchyard.delivery_bucket USING btree (client_id);

table switchyard.delivery_pending (
  client_id bigint not null,
  message_id uuid not null,
  due_at timestamp with time zone not null,
  sort_key timestamp with time zone not null,
  priority smallint not null,
  group_id text,
  expires_at timestamp with time zone,
  enqueued_at timestamp with time zone not null default now(),
  via text,
  constraint delivery_pending_pkey PRIMARY KEY (client_id, message_id)
);
CREATE INDEX delivery_pending_due ON switchyard.delivery_pending USING btree (due_at);
CREATE UNIQUE INDEX delivery_pending_pkey ON switchyard.delivery_pending USING btree (client_id, message_id);

table switchyard.delivery_receipt (partitioned) (
  message_id uuid not null,
  client_id bigint not null,
  receive_count integer not null,
  first_received_at timestamp with time zone,
  acked_at timestamp with time zone not null default now(),
  processing_ms integer,
  visibility_ms integer
);
CREATE INDEX delivery_receipt_acked ON ONLY switchyard.delivery_receipt USING btree (acked_at) WHERE (processing_ms IS NOT NULL);
CREATE INDEX delivery_receipt_message ON ONLY switchyard.delivery_receipt USING btree (message_id, client_id);

table switchyard.group_member (
  group_name text not null,
  user_name text not null,
  added_at timestamp with time zone not null default now(),
  constraint group_member_group_name_check CHECK ((group_name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'::text)),
  constraint group_member_pkey PRIMARY KEY (group_name, user_name),
  constraint group_member_user_name_check CHECK ((user_name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'::text))
);
CREATE INDEX group_member_user ON switchyard.group_member USING btree (user_name);
CREATE UNIQUE INDEX group_member_pkey ON switchyard.group_member USING btree (group_name, user_name);

table switchyard.history (partitioned) (
  message_id uuid not null,
  conversation text not null,
  created_at timestamp with time zone not null,
  sender text not null,
  to_address text not null,
  type text,
  payload jsonb not null,
  headers jsonb,
  correlation_id text,
  reply_to text,
  constraint history_pkey PRIMARY KEY (message_id)
);
CREATE INDEX history_conversation ON ONLY switchyard.history USING btree (conversation, message_id);
CREATE UNIQUE INDEX history_pkey ON ONLY switchyard.history USING btree (message_id);

table switchyard.idempotency_key (
  client_id bigint not null,
  key text not null,
  fingerprint bytea not null,
  state text not null,
  message_ids uuid[] not null,
  response_status smallint not null,
  response_body jsonb not null,
  locked_until timestamp with time zone,
  created_at timestamp with time zone not null default now(),
  expires_at timestamp with time zone not null,
  holder text,
  constraint idempotency_key_client_id_fkey FOREIGN KEY (client_id) REFERENCES switchyard.client(id) ON DELETE CASCADE,
  constraint idempotency_key_key_check CHECK (((length(key) >= 1) AND (length(key) <= 255))),
  constraint idempotency_key_pkey PRIMARY KEY (client_id, key),
  constraint idempotency_key_state_check CHECK ((state = ANY (ARRAY['in_progress'::text, 'done'::text])))
);
CREATE INDEX idempotency_key_expiry ON switchyard.idempotency_key USING btree (expires_at);
CREATE UNIQUE INDEX idempotency_key_pkey ON switchyard.idempotency_key USING btree (client_id, key);

table switchyard.message (partitioned) (
  id uuid not null,
  xid xid8 not null default pg_current_xact_id(),
  lane smallint not null,
  created_at timestamp with time zone not null default clock_timestamp(),
  sender_id bigint,
  sender text not null,
  to_address text not null,
  conversation text not null,
  type text,
  payload jsonb not null,
  headers jsonb,
  priority smallint not null default 0,
  deliver_at timestamp with time zone,
  expires_at timestamp with time zone,
  group_id text,
  dedup_id text,
  correlation_id text,
  reply_to text,
  constraint message_pkey PRIMARY KEY (id),
  constraint message_priority_check CHECK (((priority >= 0) AND (priority <= 9))),
  constraint message_to_address_check CHECK (switchyard.is_valid_address(to_address))
);
CREATE INDEX message_correlation ON ONLY switchyard.message USING btree (correlation_id) WHERE (correlation_id IS NOT NULL);
CREATE INDEX message_lane_xid ON ONLY switchyard.message USING btree (lane, xid, id);
CREATE UNIQUE INDEX message_pkey ON ONLY switchyard.message USING btree (id);

table switchyard.message_label (
  message_id uuid not null,
  topic text not null,
  label text not null,
  score real not null,
  model_version integer not null,
  labelled_at timestamp with time zone not null,
  publish_pending boolean not null default false,
  constraint message_label_pkey PRIMARY KEY (message_id)
);
CREATE INDEX message_label_labelled_at ON switchyard.message_label USING btree (labelled_at);
CREATE INDEX message_label_pending ON switchyard.message_label USING btree (labelled_at) WHERE publish_pending;
CREATE UNIQUE INDEX message_label_pkey ON switchyard.message_label USING btree (message_id);

table switchyard.queue_policy (
  client_id bigint not null,
  max_receives integer,
  backoff_base_ms integer,
  backoff_cap_ms integer,
  max_length integer,
  overflow text,
  delivery_rate double precision,
  delivery_burst integer,
  updated_at timestamp with time zone not null default now(),
  constraint queue_policy_backoff_base_ms_check CHECK (((backoff_base_ms >= 0) AND (backoff_base_ms <= 43200000))),
  constraint queue_policy_backoff_cap_ms_check CHECK (((backoff_cap_ms >= 0) AND (backoff_cap_ms <= 43200000))),
  constraint queue_policy_client_id_fkey FOREIGN KEY (client_id) REFERENCES switchyard.client(id) ON DELETE CASCADE,
  constraint queue_policy_delivery_burst_check CHECK ((delivery_burst >= 1)),
  constraint queue_policy_delivery_rate_check CHECK ((delivery_rate > (0)::double precision)),
  constraint queue_policy_max_length_check CHECK ((max_length >= 1)),
  constraint queue_policy_max_receives_check CHECK (((max_receives >= 1) AND (max_receives <= 1000))),
  constraint queue_policy_overflow_check CHECK ((overflow = ANY (ARRAY['reject'::text, 'dead_letter'::text]))),
  constraint queue_policy_pkey PRIMARY KEY (client_id)
);
CREATE UNIQUE INDEX queue_policy_pkey ON switchyard.queue_policy USING btree (client_id);

table switchyard.queue_stat (
  client_id bigint not null,
  depth bigint not null,
  visible bigint not null,
  in_flight bigint not null,
  delayed bigint not null,
  oldest_enqueued_at timestamp with time zone,
  updated_at timestamp with time zone not null,
  constraint queue_stat_pkey PRIMARY KEY (client_id)
);
CREATE UNIQUE INDEX queue_stat_pkey ON switchyard.queue_stat USING btree (client_id);

table switchyard.routing_rule (
  name text not null,
  match jsonb not null,
  to_addresses text[] not null,
  on_addresses text[],
  created_at timestamp with time zone not null default now(),
  updated_at timestamp with time zone not null default now(),
  constraint routing_rule_match_check CHECK ((jsonb_typeof(match) = 'object'::text)),
  constraint routing_rule_name_check CHECK ((name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'::text)),
  constraint routing_rule_on_addresses_check CHECK (((cardinality(on_addresses) >= 1) AND (cardinality(on_addresses) <= 20))),
  constraint routing_rule_pkey PRIMARY KEY (name),
  constraint routing_rule_to_addresses_check CHECK (((cardinality(to_addresses) >= 1) AND (cardinality(to_addresses) <= 20)))
);
CREATE UNIQUE INDEX routing_rule_pkey ON switchyard.routing_rule USING btree (name);

table switchyard.shared_setting (
  key text not null,
  value text not null,
  updated_at timestamp with time zone not null default now(),
  constraint shared_setting_pkey PRIMARY KEY (key)
);
CREATE UNIQUE INDEX shared_setting_pkey ON switchyard.shared_setting USING btree (key);

table switchyard.stage_cursor with (fillfactor=30, autovacuum_vacuum_scale_factor=0, autovacuum_vacuum_threshold=200) (
  stage text not null,
  lane smallint not null,
  prev pg_snapshot not null,
  target pg_snapshot,
  pos_xid xid8,
  pos_id uuid,
  updated_at timestamp with time zone not null default now(),
  constraint stage_cursor_check CHECK ((((target IS NULL) = (pos_xid IS NULL)) AND ((pos_xid IS NULL) = (pos_id IS NULL)))),
  constraint stage_cursor_pkey PRIMARY KEY (stage, lane)
);
CREATE UNIQUE INDEX stage_cursor_pkey ON switchyard.stage_cursor USING btree (stage, lane);

table switchyard.stage_dead_letter (
  stage text not null,
  message_id uuid not null,
  attempts integer not null,
  first_failed_at timestamp with time zone not null,
  failed_at timestamp with time zone not null default now(),
  last_error text not null,
  constraint stage_dead_letter_pkey PRIMARY KEY (stage, message_id)
);
CREATE UNIQUE INDEX stage_dead_letter_pkey ON switchyard.stage_dead_letter USING btree (stage, message_id);

table switchyard.stage_retry (
  stage text not null,
  message_id uuid not null,
  attempts integer not null,
  next_attempt_at timestamp with time zone not null,
  first_failed_at timestamp with time zone not null default now(),
  last_error text not null,
  constraint stage_retry_pkey PRIMARY KEY (stage, message_id)
);
CREATE INDEX stage_retry_due ON switchyard.stage_retry USING btree (stage, next_attempt_at);
CREATE UNIQUE INDEX stage_retry_pkey ON switchyard.stage_retry USING btree (stage, message_id);

table switchyard.subscription (
  address text not null,
  client_id bigint not null,
  created_at timestamp with time zone not null default now(),
  filter jsonb,
  constraint subscription_address_check CHECK (switchyard.is_valid_address(address)),
  constraint subscription_client_id_fkey FOREIGN KEY (client_id) REFERENCES switchyard.client(id) ON DELETE CASCADE,
  constraint subscription_filter_check CHECK (((filter IS NULL) OR (jsonb_typeof(filter) = 'object'::text))),
  constraint subscription_pkey PRIMARY KEY (address, client_id)
);
CREATE INDEX subscription_client ON switchyard.subscription USING btree (client_id);
CREATE INDEX subscription_filtered ON switchyard.subscription USING btree (address) WHERE (filter IS NOT NULL);
CREATE UNIQUE INDEX subscription_pkey ON switchyard.subscription USING btree (address, client_id);

table switchyard.topic_classifier (
  topic text not null,
  json_paths text[],
  threshold real not null default 0.9,
  quiet_labels text[] not null default '{ham}'::text[],
  updated_at timestamp with time zone not null default now(),
  constraint topic_classifier_json_paths_check CHECK (((cardinality(json_paths) >= 1) AND (cardinality(json_paths) <= 16))),
  constraint topic_classifier_pkey PRIMARY KEY (topic),
  constraint topic_classifier_threshold_check CHECK (((threshold >= (0)::double precision) AND (threshold <= (1)::double precision))),
  constraint topic_classifier_topic_check CHECK (((topic ~ '^[A-Za-z0-9][A-Za-z0-9_./-]{0,127}$'::text) AND (topic !~~ 'switchyard.%'::text)))
);
CREATE UNIQUE INDEX topic_classifier_pkey ON switchyard.topic_classifier USING btree (topic);

table switchyard.topic_policy (
  topic text not null,
  action text not null,
  grants text[] not null,
  updated_at timestamp with time zone not null default now(),
  constraint topic_policy_action_check CHECK ((action = ANY (ARRAY['publish'::text, 'subscribe'::text]))),
  constraint topic_policy_grants_check CHECK (switchyard.is_valid_grant_list(grants)),
  constraint topic_policy_pkey PRIMARY KEY (topic, action),
  constraint topic_policy_topic_check CHECK ((topic ~ '^[A-Za-z0-9][A-Za-z0-9_./-]{0,127}$'::text))
);
CREATE UNIQUE INDEX topic_policy_pkey ON switchyard.topic_policy USING btree (topic, action);

table switchyard.topic_schema (
  topic text not null,
  schema jsonb not null,
  updated_at timestamp with time zone not null default now(),
  constraint topic_schema_pkey PRIMARY KEY (topic),
  constraint topic_schema_topic_check CHECK ((topic ~ '^[A-Za-z0-9][A-Za-z0-9_./-]{0,127}$'::text))
);
CREATE UNIQUE INDEX topic_schema_pkey ON switchyard.topic_schema USING btree (topic);

table switchyard.webhook_endpoint (
  client_id bigint not null,
  url text not null,
  secret text not null,
  previous_secret text,
  previous_secret_until timestamp with time zone,
  batch_size integer not null default 1,
  concurrency integer not null default 4,
  timeout_ms integer not null default 10000,
  disabled_at timestamp with time zone,
  disabled_reason text,
  circuit_state text not null default 'closed'::text,
  circuit_changed_at timestamp with time zone,
  last_error text,
  created_at timestamp with time zone not null default now(),
  updated_at timestamp with time zone not null default now(),
  constraint webhook_endpoint_batch_size_check CHECK (((batch_size >= 1) AND (batch_size <= 100))),
  constraint webhook_endpoint_circuit_state_check CHECK ((circuit_state = ANY (ARRAY['closed'::text, 'open'::text, 'half_open'::text]))),
  constraint webhook_endpoint_client_id_fkey FOREIGN KEY (client_id) REFERENCES switchyard.client(id) ON DELETE CASCADE,
  constraint webhook_endpoint_concurrency_check CHECK (((concurrency >= 1) AND (concurrency <= 32))),
  constraint webhook_endpoint_pkey PRIMARY KEY (client_id),
  constraint webhook_endpoint_timeout_ms_check CHECK (((timeout_ms >= 100) AND (timeout_ms <= 60000))),
  constraint webhook_endpoint_url_check CHECK ((url ~ '^https?://'::text))
);
CREATE UNIQUE INDEX webhook_endpoint_pkey ON switchyard.webhook_endpoint USING btree (client_id);

view switchyard.anomalies as
 SELECT id,
    series_kind,
    series_key,
    window_start,
    window_end,
    observed,
    band_low,
    band_high,
    direction,
    severity,
    state
   FROM switchyard.anomaly;

view switchyard.dead_letters as
 SELECT d.client_id,
    c.name AS client_name,
    d.message_id,
    d.reason,
    d.receive_count,
    d.first_received_at,
    d.last_received_at,
    d.last_error,
    d.enqueued_at,
    d.dead_at,
    d.priority,
    d.group_id,
    m.sender,
    m.to_address,
    m.type,
    m.payload,
    m.headers,
    m.created_at AS sent_at,
    m.correlation_id,
    m.reply_to
   FROM switchyard.dead_letter d
     JOIN switchyard.client c ON c.id = d.client_id
     LEFT JOIN switchyard.message m ON m.id = d.message_id;

view switchyard.delivery_receipts as
 SELECT x.message_id,
    x.client_id,
    c.name AS client_name,
    x.state,
    x.receive_count,
    x.first_received_at,
    x.last_received_at,
    x.acked_at,
    x.dead_at,
    switchyard.uuid_time(x.message_id) AS sent_at,
    COALESCE(h.sender, m.sender) AS sender,
    COALESCE(h.to_address, m.to_address) AS to_address,
    COALESCE(h.type, m.type) AS type
   FROM ( SELECT r.message_id,
            r.client_id,
            'acked'::text AS state,
            r.receive_count,
            r.first_received_at,
            NULL::timestamp with time zone AS last_received_at,
            r.acked_at,
            NULL::timestamp with time zone AS dead_at
           FROM switchyard.delivery_receipt r
        UNION ALL
         SELECT d.message_id,
            d.client_id,
                CASE
                    WHEN d.visible_at <= now() THEN 'pending'::text
                    WHEN d.receive_count = 0 THEN 'delayed'::text
                    ELSE 'in_flight'::text
                END AS "case",
            d.receive_count,
            d.first_received_at,
            d.last_received_at,
            NULL::timestamp with time zone,
            NULL::timestamp with time zone
           FROM switchyard.delivery d
        UNION ALL
         SELECT dl.message_id,
            dl.client_id,
            'dead_lettered'::text,
            dl.receive_count,
            dl.first_received_at,
            dl.last_received_at,
            NULL::timestamp with time zone,
            dl.dead_at
           FROM switchyard.dead_letter dl) x
     JOIN switchyard.client c ON c.id = x.client_id
     LEFT JOIN switchyard.history h ON h.message_id = x.message_id
     LEFT JOIN switchyard.message m ON m.id = x.message_id;

view switchyard.processing_time as
 SELECT s.client_id,
    c.name AS client_name,
    s.acked,
    s.p50_ms,
    s.p95_ms,
    s.p99_ms,
    s.avg_ms,
    s.visibility_ms,
    s.p99_ms > (0.5::double precision * s.visibility_ms) AS at_risk,
    GREATEST(1::double precision, ceil(6::double precision * s.avg_ms / 1000::double precision))::integer AS recommended_visibility_seconds
   FROM ( SELECT r.client_id,
            count(*) AS acked,
            percentile_cont(0.5::double precision) WITHIN GROUP (ORDER BY (r.processing_ms::double precision)) AS p50_ms,
            percentile_cont(0.95::double precision) WITHIN GROUP (ORDER BY (r.processing_ms::double precision)) AS p95_ms,
            percentile_cont(0.99::double precision) WITHIN GROUP (ORDER BY (r.processing_ms::double precision)) AS p99_ms,
            avg(r.processing_ms)::double precision AS avg_ms,
            avg(r.visibility_ms)::double precision AS visibility_ms
           FROM switchyard.delivery_receipt r
          WHERE r.processing_ms IS NOT NULL AND r.acked_at > (now() - '00:05:00'::interval)
          GROUP BY r.client_id) s
     JOIN switchyard.client c ON c.id = s.client_id;

view switchyard.queue_overview as
 SELECT c.id AS client_id,
    c.name AS client_name,
    COALESCE(q.depth, 0::bigint) AS depth,
    COALESCE(q.visible, 0::bigint) AS visible,
    COALESCE(q.in_flight, 0::bigint) AS in_flight,
    COALESCE(q.delayed, 0::bigint) AS delayed,
    q.oldest_enqueued_at,
    COALESCE(EXTRACT(epoch FROM now() - q.oldest_enqueued_at), 0::numeric)::double precision AS oldest_age_seconds,
    ( SELECT count(*) AS count
           FROM switchyard.dead_letter d
          WHERE d.client_id = c.id) AS dead_letters,
    q.updated_at AS counted_at
   FROM switchyard.client c
     LEFT JOIN switchyard.queue_stat q ON q.client_id = c.id
  WHERE c.revoked_at IS NULL;

view switchyard.stage_overview as
 SELECT stage,
    lag_seconds,
    oldest_pending_at,
    rows_behind,
    rows_capped,
    ( SELECT count(*) AS count
           FROM switchyard.stage_retry r
          WHERE r.stage = l.stage) AS retrying,
    ( SELECT count(*) AS count
           FROM switchyard.stage_dead_letter d
          WHERE d.stage = l.stage) AS dead_letters,
    ( SELECT max(c.updated_at) AS max
           FROM switchyard.stage_cursor c
          WHERE c.stage = l.stage) AS last_advanced_at
   FROM switchyard.stage_lag(10000) l(stage, oldest_pending_at, lag_seconds, rows_behind, rows_capped);

view switchyard.subscriptions as
 SELECT s.client_id,
    c.name AS client_name,
    s.address,
    s.filter,
    s.created_at
   FROM switchyard.subscription s
     JOIN switchyard.client c ON c.id = s.client_id
  WHERE c.revoked_at IS NULL;

view switchyard.top_publishers as
 SELECT sender,
    sum(published) FILTER (WHERE hour >= date_trunc('hour'::text, now(), 'UTC'::text)) AS published_this_hour,
    sum(published) AS published_24h,
    sum(payload_bytes) AS payload_bytes_24h,
    max(hour) AS last_active_hour
   FROM switchyard.analytics_sender_hour s
  WHERE hour >= (date_trunc('hour'::text, now(), 'UTC'::text) - '23:00:00'::interval)
  GROUP BY sender
  ORDER BY (sum(published)) DESC, sender;

view switchyard.webhook_endpoints as
 SELECT w.client_id,
    c.name AS client_name,
    w.url,
    w.batch_size,
    w.concurrency,
    w.timeout_ms,
    w.disabled_at IS NULL AS enabled,
    w.disabled_at,
    w.disabled_reason,
    w.circuit_state,
    w.circuit_changed_at,
    w.last_error,
    w.previous_secret_until > now() AS rotating
   FROM switchyard.webhook_endpoint w
     JOIN switchyard.client c ON c.id = w.client_id;

CREATE OR REPLACE FUNCTION switchyard.add_buckets(a bigint[], b bigint[])
 RETURNS bigint[]
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
 SET search_path TO 'pg_catalog', 'switchyard', 'pg_temp'
AS $function$
  select array_agg(x + y order by i) from unnest(a, b) with ordinality as t(x, y, i)
$function$;

CREATE OR REPLACE FUNCTION switchyard.append_messages(messages json, dedup_window_seconds integer)
 RETURNS TABLE(requested uuid, first_id uuid)
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'switchyard', 'pg_temp'
 SET plan_cache_mode TO 'force_generic_plan'
AS $function$
declare
  repeats uuid[];
  firsts uuid[];
  scopes text[];
  keys text[];
begin
  with input as (
    -- row_number() over the function scan numbers the rows in array order: the first wins a repeat
    select r.*, row_number() over () as ord
    from json_to_recordset(messages) as r(id uuid, sender_id bigint, sender text, to_address text, type text,
      payload jsonb, headers jsonb, priority smallint, delay_seconds integer, deliver_at timestamptz,
      ttl_seconds integer, group_id text, dedup_id text, correlation_id text, reply_to text)
  ),
  batch_first as (
    select distinct on (sender, dedup_id) id, sender, dedup_id
    from input where dedup_id is not null
    order by sender, dedup_id, ord
  ),
  claimed as (
    insert into switchyard.dedup as d (scope, dedup_id, message_id, expires_at)
    select f.sender, f.dedup_id, f.id, clock_timestamp() + make_interval(secs => dedup_window_seconds)
    from batch_first f
    on conflict (scope, dedup_id) do update
      set message_id = excluded.message_id, expires_at = excluded.expires_at
      where d.expires_at < clock_timestamp()
    returning d.message_id
  ),
  inserted as (
    insert into switchyard.message (id, lane, sender_id, sender, to_address, conversation, type, payload, headers,
                                    priority, deliver_at, expires_at, group_id, dedup_id, correlation_id, reply_to)
    select r.id, switchyard.lane_of(c.conversation), r.sender_id, r.sender, r.to_address, c.conversation, r.type,
           coalesce(r.payload, 'null'::jsonb), r.headers, r.priority,
           coalesce(r.deliver_at, case when r.delay_seconds > 0 then clock_timestamp() + make_interval(secs => r.delay_seconds) end),
           case when r.ttl_seconds is not null then clock_timestamp() + make_interval(secs => r.ttl_seconds) end,
           r.group_id, r.dedup_id, r.correlation_id, r.reply_to
    from input r
    cross join lateral (select switchyard.conversation_of(r.sender, r.to_address) as conversation) c
    where r.dedup_id is null or r.id in (select message_id from claimed)
  ),
  resolved as (
    -- a null first: a concurrent publisher committed the same key while this statement ran
    select r.id, r.sender, r.dedup_id,
           case when f.id in (select message_id from claimed) then f.id else d.message_id end as first
    from input r
    join batch_first f on f.sender = r.sender and f.dedup_id = r.dedup_id
    left join switchyard.dedup d on d.scope = r.sender and d.dedup_id = r.dedup_id
  )
  select array_agg(id), array_agg(first), array_agg(sender), array_agg(dedup_id)
  into repeats, firsts, scopes, keys
  from resolved
  where first is distinct from id;

  -- This statement's snapshot sees what a concurrent publisher committed meanwhile.
  return query
  select x.requested, coalesce(x.first_id, (select d.message_id from switchyard.dedup d where d.scope = x.scope and d.dedup_id = x.key), x.requested)
  from unnest(repeats, firsts, scopes, keys) as x(requested, first_id, scope, key);
end
$function$;

CREATE OR REPLACE FUNCTION switchyard.bump_routing_rules_version()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'switchyard', 'pg_temp'
AS $function$
begin
  update switchyard.shared_setting set value = (value::bigint + 1)::text, updated_at = now() where key = 'routing_rules_version';
  return null;
end
$function$;

CREATE OR REPLACE FUNCTION switchyard.bury_deliveries(p_rows switchyard.burial[], p_reason text)
 RETURNS TABLE(client_id bigint, message_id uuid)
 LANGUAGE sql
 SET search_path TO 'pg_catalog'
AS $function$
  insert into switchyard.dead_letter as dl (client_id, message_id, reason, receive_count, first_received_at,
                                            last_received_at, last_error, enqueued_at, priority, group_id)
  select r.client_id, r.message_id, p_reason, r.receive_count, r.first_received_at, r.last_received_at, r.last_error,
         r.enqueued_at, r.priority, r.group_id
  from unnest(p_rows) r
  on conflict (client_id, message_id) do nothing
  returning dl.client_id, dl.message_id
$function$;

CREATE OR REPLACE FUNCTION switchyard.claim_deliveries(p_client_id bigint, p_max integer, p_visibility_seconds integer, p_max_receives integer, p_owner text, p_seq_before integer, p_prefetch integer, p_auto_ack boolean, p_now timestamp with time zone)
 RETURNS TABLE(outcome text, id uuid, receive_count integer, lease_seq integer, sender text, to_address text, type text, payload jsonb, headers jsonb, priority smallint, created_ms double precision, group_id text, correlation_id text, reply_to text, via text, place integer)
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog'
 SET plan_cache_mode TO 'force_generic_plan'
 SET enable_seqscan TO 'off'
AS $function$
#variable_conflict use_column
declare
  now_ timestamptz := coalesce(p_now, now());
  max_receives_ int;
  rate_ float8;
  burst_ float8;
  tokens_ float8;
  has_bucket boolean := false;
  ids uuid[];           -- to hand out, in claim order: a row's position is its place (the event number)
  expired_ids uuid[];
  exhausted_ids uuid[];
begin
  select p.max_receives, p.delivery_rate, coalesce(p.delivery_burst, greatest(1, ceil(p.delivery_rate)))::float8
    into max_receives_, rate_, burst_
    from switchyard.queue_policy p where p.client_id = p_client_id;
  max_receives_ := coalesce(max_receives_, p_max_receives);
  if rate_ is not null then
    -- only clients with a delivery rate have a bucket; it refills continuously up to its burst
    select least(burst_, b.tokens + rate_ * extract(epoch from now_ - b.updated_at)) into tokens_
      from switchyard.delivery_bucket b where b.client_id = p_client_id for update;
    has_bucket := found;
  end if;

  -- The claim: lock the candidates and sort them into what to hand out, what expired and what has
  -- been received max_receives times already.
  select coalesce(array_agg(c.message_id order by c.sort_key, c.message_id)
                    filter (where not c.expired and c.receive_count < max_receives_), '{}'),
         coalesce(array_agg(c.message_id order by c.message_id) filter (where c.expired), '{}'),
         coalesce(array_agg(c.message_id order by c.message_id)
                    filter (where not c.expired and c.receive_count >= max_receives_), '{}')
    into ids, expired_ids, exhausted_ids
    from (
      select d.message_id, d.sort_key, d.receive_count, coalesce(d.expires_at <= now_, false) as expired
      from switchyard.delivery d
      where d.client_id = p_client_id and d.visible_at <= now_
        and (d.group_id is null or not exists (
              select 1 from switchyard.delivery e
              where e.client_id = d.client_id and e.group_id = d.group_id and e.message_id < d.message_id))
      order by d.sort_key
      limit greatest(0, least(p_max,
        case when p_owner is null then p_max
             else p_prefetch - (select count(*)::int from switchyard.delivery f
                                where f.client_id = p_client_id and f.lease_owner = p_owner and f.visible_at > now_) end,
        coalesce(floor(tokens_)::int, p_max)))
      for update of d skip locked) c;

  if cardinality(expired_ids) > 0 then
    delete from switchyard.delivery d where d.client_id = p_client_id and d.message_id = any(expired_ids);
  end if;

  if cardinality(exhausted_ids) > 0 then
    return query
      with exhausted as (
        delete from switchyard.delivery d
        where d.client_id = p_client_id and d.message_id = any(exhausted_ids)
        returning d.*
      ),
      buried as (
        select b.message_id from switchyard.bury_deliveries(array(
          select row(x.client_id, x.message_id, x.receive_count, x.first_received_at, x.last_received_at, x.last_error,
                     x.enqueued_at, x.priority, x.group_id)::switchyard.burial
          from exhausted x), 'max_receives') b
      )
      select 'dead_lettered'::text, m.id, 0, null::int, m.sender, m.to_address, null::text, null::jsonb, null::jsonb, m.priority,
             floor(extract(epoch from m.created_at) * 1000)::float8, null::text, null::text, null::text, null::text, null::int
      from buried cross join lateral (
        select m.id, m.sender, m.to_address, m.priority, m.created_at from switchyard.message m where m.id = buried.message_id) m
      order by m.id;
  end if;

  if cardinality(ids) > 0 and p_auto_ack then
    return query
      with acked as (
        delete from switchyard.delivery d
        where d.client_id = p_client_id and d.message_id = any(ids)
        returning d.message_id, d.receive_count + 1 as receive_count, p_seq_before + array_position(ids, d.message_id) as lease_seq,
                  array_position(ids, d.message_id) as place, d.client_id, coalesce(d.first_received_at, now_) as first_received_at, d.via
      ),
      receipts as (
        insert into switchyard.delivery_receipt (message_id, client_id, receive_count, first_received_at, acked_at)
        select a.message_id, a.client_id, a.receive_count, a.first_received_at, now_ from acked a
      )
      select 'delivered'::text, a.message_id, a.receive_count, a.lease_seq, m.sender, m.to_address, m.type, m.payload, m.headers,
             m.priority, m.created_ms, m.group_id, m.correlation_id, m.reply_to, a.via, a.place
      from acked a cross join lateral (
        select m.sender, m.to_address, m.type, m.payload, m.headers, m.priority,
               floor(extract(epoch from m.created_at) * 1000)::float8 as created_ms, m.group_id, m.correlation_id, m.reply_to
        from switchyard.message m where m.id = a.message_id) m
      order by a.place;
  elsif cardinality(ids) > 0 and not p_auto_ack then
    return query
      with leased as (
        update switchyard.delivery d
        set visible_at = now_ + make_interval(secs => p_visibility_seconds),
            receive_count = d.receive_count + 1,
            first_received_at = coalesce(d.first_received_at, now_),
            last_received_at = now_,
            lease_owner = p_owner,
            lease_seq = case when p_owner is null then null else p_seq_before + array_position(ids, d.message_id) end
        where d.client_id = p_client_id and d.message_id = any(ids)
        returning d.message_id, d.receive_count, d.lease_seq, array_position(ids, d.message_id) as place, d.via
      )
      select 'delivered'::text, l.message_id, l.receive_count, l.lease_seq, m.sender, m.to_address, m.type, m.payload, m.headers,
             m.priority, m.created_ms, m.group_id, m.correlation_id, m.reply_to, l.via, l.place
      from leased l cross join lateral (
        select m.sender, m.to_address, m.type, m.payload, m.headers, m.priority,
               floor(extract(epoch from m.created_at) * 1000)::float8 as created_ms, m.group_id, m.correlation_id, m.reply_to
        from switchyard.message m where m.id = l.message_id) m
      order by l.place;
  end if;

  if has_bucket then
    update switchyard.delivery_bucket b set tokens = tokens_ - cardinality(ids), updated_at = now_
    where b.client_id = p_client_id;
  end if;

  if cardinality(expired_ids) > 0 then
    return query
      select 'expired'::text, m.id, 0, null::int, m.sender, m.to_address, null::text, null::jsonb, null::jsonb, m.priority,
             floor(extract(epoch from m.created_at) * 1000)::float8, null::text, null::text, null::text, null::text, null::int
      from unnest(expired_ids) x(message_id) cross join lateral (
        select m.id, m.sender, m.to_address, m.priority, m.created_at from switchyard.message m where m.id = x.message_id) m
      order by m.id;
  end if;
end
$function$;

CREATE OR REPLACE FUNCTION switchyard.claim_deliveries_for_clients(p_client_ids bigint[], p_max integer[], p_visibility_seconds integer[], p_max_receives integer[], p_owners text[], p_seq_before integer[], p_prefetch integer[], p_auto_ack boolean[], p_now timestamp with time zone)
 RETURNS TABLE(k integer, outcome text, id uuid, receive_count integer, lease_seq integer, sender text, to_address text, type text, payload jsonb, headers jsonb, priority smallint, created_ms double precision, group_id text, correlation_id text, reply_to text, via text, place integer)
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog'
 SET plan_cache_mode TO 'force_generic_plan'
 SET enable_seqscan TO 'off'
AS $function$
#variable_conflict use_column
declare
  now_ timestamptz := coalesce(p_now, now());
begin
  if cardinality(p_client_ids) <> (select count(distinct c) from unnest(p_client_ids) c) then
    raise exception 'claim_deliveries_for_clients: each client may appear once per call' using errcode = '22023';
  end if;
  return query
    with req as (
      select r.k::int as k, r.client_id, r.max, r.visibility_seconds, r.max_receives, r.owner, r.seq_before,
             r.prefetch, r.auto_ack
      from unnest(p_client_ids, p_max, p_visibility_seconds, p_max_receives, p_owners, p_seq_before, p_prefetch, p_auto_ack)
           with ordinality as r(client_id, max, visibility_seconds, max_receives, owner, seq_before, prefetch, auto_ack, k)
    ),
    policy as (
      select q.k, coalesce(p.max_receives, q.max_receives) as max_receives, p.delivery_rate as rate,
             coalesce(p.delivery_burst, greatest(1, ceil(p.delivery_rate)))::float8 as burst
      from req q left join switchyard.queue_policy p on p.client_id = q.client_id
    ),
    bucket as (
      select b.client_id, least(pol.burst, b.tokens + pol.rate * extract(epoch from now_ - b.updated_at)) as tokens
      from switchyard.delivery_bucket b
      join req q on q.client_id = b.client_id
      join policy pol on pol.k = q.k
      where pol.rate is not null
      for update of b
    ),
    quota as (
      select q.k, q.client_id,
             greatest(0, least(q.max,
               case when q.owner is null then q.max
                    else q.prefetch - (select count(*)::int from switchyard.delivery f
                                       where f.client_id = q.client_id and f.lease_owner = q.owner and f.visible_at > now_) end,
               coalesce(floor(bk.tokens)::int, q.max))) as n
      from req q left join bucket bk on bk.client_id = q.client_id
    ),
    candidates as (
      select q.k, c.*
      from quota q cross join lateral (
        select d.ctid as tid, d.client_id, d.message_id, d.sort_key, d.receive_count, d.expires_at
        from switchyard.delivery d
        where d.client_id = q.client_id and d.visible_at <= now_
          and (d.group_id is null or not exists (
                select 1 from switchyard.delivery e
                where e.client_id = d.client_id and e.group_id = d.group_id and e.message_id < d.message_id))
        order by d.sort_key
        limit q.n
        for update of d skip locked) c
    ),
    expired as (
      delete from switchyard.delivery d
      where d.ctid = any(array(select c.tid from candidates c where c.expires_at <= now_))
      returning d.client_id, d.message_id
    ),
    exhausted as (
      delete from switchyard.delivery d
      where d.ctid = any(array(
              select c.tid from candidates c join policy pol on pol.k = c.k
              where (c.expires_at is null or c.expires_at > now_) and c.receive_count >= pol.max_receives))
      returning d.*
    ),
    buried as (
      select b.client_id, b.message_id from switchyard.bury_deliveries(array(
        select row(x.client_id, x.message_id, x.receive_count, x.first_received_at, x.last_received_at, x.last_error,
                   x.enqueued_at, x.priority, x.group_id)::switchyard.burial
        from exhausted x), 'max_receives') b
    ),
    deliverable as (
      -- the rows to hand out, each with its place in its request's claim order (the event number)
      select c.k, c.tid, c.message_id, row_number() over (partition by c.k order by c.sort_key, c.message_id)::int as place,
             q.owner, q.seq_before, q.visibility_seconds, q.auto_ack
      from candidates c join policy pol on pol.k = c.k join req q on q.k = c.k
      where (c.expires_at is null or c.expires_at > now_) and c.receive_count < pol.max_receives
    ),
    leased as (
      update switchyard.delivery d
      set visible_at = now_ + make_interval(secs => n.visibility_seconds),
          receive_count = d.receive_count + 1,
          first_received_at = coalesce(d.first_received_at, now_),
          last_received_at = now_,
          lease_owner = n.owner,
          lease_seq = case when n.owner is null then null else n.seq_before + n.place end
      from deliverable n
      where d.ctid = any(array(select l.tid from deliverable l where not l.auto_ack)) and d.ctid = n.tid
      returning n.k, d.message_id, d.receive_count, d.lease_seq, n.place, d.via
    ),
    acked as (
      delete from switchyard.delivery d
      using deliverable n
      where d.ctid = any(array(select a.tid from deliverable a where a.auto_ack)) and d.ctid = n.tid
      returning n.k, d.message_id, d.receive_count + 1 as receive_count, n.seq_before + n.place as lease_seq, n.place,
                d.client_id, coalesce(d.first_received_at, now_) as first_received_at, d.via
    ),
    auto_receipts as (
      insert into switchyard.delivery_receipt (message_id, client_id, receive_count, first_received_at, acked_at)
      select a.message_id, a.client_id, a.receive_count, a.first_received_at, now_ from acked a
    ),
    done as (
      select l.k, l.message_id, l.receive_count, l.lease_seq, l.place, l.via from leased l
      union all
      select a.k, a.message_id, a.receive_count, a.lease_seq, a.place, a.via from acked a
    ),
    spend as (
      update switchyard.delivery_bucket b
      set tokens = bk.tokens - (select count(*) from done join req q on q.k = done.k where q.client_id = bk.client_id),
          updated_at = now_
      from bucket bk
      where b.client_id = bk.client_id
    ),
    gone as (
      select q.k, 'expired'::text as outcome, x.message_id from expired x join req q on q.client_id = x.client_id
      union all
      select q.k, 'dead_lettered', x.message_id from buried x join req q on q.client_id = x.client_id
    )
    select done.k, 'delivered'::text, done.message_id, done.receive_count, done.lease_seq, m.sender, m.to_address,
           m.type, m.payload, m.headers, m.priority, m.created_ms, m.group_id, m.correlation_id, m.reply_to, done.via,
           done.place
    from done cross join lateral (
      select m.sender, m.to_address, m.type, m.payload, m.headers, m.priority,
             floor(extract(epoch from m.created_at) * 1000)::float8 as created_ms, m.group_id, m.correlation_id, m.reply_to
      from switchyard.message m where m.id = done.message_id) m
    union all
    select gone.k, gone.outcome, gone.message_id, 0, null, m.sender, m.to_address, null, null, null, m.priority,
           m.created_ms, null, null, null, null, null
    from gone cross join lateral (
      select m.sender, m.to_address, m.priority, floor(extract(epoch from m.created_at) * 1000)::float8 as created_ms
      from switchyard.message m where m.id = gone.message_id) m
    order by 1, 2, 17, 3;
end
$function$;

CREATE OR REPLACE FUNCTION switchyard.claim_lanes(p_stage text, p_max_lanes integer, p_lanes smallint[] DEFAULT NULL::smallint[])
 RETURNS smallint[]
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog'
 SET plan_cache_mode TO 'force_generic_plan'
 SET enable_seqscan TO 'off'
AS $function$
declare
  lanes smallint[];
begin
  select coalesce(array_agg(claimed.lane), '{}') into lanes from (
    select c.lane
    from switchyard.stage_cursor c
    where c.stage = p_stage
      and (c.target is not null
           or ((p_lanes is null or c.lane = any (p_lanes))
               and (exists (select 1 from switchyard.message m
                            where m.lane = c.lane and m.xid >= pg_snapshot_xmax(c.prev))
                    or exists (select 1 from switchyard.message m
                               where m.lane = c.lane and m.xid = any (array(select pg_snapshot_xip(c.prev)))))))
    order by c.updated_at
    limit p_max_lanes
    for update of c skip locked) claimed;
  return lanes;
end
$function$;

CREATE OR REPLACE FUNCTION switchyard.conversation_of(sender text, to_address text)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN (to_address ~~ 'user:%'::text) THEN ((('dm:'::text || LEAST(sender, to_address)) || '|'::text) || GREATEST(sender, to_address)) ELSE to_address END;

CREATE OR REPLACE FUNCTION switchyard.count_messages(p_ids uuid[])
 RETURNS void
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog'
 SET enable_seqscan TO 'off'
AS $function$
begin
  insert into switchyard.analytics_minute (minute, address, published, payload_bytes)
  select date_trunc('minute', m.created_at),
         case when m.to_address like 'user:%' then 'user:*' else m.to_address end,
         count(*), sum(pg_column_size(m.payload))
  from switchyard.message m
  where m.id = any (p_ids)
  group by 1, 2
  order by 1, 2
  on conflict (minute, address) do update
    set published = analytics_minute.published + excluded.published,
        payload_bytes = analytics_minute.payload_bytes + excluded.payload_bytes;

  with counted as (
    select date_trunc('minute', m.created_at) as minute, m.sender, count(*) as published,
           sum(pg_column_size(m.payload)) as payload_bytes
    from switchyard.message m
    where m.id = any (p_ids)
    group by 1, 2
  ),
  minutes as (
    insert into switchyard.analytics_sender_minute (minute, sender, published, payload_bytes)
    select c.minute, c.sender, c.published, c.payload_bytes from counted c
    order by 1, 2
    on conflict (minute, sender) do update
      set published = analytics_sender_minute.published + excluded.published,
          payload_bytes = analytics_sender_minute.payload_bytes + excluded.payload_bytes
  )
  insert into switchyard.analytics_sender_hour (hour, sender, published, payload_bytes)
  select date_trunc('hour', c.minute, 'UTC'), c.sender, sum(c.published), sum(c.payload_bytes)
  from counted c
  group by 1, 2
  order by 1, 2
  on conflict (hour, sender) do update
    set published = analytics_sender_hour.published + excluded.published,
        payload_bytes = analytics_sender_hour.payload_bytes + excluded.payload_bytes;
end
$function$;

CREATE OR REPLACE FUNCTION switchyard.create_partitions(parent text, until timestamp with time zone)
 RETURNS integer
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'switchyard', 'pg_temp'
AS $function$
declare
  unit text;
  period interval;
  at timestamptz;
  created integer := 0;
  name text;
begin
  case parent
    when 'message' then unit := 'day'; period := interval '1 day';
    when 'history', 'delivery_receipt' then unit := 'month'; period := interval '1 month';
    else raise exception 'no partitioning rule for table %', parent;
  end case;
  perform pg_advisory_xact_lock(hashtext('switchyard.create_partitions'));
  at := date_trunc(unit, now(), 'UTC') - period;
  while at <= until loop
    name := parent || '_p' || to_char(at at time zone 'UTC', case unit when 'day' then 'YYYYMMDD' else 'YYYYMM' end);
    if to_regclass('switchyard.' || name) is null then
      execute format('create table switchyard.%I partition of switchyard.%I for values from (%L) to (%L)',
                     name, parent, switchyard.uuid_floor(at), switchyard.uuid_floor(at + period));
      created := created + 1;
    end if;
    at := at + period;
  end loop;
  return created;
end
$function$;

CREATE OR REPLACE FUNCTION switchyard.dead_letter_matches(client_id bigint, last_error text, dead_at timestamp with time zone, want_client_id bigint, error_like text, since timestamp with time zone, until timestamp with time zone)
 RETURNS boolean
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
RETURN (((want_client_id IS NULL) OR (client_id = want_client_id)) AND ((error_like IS NULL) OR (last_error ~~* (('%'::text || error_like) || '%'::text))) AND ((since IS NULL) OR (dead_at >= since)) AND ((until IS NULL) OR (dead_at < until)));

CREATE OR REPLACE FUNCTION switchyard.delete_routing_rule(name text)
 RETURNS boolean
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'switchyard', 'pg_temp'
AS $function$
declare
  deleted boolean;
begin
  delete from switchyard.routing_rule r where r.name = delete_routing_rule.name;
  deleted := found;
  perform pg_notify('switchyard_config', 'sql|routing-rules');
  return deleted;
end
$function$;

CREATE OR REPLACE FUNCTION switchyard.idempotency_holder_gone(holder text)
 RETURNS boolean
 LANGUAGE sql
 STABLE
 SET search_path TO 'pg_catalog'
AS $function$
  select holder is not null and not exists (
    select 1 from pg_stat_activity where application_name = 'switchyard:listen:' || holder)
$function$;

CREATE OR REPLACE FUNCTION switchyard.insert_deliveries(p_ids uuid[], p_to_addresses text[], p_priorities smallint[], p_deliver_ats timestamp with time zone[], p_created_ats timestamp with time zone[], p_group_ids text[], p_expires_ats timestamp with time zone[], p_aging_ms double precision, p_full_clients bigint[], p_horizon_seconds integer, p_max_named integer, p_add_entries bigint[] DEFAULT NULL::bigint[], p_add_addresses text[] DEFAULT NULL::text[], p_add_vias text[] DEFAULT NULL::text[], p_pick_clients bigint[] DEFAULT NULL::bigint[], p_pick_entries bigint[] DEFAULT NULL::bigint[], p_pick_vias text[] DEFAULT NULL::text[])
 RETURNS TABLE(kind text, client_id bigint, n integer)
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog'
 SET plan_cache_mode TO 'force_generic_plan'
 SET enable_seqscan TO 'off'
AS $function$
#variable_conflict use_column
declare
  content boolean := p_add_entries is not null or p_pick_clients is not null;
  -- rules add addresses: a (client, message) pair may come twice, so keep the first
  keep_first boolean := coalesce(cardinality(p_add_entries), 0) > 0;
  copy constant text := $copy$
             greatest(m.deliver_at, m.created_at) - make_interval(secs => m.priority * $8 / 1000) as sort_key,
             greatest(m.deliver_at, now()) as visible_at, m.priority, m.group_id, m.expires_at,
             %1$s = any($9) and m.to_address not like 'user:%%' as overflow,
             m.deliver_at > now() + make_interval(secs => $10) as pending$copy$;
  recipients text;
begin
  if not content then
    -- The plain shape as a static statement: PL/pgSQL prepares it once per connection and, after a
    -- few calls, keeps a generic plan. The rules are the content shape's below, with the message's
    -- own subscribers as the only recipients (held equal by test/routing/fan-out-shapes.test.ts).
    return query
    with m as (
      select *
      from unnest(p_ids, p_to_addresses, p_priorities, p_deliver_ats, p_created_ats, p_group_ids, p_expires_ats)
           as m(id, to_address, priority, deliver_at, created_at, group_id, expires_at)
    ),
    r as (
      select s.client_id, m.id as message_id, null::text as via,
             greatest(m.deliver_at, m.created_at) - make_interval(secs => m.priority * p_aging_ms / 1000) as sort_key,
             greatest(m.deliver_at, now()) as visible_at, m.priority, m.group_id, m.expires_at,
             s.client_id = any(p_full_clients) and m.to_address not like 'user:%' as overflow,
             m.deliver_at > now() + make_interval(secs => p_horizon_seconds) as pending
      from m
      join switchyard.subscription s on s.address = m.to_address and s.filter is null
    ),
    inserted as (
      insert into switchyard.delivery (client_id, message_id, sort_key, visible_at, priority, group_id, expires_at, via)
      select r.client_id, r.message_id, r.sort_key, r.visible_at, r.priority, r.group_id, r.expires_at, r.via
      from r where not r.overflow and r.pending is not true
      on conflict (client_id, message_id) do nothing
      returning delivery.client_id
    ),
    postponed as (
      insert into switchyard.delivery_pending (client_id, message_id, due_at, sort_key, priority, group_id, expires_at, via)
      select r.client_id, r.message_id, r.visible_at, r.sort_key, r.priority, r.group_id, r.expires_at, r.via
      from r where not r.overflow and r.pending
      on conflict (client_id, message_id) do nothing
    ),
    overflowed as (
      select b.client_id from switchyard.bury_deliveries(array(
        select row(r.client_id, r.message_id, 0, null, null, 'the queue was full (overflow policy reject): this copy was not enqueued',
                   now(), r.priority, r.group_id)::switchyard.burial
        from r where r.overflow), 'overflow') b
    )
    (select 'delivered'::text, d.client_id, 1 from (select distinct i.client_id from inserted i limit p_max_named + 1) d)
    union all
    (select 'overflow'::text, o.client_id, count(*)::int from overflowed o group by o.client_id);
    return;
  end if;
  -- With content routes: the statement is put together from the parts the batch needs.
  recipients := format($content$
    select %s p.client_id, m.id as message_id, p.via, %s
    from (
      select s.client_id, m.entry, null::text as via
      from m join switchyard.subscription s on s.address = m.to_address and s.filter is null
      union all
      select s.client_id, r.entry, r.via
      from unnest($12, $13, $14) as r(entry, address, via)
      join switchyard.subscription s on s.address = r.address and s.filter is null
      union all
      select x.client_id, x.entry, x.via
      from unnest($15, $16, $17) as x(client_id, entry, via)
    ) p
    join m on m.entry = p.entry
    %s$content$,
    case when keep_first then 'distinct on (p.client_id, m.id)' else '' end,
    format(copy, 'p.client_id'),
    case when keep_first then 'order by p.client_id, m.id, p.via nulls first' else '' end);
  return query execute format($statement$
    with m as (
      select *
      from unnest($1, $2, $3, $4, $5, $6, $7)
           with ordinality as m(id, to_address, priority, deliver_at, created_at, group_id, expires_at, entry)
    ),
    r as (%s),
    inserted as (
      insert into switchyard.delivery (client_id, message_id, sort_key, visible_at, priority, group_id, expires_at, via)
      select client_id, message_id, sort_key, visible_at, priority, group_id, expires_at, via
      from r where not overflow and pending is not true
      on conflict (client_id, message_id) do nothing
      returning client_id
    ),
    postponed as (
      insert into switchyard.delivery_pending (client_id, message_id, due_at, sort_key, priority, group_id, expires_at, via)
      select client_id, message_id, visible_at, sort_key, priority, group_id, expires_at, via
      from r where not overflow and pending
      on conflict (client_id, message_id) do nothing
    ),
    overflowed as (
      select b.client_id from switchyard.bury_deliveries(array(
        select row(r.client_id, r.message_id, 0, null, null, 'the queue was full (overflow policy reject): this copy was not enqueued',
                   now(), r.priority, r.group_id)::switchyard.burial
        from r where r.overflow), 'overflow') b
    )
    (select 'delivered'::text, d.client_id, 1 from (select distinct client_id from inserted limit $11 + 1) d)
    union all
    (select 'overflow'::text, o.client_id, count(*)::int from overflowed o group by o.client_id)$statement$, recipients)
  using p_ids, p_to_addresses, p_priorities, p_deliver_ats, p_created_ats, p_group_ids, p_expires_ats,
        p_aging_ms, p_full_clients, p_horizon_seconds, p_max_named,
        p_add_entries, p_add_addresses, p_add_vias, p_pick_clients, p_pick_entries, p_pick_vias;
end
$function$;

CREATE OR REPLACE FUNCTION switchyard.is_valid_address(address text)
 RETURNS boolean
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
RETURN (((address ~ '^(user|group):[A-Za-z0-9][A-Za-z0-9_.-]*$'::text) OR (address ~ '^topic:[A-Za-z0-9][A-Za-z0-9_./-]*$'::text)) AND ((length(address) - strpos(address, ':'::text)) <= CASE WHEN (address ~~ 'topic:%'::text) THEN 128 ELSE 64 END));

CREATE OR REPLACE FUNCTION switchyard.is_valid_grant_list(grants text[])
 RETURNS boolean
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
 SET search_path TO 'pg_catalog', 'switchyard', 'pg_temp'
AS $function$
  select cardinality(grants) <= 100 and coalesce(bool_and(g ~ '^[A-Za-z0-9_.*-]{1,64}$'), true) from unnest(grants) as g
$function$;

CREATE OR REPLACE FUNCTION switchyard.keep_history(p_ids uuid[])
 RETURNS void
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog'
 SET enable_seqscan TO 'off'
AS $function$
begin
  insert into switchyard.history (message_id, conversation, created_at, sender, to_address, type, payload, headers,
                                  correlation_id, reply_to)
  select m.id, m.conversation, m.created_at, m.sender, m.to_address, m.type, m.payload, m.headers,
         m.correlation_id, m.reply_to
  from switchyard.message m
  where m.id = any (p_ids)
  on conflict (message_id) do nothing;
end
$function$;

CREATE OR REPLACE FUNCTION switchyard.lane_of(conversation text)
 RETURNS smallint
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
RETURN ((hashtextextended(conversation, (0)::bigint) & (15)::bigint))::smallint;

CREATE OR REPLACE FUNCTION switchyard.latency_bucket_bounds()
 RETURNS integer[]
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
 SET search_path TO 'pg_catalog', 'switchyard', 'pg_temp'
AS $function$
  select array[1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000, 2147483647]
$function$;

CREATE OR REPLACE FUNCTION switchyard.publish(to_address text, payload jsonb, sender text DEFAULT 'system'::text, type text DEFAULT NULL::text, headers jsonb DEFAULT NULL::jsonb, priority integer DEFAULT 0, delay_seconds integer DEFAULT 0, ttl_seconds integer DEFAULT NULL::integer, group_id text DEFAULT NULL::text, dedup_id text DEFAULT NULL::text, correlation_id text DEFAULT NULL::text, reply_to text DEFAULT NULL::text, deliver_at timestamp with time zone DEFAULT NULL::timestamp with time zone, dedup_window_seconds integer DEFAULT NULL::integer)
 RETURNS uuid
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'switchyard', 'pg_temp'
AS $function$
declare
  new_id uuid := switchyard.uuidv7();
  first_id uuid;
  max_delay constant interval := interval '365 days'; -- DELAY_MAX_SECONDS in messages.schemas.ts
  window_seconds integer := coalesce(dedup_window_seconds,
    (select s.value::integer from switchyard.shared_setting s where s.key = 'publish.dedup_window_seconds'), 300);
  full_client text;
begin
  if not switchyard.is_valid_address(to_address) then
    raise exception 'invalid address: %', to_address using errcode = '22023',
      hint = 'an address is user:<name>, group:<name> or topic:<name>';
  end if;
  if delay_seconds < 0 or make_interval(secs => delay_seconds) > max_delay then
    raise exception 'delay_seconds must be between 0 and % seconds', extract(epoch from max_delay)::bigint using errcode = '22023';
  end if;
  if deliver_at is not null and deliver_at > clock_timestamp() + max_delay then
    raise exception 'deliver_at is at most % seconds ahead', extract(epoch from max_delay)::bigint using errcode = '22023';
  end if;
  if deliver_at is not null and delay_seconds > 0 then
    raise exception 'give delay_seconds or deliver_at, not both' using errcode = '22023';
  end if;
  -- A direct message to a full queue whose policy is reject is refused, as the router refuses it
  -- (429 QueueFull); copies of topic and group messages follow each recipient's own policy at routing.
  if to_address like 'user:%' then
    select c.name into full_client
    from switchyard.subscription sub
    join switchyard.queue_stat q on q.client_id = sub.client_id
    join switchyard.client c on c.id = sub.client_id
    left join switchyard.queue_policy p on p.client_id = sub.client_id
    where sub.address = to_address
      and q.depth >= coalesce(p.max_length, (select s.value::integer from switchyard.shared_setting s where s.key = 'publish.queue_max_length'), 1000000)
      and coalesce(p.overflow, (select s.value from switchyard.shared_setting s where s.key = 'publish.queue_overflow'), 'reject') = 'reject'
    limit 1;
    if full_client is not null then
      raise exception 'QueueFull: the queue of client % that % reaches is full; retry later', full_client, to_address
        using errcode = 'SY429', hint = 'retry after a few seconds, once the consumer has caught up';
    end if;
  end if;
  if payload is null then -- SQL null; JSON null is a payload like any other
    raise exception 'payload must not be null' using errcode = '23502', hint = 'for an empty payload, send the JSON value null';
  end if;
  select a.first_id into first_id
  from switchyard.append_messages(json_build_array(json_build_object(
    'id', new_id, 'sender_id', null, 'sender', sender, 'to_address', to_address, 'type', type,
    'payload', payload, 'headers', headers, 'priority', priority, 'delay_seconds', delay_seconds,
    'deliver_at', deliver_at, 'ttl_seconds', ttl_seconds, 'group_id', group_id, 'dedup_id', dedup_id,
    'correlation_id', correlation_id, 'reply_to', reply_to)), window_seconds) a;
  if first_id is not null then
    return first_id; -- the sender published this dedup_id within the window: nothing new to wake for
  end if;
  perform pg_notify('switchyard_log', 'sql');
  return new_id;
end
$function$;

CREATE OR REPLACE FUNCTION switchyard.purge_dead_letters(client_id bigint DEFAULT NULL::bigint, error_like text DEFAULT NULL::text, since timestamp with time zone DEFAULT NULL::timestamp with time zone, until timestamp with time zone DEFAULT NULL::timestamp with time zone, batch_size integer DEFAULT 1000)
 RETURNS integer
 LANGUAGE sql
 SET search_path TO 'pg_catalog', 'switchyard', 'pg_temp'
AS $function$
  with picked as (
    select d.client_id, d.message_id
    from switchyard.dead_letter d
    where switchyard.dead_letter_matches(d.client_id, d.last_error, d.dead_at,
                                         purge_dead_letters.client_id, error_like, since, until)
    limit batch_size
    for update skip locked
  ),
  gone as (
    delete from switchyard.dead_letter d using picked p
    where d.client_id = p.client_id and d.message_id = p.message_id
    returning 1
  )
  select count(*)::integer from gone
$function$;

CREATE OR REPLACE FUNCTION switchyard.put_routing_rule(name text, match jsonb, to_addresses text[], on_addresses text[] DEFAULT NULL::text[])
 RETURNS void
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'switchyard', 'pg_temp'
AS $function$
begin
  if exists (select 1 from unnest(to_addresses || coalesce(on_addresses, '{}')) a where not switchyard.is_valid_address(a)) then
    raise exception 'put_routing_rule: every address is user:<name>, group:<name> or topic:<name>' using errcode = '22023';
  end if;
  insert into switchyard.routing_rule as r (name, match, to_addresses, on_addresses)
  values (put_routing_rule.name, put_routing_rule.match, put_routing_rule.to_addresses, put_routing_rule.on_addresses)
  on conflict on constraint routing_rule_pkey do update
    set match = excluded.match, to_addresses = excluded.to_addresses, on_addresses = excluded.on_addresses, updated_at = now();
  perform pg_notify('switchyard_config', 'sql|routing-rules');
end
$function$;

CREATE OR REPLACE FUNCTION switchyard.read_lane_batches(p_stage text, p_lanes smallint[], p_limit integer)
 RETURNS TABLE(id uuid, xid text, lane smallint, created_at timestamp with time zone, sender_id bigint, sender text, to_address text, conversation text, type text, priority smallint, deliver_at timestamp with time zone, expires_at timestamp with time zone, group_id text, dedup_id text, correlation_id text, reply_to text)
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog'
 SET plan_cache_mode TO 'force_generic_plan'
 SET enable_seqscan TO 'off'
AS $function$
#variable_conflict use_column
begin
  return query
    with cursor as materialized (
      select c.lane, c.prev, c.pos_xid, c.pos_id,
             -- a new window's target is this statement's own snapshot (rule 2)
             coalesce(c.target, pg_current_snapshot()) as snap,
             -- where the xmax(prev).. branch starts: the position, once it has passed xmax(prev)
             case when c.pos_xid >= pg_snapshot_xmax(c.prev) then c.pos_xid else pg_snapshot_xmax(c.prev) end as lo_xid,
             case when c.pos_xid >= pg_snapshot_xmax(c.prev) then c.pos_id
                  else '00000000-0000-0000-0000-000000000000'::uuid end as lo_id
      from switchyard.stage_cursor c
      where c.stage = p_stage and c.lane = any (p_lanes)
    ),
    batch as (
      select b.*
      from cursor c
      cross join lateral (
        select * from (
          (select m.id, m.xid, m.lane, m.created_at, m.sender_id, m.sender, m.to_address, m.conversation, m.type,
                  m.priority, m.deliver_at, m.expires_at, m.group_id, m.dedup_id, m.correlation_id, m.reply_to
           from switchyard.message m
           where m.lane = c.lane
             and m.xid = any (array(select pg_snapshot_xip(c.prev)))
             and (c.pos_xid is null or (m.xid, m.id) > (c.pos_xid, c.pos_id))
             and pg_visible_in_snapshot(m.xid, c.snap)
           order by m.xid, m.id
           limit p_limit)
          union all
          (select m.id, m.xid, m.lane, m.created_at, m.sender_id, m.sender, m.to_address, m.conversation, m.type,
                  m.priority, m.deliver_at, m.expires_at, m.group_id, m.dedup_id, m.correlation_id, m.reply_to
           from switchyard.message m
           where m.lane = c.lane
             and (m.xid, m.id) > (c.lo_xid, c.lo_id)
             and m.xid < pg_snapshot_xmax(c.snap)
             and pg_visible_in_snapshot(m.xid, c.snap)
           order by m.xid, m.id
           limit p_limit)
        ) both_branches
        order by both_branches.xid, both_branches.id
        limit p_limit
      ) b
    ),
    last as (
      select distinct on (batch.lane) batch.lane, batch.xid, batch.id, count(*) over (partition by batch.lane) as n
      from batch
      order by batch.lane, batch.xid desc, batch.id desc
    ),
    advance as (
      -- a short batch closes the window (prev := target); a full one keeps it open at its last row
      update switchyard.stage_cursor s
      set prev = case when coalesce(l.n, 0) < p_limit then c.snap else s.prev end,
          target = case when coalesce(l.n, 0) < p_limit then null else c.snap end,
          pos_xid = case when coalesce(l.n, 0) < p_limit then null else l.xid end,
          pos_id = case when coalesce(l.n, 0) < p_limit then null else l.id end,
          updated_at = now()
      from cursor c
      left join last l on l.lane = c.lane
      where s.stage = p_stage and s.lane = c.lane
    )
    select batch.id, batch.xid::text, batch.lane, batch.created_at, batch.sender_id, batch.sender, batch.to_address,
           batch.conversation, batch.type, batch.priority, batch.deliver_at, batch.expires_at, batch.group_id,
           batch.dedup_id, batch.correlation_id, batch.reply_to
    from batch order by batch.lane, batch.xid, batch.id;
end
$function$;

CREATE OR REPLACE FUNCTION switchyard.redrive_dead_letters(client_id bigint DEFAULT NULL::bigint, error_like text DEFAULT NULL::text, since timestamp with time zone DEFAULT NULL::timestamp with time zone, until timestamp with time zone DEFAULT NULL::timestamp with time zone, batch_size integer DEFAULT 1000)
 RETURNS integer
 LANGUAGE sql
 SET search_path TO 'pg_catalog', 'switchyard', 'pg_temp'
AS $function$
  with picked as (
    select d.client_id, d.message_id
    from switchyard.dead_letter d
    where switchyard.dead_letter_matches(d.client_id, d.last_error, d.dead_at,
                                         redrive_dead_letters.client_id, error_like, since, until)
      and exists (select 1 from switchyard.message m where m.id = d.message_id)
      and exists (select 1 from switchyard.client c where c.id = d.client_id and c.revoked_at is null)
    order by d.dead_at
    limit batch_size
    for update skip locked
  ),
  moved as (
    delete from switchyard.dead_letter d using picked p
    where d.client_id = p.client_id and d.message_id = p.message_id
    returning d.*
  ),
  requeued as (
    insert into switchyard.delivery (client_id, message_id, sort_key, visible_at, priority, group_id, expires_at)
    select moved.client_id, moved.message_id, now(), now(), moved.priority, moved.group_id, null from moved
    on conflict (client_id, message_id) do nothing
    returning 1
  )
  select count(*)::integer from requeued
$function$;

CREATE OR REPLACE FUNCTION switchyard.route_batch(p_max_lanes integer, p_limit integer, p_aging_ms double precision, p_full_clients bigint[], p_horizon_seconds integer, p_max_named integer, p_lanes smallint[] DEFAULT NULL::smallint[])
 RETURNS TABLE(kind text, client_id bigint, n integer)
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog'
 SET plan_cache_mode TO 'force_generic_plan'
 SET enable_seqscan TO 'off'
AS $function$
#variable_conflict use_column
declare
  lanes smallint[];
  ids uuid[]; to_addresses text[]; priorities smallint[]; deliver_ats timestamptz[]; created_ats timestamptz[];
  group_ids text[]; expires_ats timestamptz[]; entries int; full_lane boolean;
begin
  if current_setting('transaction_isolation') <> 'read committed' then
    raise exception 'route_batch needs READ COMMITTED: the cursor rules rely on a snapshot per statement'
      using errcode = '25001';
  end if;
  if exists (select 1 from switchyard.routing_rule) or exists (select 1 from switchyard.subscription s where s.filter is not null) then
    return query select 'content'::text, null::bigint, 0;
    return;
  end if;
  lanes := switchyard.claim_lanes('routing', p_max_lanes, p_lanes);
  return query select 'lanes'::text, null::bigint, cardinality(lanes);
  if cardinality(lanes) = 0 then
    return;
  end if;
  select array_agg(b.id), array_agg(b.to_address), array_agg(b.priority), array_agg(b.deliver_at), array_agg(b.created_at),
         array_agg(b.group_id), array_agg(b.expires_at), count(*), coalesce(max(b.per_lane) >= p_limit, false)
    into ids, to_addresses, priorities, deliver_ats, created_ats, group_ids, expires_ats, entries, full_lane
  from (select r.*, count(*) over (partition by r.lane) as per_lane
        from switchyard.read_lane_batches('routing', lanes, p_limit) r) b;
  return query select 'entries'::text, null::bigint, entries;
  return query select 'full_lane'::text, null::bigint, case when full_lane then 1 else 0 end;
  if entries > 0 then
    return query select * from switchyard.insert_deliveries(ids, to_addresses, priorities, deliver_ats, created_ats,
      group_ids, expires_ats, p_aging_ms, p_full_clients, p_horizon_seconds, p_max_named);
  end if;
end
$function$;

CREATE OR REPLACE FUNCTION switchyard.stage_batch(p_stage text, p_max_lanes integer, p_limit integer, p_lanes smallint[] DEFAULT NULL::smallint[])
 RETURNS TABLE(outcome text, lanes integer, entries integer, full_lane boolean)
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog'
 SET plan_cache_mode TO 'force_generic_plan'
 SET enable_seqscan TO 'off'
AS $function$
declare
  claimed smallint[];
  ids uuid[];
  n int;
  filled boolean;
begin
  if current_setting('transaction_isolation') <> 'read committed' then
    raise exception 'stage_batch needs READ COMMITTED: the cursor rules rely on a snapshot per statement'
      using errcode = '25001';
  end if;
  if p_stage not in ('persistence', 'analytics') then
    raise exception 'stage_batch runs the persistence and analytics stages, not %', p_stage using errcode = '22023';
  end if;
  if p_stage = 'analytics' and exists (select 1 from switchyard.topic_classifier) then
    return query select 'general'::text, 0, 0, false;
    return;
  end if;
  claimed := switchyard.claim_lanes(p_stage, p_max_lanes, p_lanes);
  if cardinality(claimed) = 0 then
    return query select 'done'::text, 0, 0, false;
    return;
  end if;
  select coalesce(array_agg(b.id), '{}'), count(*), coalesce(max(b.per_lane) >= p_limit, false)
    into ids, n, filled
  from (select r.id, count(*) over (partition by r.lane) as per_lane
        from switchyard.read_lane_batches(p_stage, claimed, p_limit) r) b;
  if n > 0 and p_stage = 'persistence' then
    perform switchyard.keep_history(ids);
  elsif n > 0 then
    perform switchyard.count_messages(ids);
  end if;
  return query select 'done'::text, cardinality(claimed), n, filled;
end
$function$;

CREATE OR REPLACE FUNCTION switchyard.stage_lag(row_cap integer DEFAULT 0)
 RETURNS TABLE(stage text, oldest_pending_at timestamp with time zone, lag_seconds double precision, rows_behind bigint, rows_capped boolean)
 LANGUAGE sql
 STABLE
 SET search_path TO 'pg_catalog', 'switchyard', 'pg_temp'
AS $function$
  with per_lane as (
    select c.stage,
           least(
             (select m.created_at from switchyard.message m
              where m.lane = c.lane and m.xid >= pg_snapshot_xmax(c.prev)
              order by m.xid, m.id limit 1),
             (select min((select min(m.created_at) from switchyard.message m
                          where m.lane = c.lane and m.xid = open.xid))
              from pg_snapshot_xip(c.prev) as open(xid))
           ) as oldest,
           case when row_cap > 0 then
             (select count(*) from (select 1 from switchyard.message m
                                    where m.lane = c.lane and m.xid >= pg_snapshot_xmax(c.prev) limit row_cap) behind)
             + (select coalesce(sum((select count(*) from switchyard.message m
                                     where m.lane = c.lane and m.xid = open.xid)), 0)
                from pg_snapshot_xip(c.prev) as open(xid))
           else 0 end as behind
    from switchyard.stage_cursor c
  )
  select stage, min(oldest), coalesce(extract(epoch from now() - min(oldest)), 0)::double precision,
         sum(behind)::bigint, row_cap > 0 and bool_or(behind >= row_cap)
  from per_lane
  group by stage
  order by stage
$function$;

CREATE OR REPLACE FUNCTION switchyard.uuid_floor(at timestamp with time zone)
 RETURNS uuid
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
 SET search_path TO 'pg_catalog', 'switchyard', 'pg_temp'
AS $function$
  select (lpad(to_hex(floor(extract(epoch from at) * 1000)::bigint), 12, '0') || '00000000000000000000')::uuid
$function$;

CREATE OR REPLACE FUNCTION switchyard.uuid_time(id uuid)
 RETURNS timestamp with time zone
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
 SET search_path TO 'pg_catalog', 'switchyard', 'pg_temp'
AS $function$
  select to_timestamp(('x' || lpad(left(replace(id::text, '-', ''), 12), 16, '0'))::bit(64)::bigint / 1000.0)
$function$;

CREATE OR REPLACE FUNCTION switchyard.uuidv7()
 RETURNS uuid
 LANGUAGE sql
 PARALLEL SAFE
 SET search_path TO 'pg_catalog', 'switchyard', 'pg_temp'
AS $function$
  select encode(
    set_bit(set_bit(
      overlay(uuid_send(gen_random_uuid())
              placing substring(int8send(floor(extract(epoch from clock_timestamp()) * 1000)::bigint) from 3)
              from 1 for 6),
      52, 1), 53, 1),
    'hex')::uuid
$function$;
