-- Reverses 0015_delays_overflow_processing: publish() goes back to its 0002 form. Pending
-- deliveries are moved into the delivery table first, so a rollback loses none of them.
insert into switchyard.delivery (client_id, message_id, sort_key, visible_at, priority, group_id, expires_at, enqueued_at)
select client_id, message_id, sort_key, due_at, priority, group_id, expires_at, enqueued_at from switchyard.delivery_pending
on conflict (client_id, message_id) do nothing;
drop table switchyard.delivery_pending;

drop view switchyard.webhook_endpoints;
drop table switchyard.webhook_endpoint;

drop view switchyard.processing_time;
drop index switchyard.delivery_receipt_acked;
alter table switchyard.delivery_receipt drop column processing_ms, drop column visibility_ms;

drop function switchyard.publish(text, jsonb, text, text, jsonb, integer, integer, integer, text, text, text, text, timestamptz, integer);
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

delete from switchyard.shared_setting where key like 'publish.%';
