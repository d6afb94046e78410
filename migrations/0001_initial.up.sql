-- Switchyard's first schema: clients and what they listen to, the message log (the transactional
-- outbox) with per-(stage, lane) cursors, client delivery queues, history and stage dead letters.
-- The flow and the reasons behind these shapes are in docs/architecture.md.

create schema if not exists switchyard;

-- ---------------------------------------------------------------------------------------------
-- Helpers: ids, addresses, conversations and lanes. Both entrances (the HTTP router and the SQL
-- publish function below) use these, so a message is classified the same way whichever door it
-- came through.
-- ---------------------------------------------------------------------------------------------

-- A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits. Message ids sort by time,
-- which is what lets the log and history be partitioned by id ranges.
create function switchyard.uuidv7() returns uuid
language sql volatile parallel safe as $$
  select encode(
    set_bit(set_bit(
      overlay(uuid_send(gen_random_uuid())
              placing substring(int8send(floor(extract(epoch from clock_timestamp()) * 1000)::bigint) from 3)
              from 1 for 6),
      52, 1), 53, 1),
    'hex')::uuid
$$;

-- The smallest UUIDv7 of a given instant: partition bounds.
create function switchyard.uuid_floor(at timestamptz) returns uuid
language sql immutable parallel safe as $$
  select (lpad(to_hex(floor(extract(epoch from at) * 1000)::bigint), 12, '0') || '00000000000000000000')::uuid
$$;

-- The instant a UUIDv7 was made.
create function switchyard.uuid_time(id uuid) returns timestamptz
language sql immutable parallel safe as $$
  select to_timestamp(('x' || lpad(left(replace(id::text, '-', ''), 12), 16, '0'))::bit(64)::bigint / 1000.0)
$$;

-- Addresses are kind:name. Names start with a letter or digit and then allow _ . - (and / for topics).
create function switchyard.is_valid_address(address text) returns boolean
language sql immutable parallel safe as $$
  select address ~ '^(user|group):[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'
      or address ~ '^topic:[A-Za-z0-9][A-Za-z0-9_./-]{0,127}$'
$$;

-- The conversation a message belongs to: the topic or group itself, or for a direct message the
-- unordered pair of its two ends. History is kept per conversation, and its hash picks the lane.
create function switchyard.conversation_of(sender text, to_address text) returns text
language sql immutable parallel safe as $$
  select case
    when to_address like 'user:%' then 'dm:' || least(sender, to_address) || '|' || greatest(sender, to_address)
    else to_address
  end
$$;

-- 16 lanes. A lane is the unit of ordering and of parallelism for every stage: messages of one
-- conversation share a lane and so keep their order through every stage. Changing the count
-- needs a migration that also re-creates the stage cursors.
create function switchyard.lane_of(conversation text) returns smallint
language sql immutable parallel safe as $$
  select (hashtextextended(conversation, 0) & 15)::smallint
$$;

-- ---------------------------------------------------------------------------------------------
-- Clients, subscriptions, groups
-- ---------------------------------------------------------------------------------------------

create table switchyard.setting (
  key text primary key,
  value text not null,
  updated_at timestamptz not null default now()
);

