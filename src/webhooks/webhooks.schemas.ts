import { z } from '@hono/zod-openapi';

export const WEBHOOK_URL_MAX = 2048;
export const WEBHOOK_BATCH_MAX = 100;
export const WEBHOOK_CONCURRENCY_MAX = 32;
export const WEBHOOK_TIMEOUT_MS_MIN = 100;
export const WEBHOOK_TIMEOUT_MS_MAX = 60_000;
/** How long the previous secret keeps signing after a rotation, at most (7 days). */
export const WEBHOOK_OVERLAP_SECONDS_MAX = 7 * 24 * 3600;

export const WebhookInputSchema = z
  .strictObject({
    url: z.string().min(1).max(WEBHOOK_URL_MAX).openapi({ example: 'https://hooks.example.com/switchyard', description: 'https; http only for hosts in SWITCHYARD_WEBHOOK_ALLOW_HOSTS' }),
    batch_size: z.number().int().min(1).max(WEBHOOK_BATCH_MAX).default(1).openapi({ description: 'messages per POST (1: one at a time)' }),
    concurrency: z.number().int().min(1).max(WEBHOOK_CONCURRENCY_MAX).default(4).openapi({ description: 'requests in flight at most' }),
    timeout_ms: z.number().int().min(WEBHOOK_TIMEOUT_MS_MIN).max(WEBHOOK_TIMEOUT_MS_MAX).default(10_000),
  })
  .openapi('WebhookInput');

export const WebhookRotateSchema = z
  .strictObject({
    overlap_seconds: z.number().int().min(0).max(WEBHOOK_OVERLAP_SECONDS_MAX).default(86_400)
      .openapi({ description: 'the previous secret signs too for this long (default a day)' }),
  })
  .openapi('WebhookRotate');

export const WebhookViewSchema = z
  .object({
    client_id: z.string(),
    url: z.string(),
    batch_size: z.number().int(),
    concurrency: z.number().int(),
    timeout_ms: z.number().int(),
    enabled: z.boolean(),
    disabled_reason: z.string().nullable(),
    circuit_state: z.enum(['closed', 'open', 'half_open']),
    circuit_changed_at: z.string().nullable(),
    last_error: z.string().nullable(),
    rotating: z.boolean().openapi({ description: 'the previous secret still signs too' }),
    secret: z.string().optional().openapi({ description: 'shown once: when the endpoint is created and when the secret is rotated (whsec_ + base64)' }),
  })
  .openapi('Webhook');
