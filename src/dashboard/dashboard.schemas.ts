// What the dashboard's data endpoints answer: a snapshot of the live numbers (also the data of
// every event on the stream) and the table of clients and their queues.
import { z } from '@hono/zod-openapi';
import { PROCESSING_ROWS_MIN } from '../ops/ops-snapshot.ts';

/** Clients in the dashboard's processing-time table: the ones closest to their lease (the snapshot reads at least these). */
export const PROCESSING_CLIENTS = PROCESSING_ROWS_MIN;
/** Webhook endpoints in the dashboard's circuits table: open, half-open and disabled ones first. */
export const CIRCUIT_ROWS = 20;

export const DashboardSnapshotSchema = z
  .object({
    at: z.string().openapi({ description: 'when the snapshot was taken' }),
    queues: z.object({
      queues: z.number().int().openapi({ description: 'client queues holding anything' }),
      depth: z.number(),
      visible: z.number(),
      in_flight: z.number(),
      delayed: z.number(),
      oldest_age_seconds: z.number().nullable().openapi({ description: 'age of the oldest delivery waiting in any queue' }),
      counted_at: z.string().nullable().openapi({ description: 'when the queues were last counted (role upkeep, every 2 s)' }),
    }),
    throughput: z.object({
      published_per_second: z.number().nullable(),
      delivered_per_second: z.number().nullable(),
      dead_lettered_per_second: z.number().nullable(),
      expired_per_second: z.number().nullable(),
      window_seconds: z.number().openapi({ description: 'the rates are averages over this many seconds; null until two snapshots exist' }),
    }),
    stages: z.array(z.object({
      stage: z.string(),
      lag_seconds: z.number().openapi({ description: 'age of the oldest log row the stage has not passed' }),
      rows_behind: z.number(),
      rows_capped: z.boolean().openapi({ description: 'true: rows_behind is a lower bound (counted up to a cap per lane)' }),
    })),
    dead_letters: z.object({
      clients: z.number().openapi({ description: 'in client dead-letter queues' }),
      by_reason: z.record(z.string(), z.number()),
      stages: z.number().openapi({ description: 'messages a stage gave up on' }),
    }),
    processing: z.array(z.object({
      client_id: z.string(),
      client_name: z.string(),
      acked: z.number(),
      p50_ms: z.number(),
      p95_ms: z.number(),
      p99_ms: z.number(),
      visibility_ms: z.number().openapi({ description: 'average lease of the acked deliveries' }),
      at_risk: z.boolean().openapi({ description: 'p99 passes half the lease' }),
      recommended_visibility_seconds: z.number().int().openapi({ description: 'about six times the average processing time' }),
    })).openapi({ description: `consumer processing time (receive to ack) over the last 5 minutes, the ${PROCESSING_CLIENTS} clients closest to their lease` }),
    circuits: z.array(z.object({
      client_id: z.string(),
      client_name: z.string(),
      url: z.string(),
      enabled: z.boolean(),
      circuit_state: z.enum(['closed', 'open', 'half_open']),
      circuit_changed_at: z.string().nullable(),
      last_error: z.string().nullable(),
    })).openapi({ description: `webhook endpoints and their circuit breakers, open, half-open and disabled first, at most ${CIRCUIT_ROWS}` }),
  })
  .openapi('DashboardSnapshot');

export type DashboardSnapshot = z.infer<typeof DashboardSnapshotSchema>;

export const DashboardQueuesQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(200).openapi({ description: 'the deepest queues first' }),
});

export const DashboardQueuesSchema = z
  .object({
    queues: z.array(z.object({
      client_id: z.string(),
      client_name: z.string(),
      listen_to: z.array(z.string()),
      depth: z.number(),
      visible: z.number(),
      in_flight: z.number(),
      delayed: z.number(),
      oldest_enqueued_at: z.string().nullable(),
      dead_letters: z.number(),
    })),
  })
  .openapi('DashboardQueues');
