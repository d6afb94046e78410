// One record per environment variable: everything else about a setting (the validating schema,
// the nested Config type, the README table, `switchyard config`) is derived from these records.
import type { z } from 'zod';

export interface Setting<P extends string = string, S extends z.ZodType = z.ZodType, Optional extends boolean = boolean> {
  env: string;
  /** Where the value lands in Config, dot-separated ("db.poolMax"). */
  path: P;
  /** Validates and converts the variable's text; names the variable when it fails. */
  schema: S;
  /** The text used when the variable is unset; undefined: the setting stays unset. */
  default: string | number | undefined;
  /** What happens when an optional setting is unset (README and `switchyard config`). */
  unset?: string;
  /** The README's "meaning" column (markdown). */
  doc: string;
  /** Masked in `switchyard config` (a database URL keeps all but its password). */
  secret?: boolean;
  optional: Optional;
}

interface Declaration<P extends string, S extends z.ZodType> {
  env: string;
  path: P;
  schema: S;
  doc: string;
  secret?: boolean;
}

/** A setting that always has a value: the default when the variable is unset. */
export function setting<const P extends string, S extends z.ZodType>(
  declaration: Declaration<P, S> & { default: string | number },
): Setting<P, S, false> {
  return { ...declaration, optional: false };
}

/** A setting that may stay unset; `unset` says what the service does then. */
export function optionalSetting<const P extends string, S extends z.ZodType>(
  declaration: Declaration<P, S> & { unset: string },
): Setting<P, S, true> {
  return { ...declaration, default: undefined, optional: true };
}

type ValueOf<T> = T extends Setting<string, infer S, infer O> ? (O extends true ? z.output<S> | undefined : z.output<S>) : never;
type Nest<P extends string, V> = P extends `${infer Head}.${infer Rest}` ? { [K in Head]: Nest<Rest, V> } : { [K in P]: V };
type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
/** Flattens intersections so that editors show one plain nested object. */
export type Simplify<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]: Simplify<T[K]> } : T;

/** The nested object the settings' paths and schemas describe. */
export type SettingsTree<T extends readonly Setting[]> = UnionToIntersection<
  { [I in keyof T]: T[I] extends Setting ? Nest<T[I]['path'], ValueOf<T[I]>> : never }[number]
>;

/** Puts value at a dot-separated path, creating the objects on the way. */
export function assignPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
  node[keys.at(-1)!] = value;
}
