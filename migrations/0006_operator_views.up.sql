-- Operator views: what operators look at, in SQL (README, "Operator views"). Each reads what is
-- already kept up to date elsewhere (queue_stat, stage_lag(), the receipt and dead-letter tables,
-- rollups), so none of them counts a hot table on its own, except delivery_receipts, which reads
-- the live deliveries and is meant to be filtered.
--
-- Top publishers need counts per sender: the per-minute analytics rollups are per address. The
-- analytics stage adds each message to analytics_sender_hour in the transaction that advances its
-- cursors (exactly once, like analytics_minute). Hourly, not per minute: with many senders a
-- per-minute table would grow sixty times as fast for a question ("who publishes most today?")
-- that needs no finer grain. Hours are UTC hours, whatever the session's time zone. Old hours
-- are deleted by the expiry job (SWITCHYARD_PUBLISHER_STATS_RETENTION_DAYS).

create table switchyard.analytics_sender_hour (
  hour timestamptz not null,
  sender text not null,
  published bigint not null default 0,
  payload_bytes bigint not null default 0,
  primary key (hour, sender)
);

-- One row per active client: its queue as last counted (queue_stat, every
-- SWITCHYARD_QUEUE_STATS_MS; counted_at says when) and its dead letters.
create view switchyard.queue_overview as
select c.id as client_id, c.name as client_name,
       coalesce(q.depth, 0) as depth, coalesce(q.visible, 0) as visible, coalesce(q.in_flight, 0) as in_flight,
       coalesce(q.delayed, 0) as delayed, q.oldest_enqueued_at,
       coalesce(extract(epoch from now() - q.oldest_enqueued_at), 0)::double precision as oldest_age_seconds,
       (select count(*) from switchyard.dead_letter d where d.client_id = c.id) as dead_letters,
       q.updated_at as counted_at
from switchyard.client c
left join switchyard.queue_stat q on q.client_id = c.id
where c.revoked_at is null;

-- One row per stage: how far behind it is (rows counted up to 10,000 per lane, rows_capped says
-- when the count stopped there), what waits for a retry, what its retries gave up on, and when
-- it last advanced a cursor.
create view switchyard.stage_overview as
select l.stage, l.lag_seconds, l.oldest_pending_at, l.rows_behind, l.rows_capped,
       (select count(*) from switchyard.stage_retry r where r.stage = l.stage) as retrying,
       (select count(*) from switchyard.stage_dead_letter d where d.stage = l.stage) as dead_letters,
       (select max(c.updated_at) from switchyard.stage_cursor c where c.stage = l.stage) as last_advanced_at
from switchyard.stage_lag(10000) l;

-- Who received and acked which message, and when: one row per (message, client) from wherever
-- that delivery is now. acked (delivery_receipt, kept SWITCHYARD_RECEIPT_RETENTION_DAYS),
-- pending (visible, waiting to be received), delayed (not visible yet, never received),
-- in_flight (received and not visible again yet: leased, or nacked and waiting its backoff),
-- dead_lettered. sent_at comes from the id (UUIDv7); sender and address from history, or the log
-- while history has not caught up. Filter by message_id (an index lookup in the receipts and the
-- dead letters), or add client_id too to look the live delivery up by its key.
create view switchyard.delivery_receipts as
select x.message_id, x.client_id, c.name as client_name, x.state, x.receive_count,
       x.first_received_at, x.last_received_at, x.acked_at, x.dead_at,
       switchyard.uuid_time(x.message_id) as sent_at,
       coalesce(h.sender, m.sender) as sender, coalesce(h.to_address, m.to_address) as to_address,
       coalesce(h.type, m.type) as type
from (
  select r.message_id, r.client_id, 'acked'::text as state, r.receive_count, r.first_received_at,
         null::timestamptz as last_received_at, r.acked_at, null::timestamptz as dead_at
  from switchyard.delivery_receipt r
  union all
  select d.message_id, d.client_id,
         case when d.visible_at <= now() then 'pending'
              when d.receive_count = 0 then 'delayed'
              else 'in_flight' end,
         d.receive_count, d.first_received_at, d.last_received_at, null, null
  from switchyard.delivery d
  union all
  select dl.message_id, dl.client_id, 'dead_lettered', dl.receive_count, dl.first_received_at,
         dl.last_received_at, null, dl.dead_at
  from switchyard.dead_letter dl
) x
join switchyard.client c on c.id = x.client_id
left join switchyard.history h on h.message_id = x.message_id
left join switchyard.message m on m.id = x.message_id;

-- Senders by messages published in the current hour and the 23 before it, most first.
create view switchyard.top_publishers as
select s.sender,
       sum(s.published) filter (where s.hour >= date_trunc('hour', now(), 'UTC')) as published_this_hour,
       sum(s.published) as published_24h,
       sum(s.payload_bytes) as payload_bytes_24h,
       max(s.hour) as last_active_hour
from switchyard.analytics_sender_hour s
where s.hour >= date_trunc('hour', now(), 'UTC') - interval '23 hours'
group by s.sender
order by published_24h desc, s.sender;
