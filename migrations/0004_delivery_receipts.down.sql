-- Reverses 0004_delivery_receipts.
drop table if exists switchyard.delivery_receipt;

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
