-- Reverses 0008_address_check_without_bounded_repeats.
create or replace function switchyard.is_valid_address(address text) returns boolean
language sql immutable parallel safe as $$
  select address ~ '^(user|group):[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'
      or address ~ '^topic:[A-Za-z0-9][A-Za-z0-9_./-]{0,127}$'
$$;