create table switchyard.client (
  id bigint generated always as identity primary key,
  name text not null check (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
  token_hash bytea not null unique, -- sha-256 of the token; the token itself is never stored
  created_at timestamptz not null default now(),
  revoked_at timestamptz
);
create index client_name on switchyard.client (name);

-- What each client listens to. Every client listens to its own user:<name>, which is how direct
-- messages reach it. Routing looks recipients up by address, hence the key order.
create table switchyard.subscription (
  address text not null check (switchyard.is_valid_address(address)),
  client_id bigint not null references switchyard.client (id) on delete cascade,
  created_at timestamptz not null default now(),
  primary key (address, client_id)
);
create index subscription_client on switchyard.subscription (client_id);

-- Group membership is by user name: every client of a member user may listen to and post into it.
create table switchyard.group_member (
  group_name text not null check (group_name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
  user_name text not null check (user_name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
  added_at timestamptz not null default now(),
  primary key (group_name, user_name)
);
create index group_member_user on switchyard.group_member (user_name);

-- ---------------------------------------------------------------------------------------------
-- The message log: the transactional outbox every stage reads. Append-only; partitioned by id
-- (UUIDv7, so by time), one partition per UTC day; retention drops whole partitions.
-- xid is the id of the writing transaction: stages read the log in snapshot order, not id order,
-- because ids commit out of order.
-- ---------------------------------------------------------------------------------------------

create table switchyard.message (
  id uuid not null,
  xid xid8 not null default pg_current_xact_id(),
  lane smallint not null,
  created_at timestamptz not null default clock_timestamp(),
  sender_id bigint,            -- null when published through SQL
  sender text not null,        -- the from address: user:<name>, or what the SQL caller named
  to_address text not null check (switchyard.is_valid_address(to_address)),
  conversation text not null,
  type text,
  payload jsonb not null,
  headers jsonb,
  priority smallint not null default 0 check (priority between 0 and 9),
  deliver_at timestamptz,      -- null: deliver at once
  expires_at timestamptz,      -- null: never expires
  group_id text,
  dedup_id text,
  correlation_id text,
  reply_to text,
  primary key (id)
) partition by range (id);

-- The stage read: one lane, in (xid, id) order from a position.
create index message_lane_xid on switchyard.message (lane, xid, id);

-- ---------------------------------------------------------------------------------------------
-- Stage cursors: one row per (stage, lane). prev is a snapshot: every row of the lane whose
-- transaction is visible in prev is done. While a batch-limited window is open, target is the
-- window's snapshot and (pos_xid, pos_id) the last row handled. Updated on every batch, so kept
-- small, with room for HOT updates, and vacuumed eagerly.
-- ---------------------------------------------------------------------------------------------

create table switchyard.stage_cursor (
  stage text not null,
  lane smallint not null,
  prev pg_snapshot not null,
  target pg_snapshot,
  pos_xid xid8,
  pos_id uuid,
  updated_at timestamptz not null default now(),
  primary key (stage, lane),
  check ((target is null) = (pos_xid is null) and (pos_xid is null) = (pos_id is null))
) with (fillfactor = 30, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 200);

insert into switchyard.stage_cursor (stage, lane, prev)
select stage, lane, pg_current_snapshot()
from unnest(array['routing', 'persistence', 'analytics']) as stage,
     generate_series(0, 15) as lane;

-- A message that fails its stage waits here for another attempt, so its lane moves on.
create table switchyard.stage_retry (
  stage text not null,
  message_id uuid not null,
  attempts integer not null,
  next_attempt_at timestamptz not null,
  first_failed_at timestamptz not null default now(),
  last_error text not null,
  primary key (stage, message_id)
);
create index stage_retry_due on switchyard.stage_retry (stage, next_attempt_at);

-- ... and here once it has used up its attempts.
create table switchyard.stage_dead_letter (
  stage text not null,
  message_id uuid not null,
  attempts integer not null,
  first_failed_at timestamptz not null,
  failed_at timestamptz not null default now(),
  last_error text not null,
  primary key (stage, message_id)
);

-- ---------------------------------------------------------------------------------------------
-- Client delivery queues: one row per (recipient client, message) until it is acked.
-- visible_at is when it may next be received (delay, lease deadline, nack backoff); sort_key is
-- the claim order. The claim is one index scan of (client_id, sort_key).
-- ---------------------------------------------------------------------------------------------

create table switchyard.delivery (
  client_id bigint not null,
  message_id uuid not null,
  enqueued_at timestamptz not null default now(),
  sort_key timestamptz not null,
  visible_at timestamptz not null,
  receive_count integer not null default 0,
  first_received_at timestamptz,
  last_received_at timestamptz,
  lease_owner text,     -- the SSE stream that holds the lease, for Last-Event-ID resume
  lease_seq integer,    -- the event number on that stream
  primary key (client_id, message_id)
) with (fillfactor = 80, autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000,
        autovacuum_vacuum_insert_scale_factor = 0.05);
create index delivery_claim on switchyard.delivery (client_id, sort_key);

-- ---------------------------------------------------------------------------------------------
-- History: the persistence stage's durable, queryable copy, per conversation. Partitioned by id,
-- one partition per UTC month; its retention is its own and much longer than the log's.
-- ---------------------------------------------------------------------------------------------

create table switchyard.history (
  message_id uuid not null,
  conversation text not null,
  created_at timestamptz not null,
  sender text not null,
  to_address text not null,
  type text,
  payload jsonb not null,
  headers jsonb,
  correlation_id text,
  reply_to text,
  primary key (message_id)
) partition by range (message_id);
create index history_conversation on switchyard.history (conversation, message_id);

-- ---------------------------------------------------------------------------------------------
-- Analytics: per-minute rollups per address (direct messages pooled as user:*).
-- latency_ms_buckets counts first deliveries by publish-to-receive time, bucket upper bounds in
-- switchyard.latency_bucket_bounds().
-- ---------------------------------------------------------------------------------------------

create function switchyard.latency_bucket_bounds() returns integer[]
language sql immutable parallel safe as $$
  select array[1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000, 2147483647]
$$;

create table switchyard.analytics_minute (
  minute timestamptz not null,
  address text not null,
  published bigint not null default 0,
  payload_bytes bigint not null default 0,
  delivered bigint not null default 0,
  latency_ms_sum bigint not null default 0,
  latency_ms_max integer not null default 0,
  latency_ms_buckets bigint[] not null default array_fill(0::bigint, array[16]),
  primary key (minute, address)
);

create function switchyard.add_buckets(a bigint[], b bigint[]) returns bigint[]
language sql immutable parallel safe as $$
  select array_agg(x + y order by i) from unnest(a, b) with ordinality as t(x, y, i)
$$;

-- ---------------------------------------------------------------------------------------------
-- Partitions: created ahead by the upkeep job (and at start-up), dropped once expired.
-- ---------------------------------------------------------------------------------------------

-- Creates the partitions of `parent` ('message': daily, 'history': monthly) from one period ago
-- up to `until`. Safe to run concurrently from several replicas.
create function switchyard.create_partitions(parent text, until timestamptz) returns integer
language plpgsql as $$
declare
  unit text;
  period interval;
  at timestamptz;
  created integer := 0;
  name text;
begin
  case parent
    when 'message' then unit := 'day'; period := interval '1 day';
    when 'history' then unit := 'month'; period := interval '1 month';
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
$$;

select switchyard.create_partitions('message', now() + interval '7 days');
select switchyard.create_partitions('history', now() + interval '7 days');

-- ---------------------------------------------------------------------------------------------
-- The SQL face of the outbox: call it inside your own transaction, and the message commits or
-- rolls back with your business write. NOTIFY, like the message, is only sent on commit.
-- ---------------------------------------------------------------------------------------------

create function switchyard.publish(
  to_address text,
  payload jsonb,
  sender text default 'system',
  type text default null,
  headers jsonb default null,
  priority integer default 0,
  delay_seconds integer default 0,
  ttl_seconds integer default null,
  group_id text default null,
  dedup_id text default null,
  correlation_id text default null,
  reply_to text default null
) returns uuid
language plpgsql as $$
declare
  new_id uuid := switchyard.uuidv7();
  conv text := switchyard.conversation_of(sender, to_address);
begin
  if not switchyard.is_valid_address(to_address) then
    raise exception 'invalid address: %', to_address using errcode = '22023',
      hint = 'an address is user:<name>, group:<name> or topic:<name>';
  end if;
  insert into switchyard.message (id, lane, sender, to_address, conversation, type, payload, headers,
                                  priority, deliver_at, expires_at, group_id, dedup_id, correlation_id, reply_to)
  values (new_id, switchyard.lane_of(conv), sender, to_address, conv, type, payload, headers, priority,
          case when delay_seconds > 0 then clock_timestamp() + make_interval(secs => delay_seconds) end,
          case when ttl_seconds is not null then clock_timestamp() + make_interval(secs => ttl_seconds) end,
          group_id, dedup_id, correlation_id, reply_to);
  perform pg_notify('switchyard_log', 'sql');
  return new_id;
end
$$;
