-- Reverses 0002_delivery_semantics; publish() goes back to its 0001 form.
drop function if exists switchyard.publish(text, jsonb, text, text, jsonb, integer, integer, integer, text, text, text, text, timestamptz, integer);
drop function if exists switchyard.purge_dead_letters(bigint, text, timestamptz, timestamptz, integer);
drop function if exists switchyard.redrive_dead_letters(bigint, text, timestamptz, timestamptz, integer);
drop view if exists switchyard.dead_letters;
alter table switchyard.analytics_minute drop column if exists expired, drop column if exists dead_lettered;
drop table if exists switchyard.queue_stat;
drop index if exists switchyard.message_correlation;
drop table if exists switchyard.dedup;
drop table if exists switchyard.dead_letter;
drop index if exists switchyard.delivery_lease_owner;
drop index if exists switchyard.delivery_expiry;
drop index if exists switchyard.delivery_group;
alter table switchyard.delivery
  drop column if exists priority, drop column if exists group_id, drop column if exists expires_at, drop column if exists last_error;
drop table if exists switchyard.delivery_bucket;
drop table if exists switchyard.queue_policy;

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
