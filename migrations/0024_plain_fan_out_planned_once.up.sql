-- The plain fan-out (no content routes) planned once per connection instead of once per batch.
-- 0021 assembled both shapes of insert_deliveries as text and ran them with EXECUTE, so every
-- routing batch was parsed and planned again. On the live path batches are small (a few messages
-- at 3,000/s), and pg_stat_statements put insert_deliveries at 656 us per call, of which its
-- statement ran 145 us: the rest went to building the text, parsing and planning it. Here the plain
-- shape is a static statement (175 us per call, 112 of them running it); the content shape, whose
-- text depends on the routes a batch has, still goes through EXECUTE.
create or replace function switchyard.insert_deliveries(
  p_ids uuid[], p_to_addresses text[], p_priorities smallint[], p_deliver_ats timestamptz[], p_created_ats timestamptz[],
  p_group_ids text[], p_expires_ats timestamptz[], p_aging_ms float8, p_full_clients bigint[], p_horizon_seconds int,
  p_max_named int,
  p_add_entries bigint[] default null, p_add_addresses text[] default null, p_add_vias text[] default null,
  p_pick_clients bigint[] default null, p_pick_entries bigint[] default null, p_pick_vias text[] default null)
returns table (kind text, client_id bigint, n int)
language plpgsql volatile set search_path = pg_catalog as $$
#variable_conflict use_column
declare
  content boolean := p_add_entries is not null or p_pick_clients is not null;
  -- rules add addresses: a (client, message) pair may come twice, so keep the first
  keep_first boolean := coalesce(cardinality(p_add_entries), 0) > 0;
  copy constant text := $copy$
             greatest(m.deliver_at, m.created_at) - make_interval(secs => m.priority * $8 / 1000) as sort_key,
             greatest(m.deliver_at, now()) as visible_at, m.priority, m.group_id, m.expires_at,
             %1$s = any($9) and m.to_address not like 'user:%%' as overflow,
             m.deliver_at > now() + make_interval(secs => $10) as pending$copy$;
  recipients text;
begin
  if not content then
    -- The plain shape as a static statement: PL/pgSQL prepares it once per connection and, after a
    -- few calls, keeps a generic plan. The rules are the content shape's below, with the message's
    -- own subscribers as the only recipients (held equal by test/routing/fan-out-shapes.test.ts).
    return query
    with m as (
      select *
      from unnest(p_ids, p_to_addresses, p_priorities, p_deliver_ats, p_created_ats, p_group_ids, p_expires_ats)
           as m(id, to_address, priority, deliver_at, created_at, group_id, expires_at)
    ),
    r as (
      select s.client_id, m.id as message_id, null::text as via,
             greatest(m.deliver_at, m.created_at) - make_interval(secs => m.priority * p_aging_ms / 1000) as sort_key,
             greatest(m.deliver_at, now()) as visible_at, m.priority, m.group_id, m.expires_at,
             s.client_id = any(p_full_clients) and m.to_address not like 'user:%' as overflow,
             m.deliver_at > now() + make_interval(secs => p_horizon_seconds) as pending
      from m
      join switchyard.subscription s on s.address = m.to_address and s.filter is null
    ),
    inserted as (
      insert into switchyard.delivery (client_id, message_id, sort_key, visible_at, priority, group_id, expires_at, via)
      select r.client_id, r.message_id, r.sort_key, r.visible_at, r.priority, r.group_id, r.expires_at, r.via
      from r where not r.overflow and r.pending is not true
      on conflict (client_id, message_id) do nothing
      returning delivery.client_id
    ),
    postponed as (
      insert into switchyard.delivery_pending (client_id, message_id, due_at, sort_key, priority, group_id, expires_at, via)
      select r.client_id, r.message_id, r.visible_at, r.sort_key, r.priority, r.group_id, r.expires_at, r.via
      from r where not r.overflow and r.pending
      on conflict (client_id, message_id) do nothing
    ),
    overflowed as (
      select b.client_id from switchyard.bury_deliveries(array(
        select row(r.client_id, r.message_id, 0, null, null, 'the queue was full (overflow policy reject): this copy was not enqueued',
                   now(), r.priority, r.group_id)::switchyard.burial
        from r where r.overflow), 'overflow') b
    )
    (select 'delivered'::text, d.client_id, 1 from (select distinct i.client_id from inserted i limit p_max_named + 1) d)
    union all
    (select 'overflow'::text, o.client_id, count(*)::int from overflowed o group by o.client_id);
    return;
  end if;
  -- With content routes: the statement is put together from the parts the batch needs.
  recipients := format($content$
    select %s p.client_id, m.id as message_id, p.via, %s
    from (
      select s.client_id, m.entry, null::text as via
      from m join switchyard.subscription s on s.address = m.to_address and s.filter is null
      union all
      select s.client_id, r.entry, r.via
      from unnest($12, $13, $14) as r(entry, address, via)
      join switchyard.subscription s on s.address = r.address and s.filter is null
      union all
      select x.client_id, x.entry, x.via
      from unnest($15, $16, $17) as x(client_id, entry, via)
    ) p
    join m on m.entry = p.entry
    %s$content$,
    case when keep_first then 'distinct on (p.client_id, m.id)' else '' end,
    format(copy, 'p.client_id'),
    case when keep_first then 'order by p.client_id, m.id, p.via nulls first' else '' end);
  return query execute format($statement$
    with m as (
      select *
      from unnest($1, $2, $3, $4, $5, $6, $7)
           with ordinality as m(id, to_address, priority, deliver_at, created_at, group_id, expires_at, entry)
    ),
    r as (%s),
    inserted as (
      insert into switchyard.delivery (client_id, message_id, sort_key, visible_at, priority, group_id, expires_at, via)
      select client_id, message_id, sort_key, visible_at, priority, group_id, expires_at, via
      from r where not overflow and pending is not true
      on conflict (client_id, message_id) do nothing
      returning client_id
    ),
    postponed as (
      insert into switchyard.delivery_pending (client_id, message_id, due_at, sort_key, priority, group_id, expires_at, via)
      select client_id, message_id, visible_at, sort_key, priority, group_id, expires_at, via
      from r where not overflow and pending
      on conflict (client_id, message_id) do nothing
    ),
    overflowed as (
      select b.client_id from switchyard.bury_deliveries(array(
        select row(r.client_id, r.message_id, 0, null, null, 'the queue was full (overflow policy reject): this copy was not enqueued',
                   now(), r.priority, r.group_id)::switchyard.burial
        from r where r.overflow), 'overflow') b
    )
    (select 'delivered'::text, d.client_id, 1 from (select distinct client_id from inserted limit $11 + 1) d)
    union all
    (select 'overflow'::text, o.client_id, count(*)::int from overflowed o group by o.client_id)$statement$, recipients)
  using p_ids, p_to_addresses, p_priorities, p_deliver_ats, p_created_ats, p_group_ids, p_expires_ats,
        p_aging_ms, p_full_clients, p_horizon_seconds, p_max_named,
        p_add_entries, p_add_addresses, p_add_vias, p_pick_clients, p_pick_entries, p_pick_vias;
end
$$;
