-- Reverses 0010_redrive_skips_revoked_clients: the definition of 0002.

create or replace function switchyard.redrive_dead_letters(
  client_id bigint default null, error_like text default null,
  since timestamptz default null, until timestamptz default null, batch_size integer default 1000
) returns integer
language sql as $$
  with picked as (
    select d.client_id, d.message_id
    from switchyard.dead_letter d
    where (redrive_dead_letters.client_id is null or d.client_id = redrive_dead_letters.client_id)
      and (error_like is null or d.last_error ilike '%' || error_like || '%')
      and (since is null or d.dead_at >= since)
      and (until is null or d.dead_at < until)
      and exists (select 1 from switchyard.message m where m.id = d.message_id)
    order by d.dead_at
    limit batch_size
    for update skip locked
  ),
  moved as (
    delete from switchyard.dead_letter d using picked p
    where d.client_id = p.client_id and d.message_id = p.message_id
    returning d.*
  ),
  requeued as (
    insert into switchyard.delivery (client_id, message_id, sort_key, visible_at, priority, group_id, expires_at)
    select moved.client_id, moved.message_id, now(), now(), moved.priority, moved.group_id, null from moved
    on conflict (client_id, message_id) do nothing
    returning 1
  )
  select count(*)::integer from requeued
$$;
