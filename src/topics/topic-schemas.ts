// Per-topic JSON Schemas, set by admins and enforced by the router on every payload published to
// the topic (the SQL publish function trusts its caller and skips them). Schemas are JSON Schema
// 2020-12 unless their $schema names draft-07; ajv compiles them to code once per schema text,
// and compiled validators are cached per topic like policies (config signal topic:<name>).
import { Ajv } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { ValidateFunction } from 'ajv';
import { LRUCache, type Perf } from 'lru-cache';
import type { Db } from '../db/database.ts';
import { findJsonProblem, NON_FINITE_NUMBER_MESSAGE, UNSTORABLE_TEXT_MESSAGE } from '../http/json-value.ts';
import { ApiError, FIELD_ERRORS_MAX, type FieldError } from '../http/problem.ts';
import { linearRegExp, useLinearUniqueItems } from './linear-schema-keywords.ts';
import { findTopicSchema } from './topics.repository.ts';

// ajv-formats is CommonJS: its plugin is module.exports, typed as the default export's default.
const addFormats = addFormatsModule.default;

/** Deeper schemas are refused before ajv walks them (recursively). */
export const SCHEMA_DEPTH_MAX = 64;
/** Topics cached at most; past it the least recently used one makes room. */
const MAX_CACHED_TOPICS = 10_000;
const DRAFT_2020 = /^https?:\/\/json-schema\.org\/draft\/2020-12\/schema#?$/;
const DRAFT_07 = /^https?:\/\/json-schema\.org\/draft-07\/schema#?$/;

/** Checks a payload; returns the failing paths under `path` (e.g. messages.3.payload.items.0). */
export type PayloadValidator = (payload: unknown, path: string) => FieldError[];

const AJV_OPTIONS = {
  allErrors: true, // every failing path in one answer
  strictSchema: true, // an unknown keyword is a typo: refuse the schema rather than ignore it
  strictTypes: false,
  strictTuples: false,
  strictRequired: false,
  allowUnionTypes: true,
  logger: false,
  code: { regExp: linearRegExp }, // patterns run in linear time (linear-schema-keywords.ts)
} as const;

/** Compiles a schema, or throws SchemaInvalid saying why. Remote $refs are never fetched. */
export function compileTopicSchema(schema: unknown): PayloadValidator {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    throw new ApiError('SchemaInvalid', 'a JSON Schema here is a JSON object');
  }
  const problem = findJsonProblem(schema, SCHEMA_DEPTH_MAX);
  if (problem) {
    throw new ApiError('SchemaInvalid', problem.kind === 'depth'
      ? `the schema is nested deeper than ${SCHEMA_DEPTH_MAX} levels`
      : `${['(schema)', ...problem.path].join('.')} ${problem.kind === 'number' ? NON_FINITE_NUMBER_MESSAGE : UNSTORABLE_TEXT_MESSAGE}`);
  }
  const dialect = (schema as { $schema?: unknown }).$schema;
  let ajv: Ajv;
  if (dialect === undefined || (typeof dialect === 'string' && DRAFT_2020.test(dialect))) ajv = new Ajv2020(AJV_OPTIONS);
  else if (typeof dialect === 'string' && DRAFT_07.test(dialect)) ajv = new Ajv(AJV_OPTIONS);
  else throw new ApiError('SchemaInvalid', '$schema must be JSON Schema 2020-12 (the default) or draft-07');
  addFormats(ajv);
  useLinearUniqueItems(ajv);
  let validate: ValidateFunction;
  try {
    // A fresh instance per schema: nothing one schema defines ($id, $defs) leaks into another,
    // and a replaced schema's code is garbage once its validator is dropped.
    validate = ajv.compile(schema);
  } catch (error) {
    throw new ApiError('SchemaInvalid', error instanceof Error ? error.message : String(error));
  }
  return (payload, path) => {
    if (validate(payload)) return [];
    return (validate.errors ?? []).slice(0, FIELD_ERRORS_MAX).map((e) => ({
      path: path + pointerToDotted(e.instancePath),
      message: e.message ?? `fails ${e.keyword}`,
    }));
  };
}

/** /items/0/a~1b -> .items.0.a/b */
function pointerToDotted(pointer: string): string {
  if (pointer === '') return '';
  return pointer.split('/').slice(1).map((part) => `.${part.replace(/~1/g, '/').replace(/~0/g, '~')}`).join('');
}

interface CachedSchema {
  text: string | undefined;
  validate: PayloadValidator | undefined;
}

export class TopicSchemas {
  readonly #db: Db;
  /** Undefined: not cached (a cache time of 0). */
  readonly #cache: LRUCache<string, CachedSchema> | undefined;

  /** `clock`: for tests, the time the cache's entries age by (read at every look, not once a millisecond). */
  constructor(db: Db, cacheMs: number, clock?: Perf) {
    this.#db = db;
    this.#cache = cacheMs > 0
      ? new LRUCache({ max: MAX_CACHED_TOPICS, ttl: cacheMs, ...(clock ? { perf: clock, ttlResolution: 0 } : {}) })
      : undefined;
  }

  /** The topic's validator, or undefined when it has no schema. */
  async validator(topic: string): Promise<PayloadValidator | undefined> {
    const status: LRUCache.Status<string, CachedSchema> = {};
    const cached = this.#cache?.get(topic, { allowStale: true, status }); // a stale one is read again below
    if (cached && status.get === 'hit') return cached.validate;
    const schema = await findTopicSchema(this.#db, topic);
    const text = schema === undefined ? undefined : JSON.stringify(schema);
    // The cache time running out re-reads the schema; an unchanged one keeps its compiled code.
    const validate = text === cached?.text ? cached?.validate : schema === undefined ? undefined : compileTopicSchema(schema);
    this.#cache?.set(topic, { text, validate });
    return validate;
  }

  /** Forgets cached schemas of these topics (all when undefined). */
  invalidate(topics: string[] | undefined): void {
    if (topics === undefined) this.#cache?.clear();
    else for (const topic of topics) this.#cache?.delete(topic);
  }
}
