-- Router hardening: what the router enforces beyond a request's shape. Topic policies (who may
-- publish to or subscribe to a topic), per-topic JSON Schemas for payloads, and the results of
-- publishes made with an Idempotency-Key. The rules are in README.md, "Authorization".

-- A grant names client names: exact, or with * matching any run of name characters.
create function switchyard.is_valid_grant_list(grants text[]) returns boolean
language sql immutable parallel safe as $$
  select cardinality(grants) <= 100 and coalesce(bool_and(g ~ '^[A-Za-z0-9_.*-]{1,64}$'), true) from unnest(grants) as g
$$;

-- No row for (topic, action): the action is open to every authenticated client. A row: only
-- clients whose name matches one of its grants (none, when the list is empty). The SQL publish
-- function trusts its caller and is not bound by these.
create table switchyard.topic_policy (
  topic text not null check (topic ~ '^[A-Za-z0-9][A-Za-z0-9_./-]{0,127}$'),
  action text not null check (action in ('publish', 'subscribe')),
  grants text[] not null check (switchyard.is_valid_grant_list(grants)),
  updated_at timestamptz not null default now(),
  primary key (topic, action)
);

-- Payloads published to the topic through the router must match this JSON Schema (ajv).
create table switchyard.topic_schema (
  topic text primary key check (topic ~ '^[A-Za-z0-9][A-Za-z0-9_./-]{0,127}$'),
  schema jsonb not null,
  updated_at timestamptz not null default now()
);

-- One row per (client, Idempotency-Key) for the configured window. The message ids are chosen
-- before the publish and stored with the claim, so a retry after a crash can tell from the log
-- whether the first attempt committed, and never publishes twice. Expired rows are deleted by
-- the upkeep job (and a new claim may reuse an expired key at once).
create table switchyard.idempotency_key (
  client_id bigint not null references switchyard.client (id) on delete cascade,
  key text not null check (length(key) between 1 and 255),
  fingerprint bytea not null,                 -- sha-256 of the method, path and canonical body
  state text not null check (state in ('in_progress', 'done')),
  message_ids uuid[] not null,
  response_status smallint not null,
  response_body jsonb not null,
  locked_until timestamptz,                   -- in_progress: another attempt may take over after this
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  primary key (client_id, key)
);
create index idempotency_key_expiry on switchyard.idempotency_key (expires_at);
