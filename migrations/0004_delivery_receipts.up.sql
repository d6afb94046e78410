-- Delivery receipts: who received and acked which message, and when. Acks (and SSE auto-acks)
-- append one row each in the statement that deletes the delivery; partitioned by message id like
-- history (monthly), with a retention of its own.

create table switchyard.delivery_receipt (
  message_id uuid not null,
  client_id bigint not null,
  receive_count integer not null,
  first_received_at timestamptz,
  acked_at timestamptz not null default now()
) partition by range (message_id);
create index delivery_receipt_message on switchyard.delivery_receipt (message_id, client_id);

create or replace function switchyard.create_partitions(parent text, until timestamptz) returns integer
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
$$;

select switchyard.create_partitions('delivery_receipt', now() + interval '7 days');
