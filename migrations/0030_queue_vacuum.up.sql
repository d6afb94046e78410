-- The push role vacuums the delivery queue itself, as often as once a second
-- (src/inbox/queue-vacuum.ts says why autovacuum's pace is too slow for it). The service owns
-- nothing (migration 0011), so it needs the MAINTAIN right on this one table, which PostgreSQL has
-- from version 17. On older servers nothing is granted: the service sees it may not vacuum, says so
-- once, and leaves the table to autovacuum as before.
do $$
begin
  if current_setting('server_version_num')::int >= 170000 and exists (select from pg_roles where rolname = 'switchyard_service') then
    execute 'grant maintain on switchyard.delivery to switchyard_service';
  end if;
end $$;
