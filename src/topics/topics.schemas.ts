import { z } from '@hono/zod-openapi';
import { isRecord } from '../http/problem.ts';
import { TOPIC_NAME_PATTERN } from '../addresses/address.ts';
import { GRANT_PATTERN, GRANTS_MAX } from './topic-policies.ts';

export const TopicParams = z.object({
  topic: z
    .string()
    .regex(TOPIC_NAME_PATTERN, 'a topic name is 1-128 letters, digits and _ . - /, starting with a letter or digit')
    .openapi({ param: { name: 'topic', in: 'path' }, example: 'news', description: 'the topic name without topic: (a / is sent as %2F)' }),
});

const Grants = z
  .array(z.string().regex(GRANT_PATTERN, 'a grant is a client name, or a pattern of name characters and * (1-64)'))
  .max(GRANTS_MAX)
  .nullable()
  .openapi({
    description: 'client names or patterns (* is any run of name characters); null or absent: open to every authenticated client; []: no client',
    example: ['alice', 'svc-*'],
  });

export const TopicPolicyBodySchema = z
  .strictObject({ publish: Grants.optional(), subscribe: Grants.optional() })
  .openapi('TopicPolicyChange');

export const TopicPolicySchema = z
  .object({
    topic: z.string(),
    publish: z.array(z.string()).nullable(),
    subscribe: z.array(z.string()).nullable(),
  })
  .openapi('TopicPolicy');

export const TopicPolicyChangedSchema = TopicPolicySchema.extend({
  unsubscribed: z.number().int().openapi({ description: 'subscriptions removed because their client is no longer granted subscribe' }),
}).openapi('TopicPolicyChanged');

/** The request body is the JSON Schema itself, passed through untouched (no key is rebuilt). */
export const JsonSchemaDocument = z
  .custom<Record<string, unknown>>(isRecord, 'a JSON Schema here is a JSON object')
  .openapi({ type: 'object', description: 'a JSON Schema (2020-12, or draft-07 when its $schema says so)', example: { type: 'object', required: ['text'] } });

export const TopicSchemaSchema = z
  .object({ topic: z.string(), schema: z.record(z.string(), z.unknown()) })
  .openapi('TopicSchema');

export const TopicSchemaDeletedSchema = z.object({ topic: z.string(), deleted: z.boolean() }).openapi('TopicSchemaDeleted');
