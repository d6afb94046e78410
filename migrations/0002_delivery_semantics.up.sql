-- Delivery queue semantics: per-client policies (max receives, nack backoff, length limit and
-- overflow, delivery rate), client dead letters, FIFO groups, expiry, deduplication, request/reply
-- lookups, and the periodic queue statistics that limits and operators read.

-- Per-client queue policy. A null column means "the service default" (see README, configuration).
create table switchyard.queue_policy (
  client_id bigint primary key references switchyard.client (id) on delete cascade,
  max_receives integer check (max_receives between 1 and 1000),
  backoff_base_ms integer check (backoff_base_ms between 0 and 43200000),
  backoff_cap_ms integer check (backoff_cap_ms between 0 and 43200000),
  max_length integer check (max_length >= 1),
  overflow text check (overflow in ('reject', 'dead_letter')),
  delivery_rate double precision check (delivery_rate > 0),   -- messages per second
  delivery_burst integer check (delivery_burst >= 1),
  updated_at timestamptz not null default now()
);

-- Token buckets of clients with a delivery rate; one row each, updated by every receive.
create table switchyard.delivery_bucket (
  client_id bigint primary key,
  tokens double precision not null,
  updated_at timestamptz not null
) with (fillfactor = 50);

alter table switchyard.delivery
  add column priority smallint not null default 0,
  add column group_id text,
  add column expires_at timestamptz,
  add column last_error text;

-- FIFO groups: the head of a group is its lowest message id still in the queue.
create index delivery_group on switchyard.delivery (client_id, group_id, message_id) where group_id is not null;
-- The expiry sweep.
create index delivery_expiry on switchyard.delivery (expires_at) where expires_at is not null;
-- SSE prefetch and resume: the leases one stream holds.
create index delivery_lease_owner on switchyard.delivery (client_id, lease_owner, lease_seq) where lease_owner is not null;

-- Client dead letters: deliveries that were received max_receives times without an ack, or that
-- overflowed a full queue. The message itself stays in the log (upkeep keeps its partition while
-- a dead letter points into it, for up to the dead-letter retention).
create table switchyard.dead_letter (
  client_id bigint not null,
  message_id uuid not null,
  reason text not null check (reason in ('max_receives', 'overflow')),
  receive_count integer not null,
  first_received_at timestamptz,
  last_received_at timestamptz,
  last_error text,
  enqueued_at timestamptz not null,
  priority smallint not null,
  group_id text,
  dead_at timestamptz not null default now(),
  primary key (client_id, message_id)
);
create index dead_letter_client_time on switchyard.dead_letter (client_id, dead_at);
create index dead_letter_time on switchyard.dead_letter (dead_at);

-- Deduplication: the first message a sender published with a dedup_id, for the window.
create table switchyard.dedup (
  scope text not null,      -- the sender address
  dedup_id text not null,
  message_id uuid not null,
  expires_at timestamptz not null,
  primary key (scope, dedup_id)
);
create index dedup_expiry on switchyard.dedup (expires_at);

-- Request/reply: a reply is found by its correlation id.
create index message_correlation on switchyard.message (correlation_id) where correlation_id is not null;

-- Queue statistics, recomputed every few seconds by one process: what length limits, backpressure,
-- metrics and the dashboard read, so none of them has to count a queue. Derived data: unlogged.
create unlogged table switchyard.queue_stat (
  client_id bigint primary key,
  depth bigint not null,
  visible bigint not null,
  in_flight bigint not null,
  delayed bigint not null,
  oldest_enqueued_at timestamptz,
  updated_at timestamptz not null
);

alter table switchyard.analytics_minute
  add column expired bigint not null default 0,
  add column dead_lettered bigint not null default 0;

-- ---------------------------------------------------------------------------------------------
-- Dead letters in SQL: a view with the messages, and redrive and purge in bounded batches.
-- ---------------------------------------------------------------------------------------------

create view switchyard.dead_letters as
select d.client_id, c.name as client_name, d.message_id, d.reason, d.receive_count, d.first_received_at,
       d.last_received_at, d.last_error, d.enqueued_at, d.dead_at, d.priority, d.group_id,
       m.sender, m.to_address, m.type, m.payload, m.headers, m.created_at as sent_at, m.correlation_id, m.reply_to
from switchyard.dead_letter d
join switchyard.client c on c.id = d.client_id
left join switchyard.message m on m.id = d.message_id;

-- Moves up to batch_size dead letters matching the filter (nulls match everything) back to their
-- queues, visible at once with a fresh receive count; returns how many it moved. Call it again
-- until it returns 0. Dead letters whose message has left the log stay where they are.
create function switchyard.redrive_dead_letters(
  client_id bigint default null, error_like text default null,
  since timestamptz default null, until timestamptz default null, batch_size integer default 1000
) returns integer
language sql as $$
  with picked as (
    select d.client_id, d.message_id
    from switchyard.dead_letter d
    where (redrive_dead_letters.client_id is null or d.client_id = redrive_dead_letters.client_id)
      and (error_like is null or d.last_error ilike '%' || error_like || '%')
      and (since is null or d.dead_at >= since)
      and (until is null or d.dead_at < until)
      and exists (select 1 from switchyard.message m where m.id = d.message_id)
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
$$;

-- Deletes up to batch_size dead letters matching the filter; returns how many.
create function switchyard.purge_dead_letters(
  client_id bigint default null, error_like text default null,
  since timestamptz default null, until timestamptz default null, batch_size integer default 1000
) returns integer
language sql as $$
  with picked as (
    select d.client_id, d.message_id
    from switchyard.dead_letter d
    where (purge_dead_letters.client_id is null or d.client_id = purge_dead_letters.client_id)
      and (error_like is null or d.last_error ilike '%' || error_like || '%')
      and (since is null or d.dead_at >= since)
      and (until is null or d.dead_at < until)
    limit batch_size
    for update skip locked
  ),
  gone as (
    delete from switchyard.dead_letter d using picked p
    where d.client_id = p.client_id and d.message_id = p.message_id
    returning 1
  )
  select count(*)::integer from gone
$$;

-- ---------------------------------------------------------------------------------------------
-- publish() learns deduplication and deliver_at.
-- ---------------------------------------------------------------------------------------------

drop function switchyard.publish(text, jsonb, text, text, jsonb, integer, integer, integer, text, text, text, text);

-- Returns the id of the message, or, when the sender already published the same dedup_id within
-- the window, the id of that first message (and publishes nothing).
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
  dedup_window_seconds integer default 300
) returns uuid
language plpgsql as $$
declare
  new_id uuid := switchyard.uuidv7();
  conv text := switchyard.conversation_of(sender, to_address);
  first_id uuid;
begin
  if not switchyard.is_valid_address(to_address) then
    raise exception 'invalid address: %', to_address using errcode = '22023',
      hint = 'an address is user:<name>, group:<name> or topic:<name>';
  end if;
  if dedup_id is not null then
    insert into switchyard.dedup as d (scope, dedup_id, message_id, expires_at)
    values (sender, publish.dedup_id, new_id, clock_timestamp() + make_interval(secs => dedup_window_seconds))
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
