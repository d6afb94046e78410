import { z } from '@hono/zod-openapi';
import { AddressSchema, NameSchema } from '../messages/address.ts';

export const LISTEN_TO_MAX = 100;

const ListenTo = z
  .array(AddressSchema)
  .max(LISTEN_TO_MAX)
  .openapi({ example: ['topic:news', 'group:eng'], description: `up to ${LISTEN_TO_MAX} addresses` });

export const RegisterClientSchema = z
  .strictObject({ name: NameSchema, listen_to: ListenTo.default([]) })
  .openapi('RegisterClient');

export const ListenToSchema = z.strictObject({ listen_to: ListenTo }).openapi('ListenTo');

export const ClientSchema = z
  .object({
    id: z.string().openapi({ example: '1' }),
    name: z.string(),
    listen_to: z.array(z.string()).openapi({ description: 'always includes user:<name>' }),
    created_at: z.string().openapi({ format: 'date-time' }),
  })
  .openapi('Client');

export const RegisteredClientSchema = ClientSchema.extend({
  token: z.string().openapi({ description: 'the bearer token; shown only in this response' }),
}).openapi('RegisteredClient');

export type ClientView = z.infer<typeof ClientSchema>;
