-- Least privilege. The service connects as a member of switchyard_service, which may read and
-- write the rows it works with and run the schema's functions, but owns nothing and may create
-- nothing: schema changes (migrations, partitions) are the owner's, the role that runs this.
-- Operators read with switchyard_reader, which sees every table and view of the schema but not the
-- secrets (the admin token's hash and the admin session key), kept in a schema of their own.
-- Roles are cluster-wide: they are created when missing and this role may create them; grants
-- are per database. Whatever this role may not do is left to the administrator (README: roles).

-- Secrets out of the schema every reader can see.
create schema if not exists switchyard_secret;
revoke all on schema switchyard_secret from public;
alter table switchyard.setting set schema switchyard_secret;

-- No function resolves names through the caller's search_path, which a caller could fill with
-- look-alike objects. The three that run for every message published (the address check, its
-- conversation and lane) get SQL-standard bodies, whose names are bound when they are created:
-- a SET search_path would keep the planner from inlining them, which measured about 8 µs more
-- per message. Every other function pins search_path.
create or replace function switchyard.is_valid_address(address text) returns boolean
language sql immutable parallel safe
return (address ~ '^(user|group):[A-Za-z0-9][A-Za-z0-9_.-]*$' or address ~ '^topic:[A-Za-z0-9][A-Za-z0-9_./-]*$')
   and length(address) - strpos(address, ':') <= case when address like 'topic:%' then 128 else 64 end;

create or replace function switchyard.conversation_of(sender text, to_address text) returns text
language sql immutable parallel safe
return case
  when to_address like 'user:%' then 'dm:' || least(sender, to_address) || '|' || greatest(sender, to_address)
  else to_address
end;

create or replace function switchyard.lane_of(conversation text) returns smallint
language sql immutable parallel safe
return (hashtextextended(conversation, 0) & 15)::smallint;

do $$
declare f record;
begin
  for f in
    select p.oid::regprocedure as signature
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'switchyard' and p.prokind in ('f', 'p') and p.prosqlbody is null
  loop
    execute format('alter routine %s set search_path = pg_catalog, switchyard, pg_temp', f.signature);
  end loop;
end $$;

-- No function is callable by everyone (publish writes the log).
revoke execute on all functions in schema switchyard from public;
alter default privileges revoke execute on functions from public; -- per-schema defaults can only add to the global ones

do $$
begin
  begin
    if not exists (select from pg_roles where rolname = 'switchyard_service') then create role switchyard_service nologin; end if;
    if not exists (select from pg_roles where rolname = 'switchyard_reader') then create role switchyard_reader nologin; end if;
  exception
    when insufficient_privilege then raise notice 'cannot create roles here: create switchyard_service and switchyard_reader, then run these grants (see the README)';
    when duplicate_object or unique_violation then null; -- another database's migration made it meanwhile
  end;

  if exists (select from pg_roles where rolname = 'switchyard_service') then
    grant usage on schema switchyard, switchyard_secret to switchyard_service;
    grant select, insert, update, delete on all tables in schema switchyard to switchyard_service;
    grant select, insert, update on switchyard_secret.setting to switchyard_service;
    grant usage, select, update on all sequences in schema switchyard to switchyard_service;
    grant execute on all functions in schema switchyard to switchyard_service;
    -- What later migrations and partitions (made by this role) create is covered as well.
    alter default privileges in schema switchyard grant select, insert, update, delete on tables to switchyard_service;
    alter default privileges in schema switchyard grant usage, select, update on sequences to switchyard_service;
    alter default privileges in schema switchyard grant execute on functions to switchyard_service;
  end if;

  if exists (select from pg_roles where rolname = 'switchyard_reader') then
    grant usage on schema switchyard to switchyard_reader;
    grant select on all tables in schema switchyard to switchyard_reader;
    -- The functions run with the caller's rights: a reader that calls publish lacks the insert.
    grant execute on all functions in schema switchyard to switchyard_reader;
    alter default privileges in schema switchyard grant select on tables to switchyard_reader;
    alter default privileges in schema switchyard grant execute on functions to switchyard_reader;
  end if;
end $$;
