-- Each SQL rule written once (issue 12): the router's ingest and publish() append through one
-- function, and one predicate says which dead letters a filter matches, for listing, counting,
-- redrive and purge alike.

-- ---------------------------------------------------------------------------------------------
-- Appending to the log with deduplication. `messages` is a JSON array of messages as the router
-- writes them (messages.repository.ts NewMessage): one parameter, parsed once, whatever the batch
-- size. A message whose sender already published its dedup_id within the window, or earlier in
-- the same array, is not written; for each of those one row comes back: the id it asked for and
-- the id of the first message. Messages written return nothing. A payload of JSON null arrives
-- here as SQL null (json_to_recordset cannot tell them apart) and is stored as JSON null: before
-- this function, publish() took it and the router refused it (400 ValueRefused) for that reason.
-- ---------------------------------------------------------------------------------------------
create function switchyard.append_messages(messages json, dedup_window_seconds integer)
returns table (requested uuid, first_id uuid)
language plpgsql
set search_path = pg_catalog, switchyard, pg_temp
as $$
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
$$;

-- publish() appends through append_messages, after the same checks as before (0015).
create or replace function switchyard.publish(
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
$$;

-- ---------------------------------------------------------------------------------------------
-- Which dead letters a filter matches (nulls match everything). A SQL-standard body, so the
-- planner inlines it and a given client id still reaches the (client_id, dead_at) index.
-- ---------------------------------------------------------------------------------------------
create function switchyard.dead_letter_matches(
  client_id bigint, last_error text, dead_at timestamptz,
  want_client_id bigint, error_like text, since timestamptz, until timestamptz
) returns boolean
language sql immutable parallel safe
return (want_client_id is null or client_id = want_client_id)
   and (error_like is null or last_error ilike '%' || error_like || '%')
   and (since is null or dead_at >= since)
   and (until is null or dead_at < until);

create or replace function switchyard.redrive_dead_letters(
  client_id bigint default null, error_like text default null,
  since timestamptz default null, until timestamptz default null, batch_size integer default 1000
) returns integer
language sql
set search_path = pg_catalog, switchyard, pg_temp
as $$
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
$$;

create or replace function switchyard.purge_dead_letters(
  client_id bigint default null, error_like text default null,
  since timestamptz default null, until timestamptz default null, batch_size integer default 1000
) returns integer
language sql
set search_path = pg_catalog, switchyard, pg_temp
as $$
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
$$;
