// Addresses name who a message is for: user:<name> (every client registered under that name),
// group:<name> (members who listen to it), topic:<name> (whoever listens to it).
// The same rules live in SQL as switchyard.is_valid_address(); keep the two in step.
import { z } from '@hono/zod-openapi';
import { ADDRESS_LENGTH_CAP } from '../config.ts';
import { isString, limitRefinement } from '../http/problem.ts';

export const ADDRESS_KINDS = ['user', 'group', 'topic'] as const;
export type AddressKind = (typeof ADDRESS_KINDS)[number];

export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
export const TOPIC_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_./-]{0,127}$/;

export interface Address {
  kind: AddressKind;
  name: string;
}

/** The reason an address is not valid, or undefined when it is. */
export function addressProblem(value: string): string | undefined {
  const colon = value.indexOf(':');
  const kind = colon < 0 ? '' : value.slice(0, colon);
  if (!(ADDRESS_KINDS as readonly string[]).includes(kind)) {
    return `unknown address kind "${kind || value}": an address is user:<name>, group:<name> or topic:<name>`;
  }
  const name = value.slice(colon + 1);
  const pattern = kind === 'topic' ? TOPIC_NAME_PATTERN : NAME_PATTERN;
  if (!pattern.test(name)) {
    return kind === 'topic'
      ? 'a topic name is 1-128 letters, digits and _ . - /, starting with a letter or digit'
      : `a ${kind} name is 1-64 letters, digits and _ . -, starting with a letter or digit`;
  }
  return undefined;
}

export function parseAddress(value: string): Address {
  const colon = value.indexOf(':');
  return { kind: value.slice(0, colon) as AddressKind, name: value.slice(colon + 1) };
}

export const userAddress = (name: string) => `user:${name}`;

/** An address of at most maxLength characters (SWITCHYARD_MAX_ADDRESS_LENGTH; AddressTooLong above). */
export function addressSchema(maxLength: number = ADDRESS_LENGTH_CAP) {
  return z
    .string()
    .refine((value) => value.length <= maxLength, limitRefinement('AddressTooLong', `at most ${maxLength} characters`, isString))
    .superRefine((value, ctx) => {
      if (value.length > maxLength) return; // reported above
      const problem = addressProblem(value);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .openapi({ example: 'topic:news', description: 'user:<name>, group:<name> or topic:<name>', maxLength });
}

export const NameSchema = z
  .string()
  .regex(NAME_PATTERN, 'a name is 1-64 letters, digits and _ . -, starting with a letter or digit')
  .openapi({ example: 'alice' });
