-- Reverses 0019_sql_rules_once: publish() (0015), redrive (0010) and purge (0002) get back
-- their own SQL, with the search_path that 0011 pinned.
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
    where (redrive_dead_letters.client_id is null or d.client_id = redrive_dead_letters.client_id)
      and (error_like is null or d.last_error ilike '%' || error_like || '%')
      and (since is null or d.dead_at >= since)
      and (until is null or d.dead_at < until)
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

drop function switchyard.dead_letter_matches(bigint, text, timestamptz, bigint, text, timestamptz, timestamptz);
drop function switchyard.append_messages(json, integer);
