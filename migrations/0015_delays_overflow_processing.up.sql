-- Delivery, second round (issue 15): delays of any length, overflow per recipient, consumer
-- processing time, and SQL publish with the same rules as HTTP publish.

-- ---------------------------------------------------------------------------------------------
-- Long delays. Routing puts a delivery due later than the horizon (SWITCHYARD_DELAY_HORIZON_SECONDS)
-- here instead of into switchyard.delivery, so the claimed table holds only what is due soon; the
-- mover (upkeep role, a singleton pg-boss job) moves rows in, in batches, shortly before they are
-- due. Nothing claims from this table, so it needs no fillfactor or vacuum tuning of its own.
-- ---------------------------------------------------------------------------------------------
create table switchyard.delivery_pending (
  client_id bigint not null,
  message_id uuid not null,
  due_at timestamptz not null,
  sort_key timestamptz not null,
  priority smallint not null,
  group_id text,
  expires_at timestamptz,
  enqueued_at timestamptz not null default now(),
  via text, -- the routing rule that brought the copy (migration 0013), kept for when it is moved in
  primary key (client_id, message_id)
);
create index delivery_pending_due on switchyard.delivery_pending (due_at);

-- ---------------------------------------------------------------------------------------------
-- Consumer processing time: each ack records how long the consumer held the message (receive to
-- ack) and the lease it had, so percentiles are computed from the samples themselves.
-- ---------------------------------------------------------------------------------------------
alter table switchyard.delivery_receipt
  add column processing_ms integer,
  add column visibility_ms integer;
-- The window query reads the last few minutes of acks across partitions.
create index delivery_receipt_acked on switchyard.delivery_receipt (acked_at) where processing_ms is not null;

-- Per client over the last 5 minutes of acks: true percentiles (percentile_cont over every sample),
-- the average lease, and a flag when p99 passes half the lease (AT_RISK_SHARE: a consumer that
-- needs more than half its lease at p99 is one GC pause or slow call away from a redelivery),
-- with the recommended visibility: six times the average processing time, as SQS advises.
create view switchyard.processing_time as
select s.client_id, c.name as client_name, s.acked, s.p50_ms, s.p95_ms, s.p99_ms, s.avg_ms, s.visibility_ms,
       s.p99_ms > 0.5 * s.visibility_ms as at_risk,
       greatest(1, ceil(6 * s.avg_ms / 1000))::int as recommended_visibility_seconds
from (
  select r.client_id, count(*) as acked,
         percentile_cont(0.5) within group (order by r.processing_ms) as p50_ms,
         percentile_cont(0.95) within group (order by r.processing_ms) as p95_ms,
         percentile_cont(0.99) within group (order by r.processing_ms) as p99_ms,
         avg(r.processing_ms)::float8 as avg_ms,
         avg(r.visibility_ms)::float8 as visibility_ms
  from switchyard.delivery_receipt r
  where r.processing_ms is not null and r.acked_at > now() - interval '5 minutes'
  group by r.client_id
) s
join switchyard.client c on c.id = s.client_id;

-- ---------------------------------------------------------------------------------------------
-- SQL publish as HTTP publish: the router's start writes its dedup window and queue defaults to
-- switchyard.shared_setting (publish.* keys: no secrets, so any caller of publish() may read
-- them); the function applies them, the same delay limit and the QueueFull refusal for a direct
-- message to a full queue (SQLSTATE SY429).
-- ---------------------------------------------------------------------------------------------

drop function switchyard.publish(text, jsonb, text, text, jsonb, integer, integer, integer, text, text, text, text, timestamptz, integer);

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
  reply_to text default null,
  deliver_at timestamptz default null,
  dedup_window_seconds integer default null
) returns uuid
language plpgsql
set search_path = pg_catalog, switchyard, pg_temp
as $$
declare
  new_id uuid := switchyard.uuidv7();
  conv text := switchyard.conversation_of(sender, to_address);
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
  if dedup_id is not null then
    insert into switchyard.dedup as d (scope, dedup_id, message_id, expires_at)
    values (sender, publish.dedup_id, new_id, clock_timestamp() + make_interval(secs => window_seconds))
    on conflict on constraint dedup_pkey do update
      set message_id = excluded.message_id, expires_at = excluded.expires_at
      where d.expires_at < clock_timestamp()
    returning d.message_id into first_id;
    if first_id is null then
      select d.message_id into first_id from switchyard.dedup d where d.scope = sender and d.dedup_id = publish.dedup_id;
      return first_id;
    end if;
  end if;
  insert into switchyard.message (id, lane, sender, to_address, conversation, type, payload, headers,
                                  priority, deliver_at, expires_at, group_id, dedup_id, correlation_id, reply_to)
  values (new_id, switchyard.lane_of(conv), sender, to_address, conv, type, payload, headers, priority,
          coalesce(deliver_at, case when delay_seconds > 0 then clock_timestamp() + make_interval(secs => delay_seconds) end),
          case when ttl_seconds is not null then clock_timestamp() + make_interval(secs => ttl_seconds) end,
          group_id, dedup_id, correlation_id, reply_to);
  perform pg_notify('switchyard_log', 'sql');
  return new_id;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Webhooks: a client's queue delivered by POST to an HTTPS endpoint, signed as Standard Webhooks
-- says. One endpoint per client. The secret is kept to sign with (HMAC needs it in the clear) and
-- shown once; after a rotation the previous one signs too until previous_secret_until. The circuit
-- breaker lives in the push process; its state is mirrored here for SQL and the dashboard.
-- ---------------------------------------------------------------------------------------------
create table switchyard.webhook_endpoint (
  client_id bigint primary key references switchyard.client (id) on delete cascade,
  url text not null check (url ~ '^https?://'),
  secret text not null,
  previous_secret text,
  previous_secret_until timestamptz,
  batch_size integer not null default 1 check (batch_size between 1 and 100),
  concurrency integer not null default 4 check (concurrency between 1 and 32),
  timeout_ms integer not null default 10000 check (timeout_ms between 100 and 60000),
  disabled_at timestamptz,
  disabled_reason text,
  circuit_state text not null default 'closed' check (circuit_state in ('closed', 'open', 'half_open')),
  circuit_changed_at timestamptz,
  last_error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- Endpoints without their secrets, for operators.
create view switchyard.webhook_endpoints as
select w.client_id, c.name as client_name, w.url, w.batch_size, w.concurrency, w.timeout_ms,
       w.disabled_at is null as enabled, w.disabled_at, w.disabled_reason,
       w.circuit_state, w.circuit_changed_at, w.last_error,
       w.previous_secret_until > now() as rotating
from switchyard.webhook_endpoint w
join switchyard.client c on c.id = w.client_id;
