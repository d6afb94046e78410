-- Reverses 0011_least_privilege in this database. The roles stay: they are cluster-wide and other
-- databases may use them.
do $$
begin
  if exists (select from pg_roles where rolname = 'switchyard_reader') then
    alter default privileges in schema switchyard revoke select on tables from switchyard_reader;
    alter default privileges in schema switchyard revoke execute on functions from switchyard_reader;
    revoke all on all tables in schema switchyard from switchyard_reader;
    revoke all on all functions in schema switchyard from switchyard_reader;
    revoke all on schema switchyard from switchyard_reader;
  end if;
  if exists (select from pg_roles where rolname = 'switchyard_service') then
    alter default privileges in schema switchyard revoke select, insert, update, delete on tables from switchyard_service;
    alter default privileges in schema switchyard revoke usage, select, update on sequences from switchyard_service;
    alter default privileges in schema switchyard revoke execute on functions from switchyard_service;
    revoke all on all tables in schema switchyard from switchyard_service;
    revoke all on all sequences in schema switchyard from switchyard_service;
    revoke all on all functions in schema switchyard from switchyard_service;
    revoke all on switchyard_secret.setting from switchyard_service;
    revoke all on schema switchyard, switchyard_secret from switchyard_service;
  end if;
end $$;

do $$
declare f record;
begin
  for f in
    select p.oid::regprocedure as signature
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'switchyard' and p.prokind in ('f', 'p')
  loop
    execute format('alter routine %s reset search_path', f.signature);
  end loop;
end $$;
create or replace function switchyard.is_valid_address(address text) returns boolean
language sql immutable parallel safe as $$
  select (address ~ '^(user|group):[A-Za-z0-9][A-Za-z0-9_.-]*$' or address ~ '^topic:[A-Za-z0-9][A-Za-z0-9_./-]*$')
     and length(address) - strpos(address, ':') <= case when address like 'topic:%' then 128 else 64 end
$$;

create or replace function switchyard.conversation_of(sender text, to_address text) returns text
language sql immutable parallel safe as $$
  select case
    when to_address like 'user:%' then 'dm:' || least(sender, to_address) || '|' || greatest(sender, to_address)
    else to_address
  end
$$;

create or replace function switchyard.lane_of(conversation text) returns smallint
language sql immutable parallel safe as $$
  select (hashtextextended(conversation, 0) & 15)::smallint
$$;

alter default privileges grant execute on functions to public;
grant execute on all functions in schema switchyard to public;

alter table switchyard_secret.setting set schema switchyard;
drop schema switchyard_secret;
