import { z } from '@hono/zod-openapi';
import type { Limits } from '../config.ts';
import { limitRefinement } from '../http/problem.ts';
import { addressSchema, NameSchema } from '../addresses/address.ts';
import { filterPolicySchema } from '../routing/filter-policy.schemas.ts';

/** A listen-to entry as stored and shown: the address alone, or with its filter. */
const ListenToEntryView = z
  .union([z.string(), z.object({ address: z.string(), filter: z.record(z.string(), z.unknown()) })])
  .openapi({ description: 'an address, or {address, filter} when only messages matching the filter policy are received' });

/** The request schemas for these limits (SWITCHYARD_MAX_LISTEN_TO, SWITCHYARD_MAX_ADDRESS_LENGTH). */
export function createClientSchemas(limits: Pick<Limits, 'listenTo' | 'addressLength'>) {
  const Entry = z.union([
    addressSchema(limits.addressLength),
    z.strictObject({ address: addressSchema(limits.addressLength), filter: filterPolicySchema().optional() }),
  ]);
  const ListenTo = z
    .array(Entry)
    .refine(
      (addresses) => addresses.length <= limits.listenTo,
      limitRefinement('TooManyListenTo', `at most ${limits.listenTo} addresses`, Array.isArray),
    )
    .openapi({
      example: ['topic:news', { address: 'topic:orders', filter: { type: ['order.created'], payload: { total: [{ numeric: ['>=', 100] }] } } }],
      description: `up to ${limits.listenTo} addresses, each plain or with a filter policy (README, "Content routing")`,
      maxItems: limits.listenTo,
    });

  const RegisterClientSchema = z
    .strictObject({ name: NameSchema, listen_to: ListenTo.default([]) })
    .openapi('RegisterClient');

  const ListenToSchema = z.strictObject({ listen_to: ListenTo }).openapi('ListenTo');

  return { RegisterClientSchema, ListenToSchema };
}

export const ClientSchema = z
  .object({
    id: z.string().openapi({ example: '1' }),
    name: z.string(),
    listen_to: z.array(ListenToEntryView).openapi({ description: 'always includes user:<name>' }),
    created_at: z.string().openapi({ format: 'date-time' }),
  })
  .openapi('Client');

export const RegisteredClientSchema = ClientSchema.extend({
  token: z.string().openapi({ description: 'the bearer token; shown only in this response' }),
}).openapi('RegisteredClient');

export const ClientStatusSchema = ClientSchema.extend({
  revoked_at: z.string().nullable().openapi({ format: 'date-time', description: 'when the client was revoked; null while active' }),
}).openapi('ClientStatus');

/** Client ids are positive bigints; checked here so a huge number is a 400, not a database error. */
export const ClientIdSchema = z
  .string()
  .regex(/^[1-9][0-9]{0,18}$/, 'a client id is a positive integer')
  .refine((id) => !/^[1-9][0-9]{0,18}$/.test(id) || BigInt(id) <= 2n ** 63n - 1n, 'a client id is at most 9223372036854775807');

export const ClientIdParams = z.object({
  id: ClientIdSchema.openapi({ param: { name: 'id', in: 'path' }, example: '42' }),
});

export type ClientView = z.infer<typeof ClientSchema>;
export type ClientStatusView = z.infer<typeof ClientStatusSchema>;
