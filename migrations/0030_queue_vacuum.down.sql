do $$
begin
  if current_setting('server_version_num')::int >= 170000 and exists (select from pg_roles where rolname = 'switchyard_service') then
    execute 'revoke maintain on switchyard.delivery from switchyard_service';
  end if;
end $$;
