-- An Idempotency-Key in progress names the process that holds it (its listener's instance id), so
-- that a retry after that process died takes over at once instead of waiting out the lease: the
-- holder is gone when no session of the database carries its listener's application_name.
alter table switchyard.idempotency_key add column holder text;

create function switchyard.idempotency_holder_gone(holder text) returns boolean
language sql stable set search_path = pg_catalog as $$
  select holder is not null and not exists (
    select 1 from pg_stat_activity where application_name = 'switchyard:listen:' || holder)
$$;
