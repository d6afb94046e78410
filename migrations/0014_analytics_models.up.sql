-- The analytics stage learns: content classification of chosen topics (a naive Bayes model
-- stored here, retrained from operator labels) and anomaly detection over the per-minute rollups.
-- Labels and anomalies are rows, and are published as messages on topic:switchyard.labels and
-- topic:switchyard.anomalies.

-- Topics whose messages are classified. json_paths null: every string value of the payload.
-- A label whose score reaches threshold is published, unless it is one of the quiet labels (the
-- normal class, which would otherwise be published for nearly every message).
create table switchyard.topic_classifier (
  topic text primary key check (topic ~ '^[A-Za-z0-9][A-Za-z0-9_./-]{0,127}$' and topic not like 'switchyard.%'),
  json_paths text[] check (cardinality(json_paths) between 1 and 16),
  threshold real not null default 0.9 check (threshold >= 0 and threshold <= 1),
  quiet_labels text[] not null default '{ham}',
  updated_at timestamptz not null default now()
);

-- Model versions. The newest is the one in use; every analytics process checks for a newer one
-- every few seconds. model is the classifier's own JSON export.
create table switchyard.classifier_model (
  version integer primary key,
  trained_at timestamptz not null,
  corpus_examples integer not null,
  taught_examples integer not null,
  model text not null
);

-- What operators taught: the right label of a message, with the text that was classified (the
-- message itself may leave the log before the next retrain).
create table switchyard.classifier_teaching (
  message_id uuid primary key,
  label text not null check (label ~ '^[a-z0-9][a-z0-9_-]{0,39}$'),
  text text not null,
  taught_at timestamptz not null
);

-- One label per classified message. publish_pending: the label reached its topic's threshold and
-- still waits to be published (the outbox the label publisher drains).
create table switchyard.message_label (
  message_id uuid primary key,
  topic text not null,
  label text not null,
  score real not null,
  model_version integer not null,
  labelled_at timestamptz not null,
  publish_pending boolean not null default false
);
-- Labels per topic over the last hour (dashboard) and expiry both look by time.
create index message_label_labelled_at on switchyard.message_label (labelled_at);
create index message_label_pending on switchyard.message_label (labelled_at) where publish_pending;

-- Messages and payload bytes per sender and minute (the analytics stage, exactly once, like
-- analytics_minute): the per-sender series of anomaly detection. Kept as long as analytics_minute.
create table switchyard.analytics_sender_minute (
  minute timestamptz not null,
  sender text not null,
  published bigint not null default 0,
  payload_bytes bigint not null default 0,
  primary key (minute, sender)
);

-- Anomaly detection: the detector's state per series (kind, key), carried from minute to minute.
-- key is an address of analytics_minute, or from:<sender> for a sender's series.
create table switchyard.anomaly_series (
  kind text not null check (kind in ('count', 'bytes', 'dead_letter_rate', 'latency_p95')),
  key text not null,
  last_minute timestamptz not null,
  state jsonb not null,
  primary key (kind, key)
);

create table switchyard.anomaly (
  id bigint generated always as identity primary key,
  series_kind text not null,
  series_key text not null,
  window_start timestamptz not null,
  window_end timestamptz,
  observed double precision not null,
  band_low double precision not null,
  band_high double precision not null,
  direction text not null check (direction in ('spike', 'drop')),
  severity real not null,
  state text not null check (state in ('open', 'closed'))
);
create index anomaly_open on switchyard.anomaly (series_kind, series_key) where state = 'open';
create index anomaly_window on switchyard.anomaly (window_start);

-- For operators, under the name they look for.
create view switchyard.anomalies as
  select id, series_kind, series_key, window_start, window_end, observed, band_low, band_high, direction, severity, state
  from switchyard.anomaly;
