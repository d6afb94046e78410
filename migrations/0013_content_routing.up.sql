-- Content routing (README, "Content routing"): filter policies on subscriptions and admin-defined
-- routing rules, both in the SNS filter-policy / EventBridge pattern language, evaluated by the
-- routing stage (src/routing/). Policies are checked by the service before they are stored; the
-- stage skips (and logs) a stored policy that does not check, so a hand-written row cannot stop
-- routing.

-- A subscription with a filter receives only the messages its policy matches. Null: everything.
-- Routing reads the filtered subscriptions of an address apart from the others (the unfiltered
-- fan-out stays one join), hence the partial index.
alter table switchyard.subscription add column filter jsonb
  check (filter is null or jsonb_typeof(filter) = 'object');
create index subscription_filtered on switchyard.subscription (address) where filter is not null;

-- A routing rule copies the messages it matches, published to one of its `on` addresses (null:
-- any address), to the subscribers of its `to` addresses as well. Each recipient gets a message
-- once, however many rules match.
create table switchyard.routing_rule (
  name text primary key check (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
  match jsonb not null check (jsonb_typeof(match) = 'object'),
  to_addresses text[] not null check (cardinality(to_addresses) between 1 and 20),
  on_addresses text[] check (cardinality(on_addresses) between 1 and 20),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- Every change to the rules, however made, moves this version in the same transaction. The
-- routing stage reads it with each batch (in the statement that reads filtered subscriptions) and
-- reloads its cached rules when it moved, so a change applies exactly to the messages routed after
-- it commits; the config signal only makes processes reload sooner. It is kept among the settings
-- that are no secret, which every role of the service may read (the secret ones are in
-- switchyard_secret.setting, migration 0011).
create table switchyard.shared_setting (
  key text primary key,
  value text not null,
  updated_at timestamptz not null default now()
);
insert into switchyard.shared_setting (key, value) values ('routing_rules_version', '0');

create function switchyard.bump_routing_rules_version() returns trigger
language plpgsql set search_path = pg_catalog, switchyard, pg_temp as $$
begin
  update switchyard.shared_setting set value = (value::bigint + 1)::text, updated_at = now() where key = 'routing_rules_version';
  return null;
end
$$;

create trigger routing_rule_changed after insert or update or delete or truncate on switchyard.routing_rule
for each statement execute function switchyard.bump_routing_rules_version();

-- The rule that brought a delivered copy; null when the recipient listens to the address itself.
alter table switchyard.delivery add column via text;

-- Rules in SQL: these write the table and tell every process to reload its cached rules (the same
-- config signal the service sends). The service checks the policy language; here only the shape.
create function switchyard.put_routing_rule(name text, match jsonb, to_addresses text[], on_addresses text[] default null)
returns void
language plpgsql set search_path = pg_catalog, switchyard, pg_temp as $$
begin
  if exists (select 1 from unnest(to_addresses || coalesce(on_addresses, '{}')) a where not switchyard.is_valid_address(a)) then
    raise exception 'put_routing_rule: every address is user:<name>, group:<name> or topic:<name>' using errcode = '22023';
  end if;
  insert into switchyard.routing_rule as r (name, match, to_addresses, on_addresses)
  values (put_routing_rule.name, put_routing_rule.match, put_routing_rule.to_addresses, put_routing_rule.on_addresses)
  on conflict on constraint routing_rule_pkey do update
    set match = excluded.match, to_addresses = excluded.to_addresses, on_addresses = excluded.on_addresses, updated_at = now();
  perform pg_notify('switchyard_config', 'sql|routing-rules');
end
$$;

create function switchyard.delete_routing_rule(name text) returns boolean
language plpgsql set search_path = pg_catalog, switchyard, pg_temp as $$
declare
  deleted boolean;
begin
  delete from switchyard.routing_rule r where r.name = delete_routing_rule.name;
  deleted := found;
  perform pg_notify('switchyard_config', 'sql|routing-rules');
  return deleted;
end
$$;

-- What each client listens to, with its filter (null: everything at that address).
create view switchyard.subscriptions as
select s.client_id, c.name as client_name, s.address, s.filter, s.created_at
from switchyard.subscription s
join switchyard.client c on c.id = s.client_id
where c.revoked_at is null;
