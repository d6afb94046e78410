// Generated requests for the fuzz test, each one invalid or not allowed by construction: a valid
// request with one thing broken (a field of the wrong type or shape, a missing or unknown field, a
// hostile string, a broken limit, a path parameter out of its grammar, a bad header), or a body
// that is no JSON object at all. Validity is decided here from the API contract, not by calling
// the code under test.
import fc from 'fast-check';

export interface FuzzLimits {
  batchMessages: number;
  payloadBytes: number;
  payloadDepth: number;
  headers: number;
  listenTo: number;
}

export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  /** Sent as is. */
  body: string | undefined;
  /** What was broken, for the failure report. */
  mutation: string;
}

// ---------------------------------------------------------------------------------------------
// Building blocks

/** Characters no name or address allows, hostile ones first. */
const FORBIDDEN = fc.constantFrom(' ', "'", '"', ';', '\u0000', '%', '\\', '\n', '\r', ':', '*', '@', '<', '>', '$', '{', 'é', '😀', '\uD800', '\u202E', '\u00A0');
const INJECTIONS = fc.constantFrom(
  "x'; drop table switchyard.message; --",
  "x' or '1'='1",
  'x"); delete from switchyard.client; --',
  '../../../etc/passwd',
  '${7*7}',
  '<script>alert(1)</script>',
  'x\u0000y',
  'x%00y',
  '\uFEFFx',
);
const alnum = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'), minLength: 1, maxLength: 8 });

/**
 * A name with a forbidden character in it, starting badly, empty, too long (user and group names
 * have at most 64 characters, topic names 128), or an injection.
 */
const badNameOf = (maxLength: number) => fc.oneof(
  fc.tuple(alnum, FORBIDDEN, fc.string({ maxLength: 5 })).map(([a, bad, b]) => a + bad + b),
  fc.constantFrom('', '_x', '-x', '.x'),
  fc.integer({ min: maxLength + 1, max: maxLength + 150 }).map((n) => 'a'.repeat(n)),
  INJECTIONS,
);
const badName = badNameOf(64);

const badAddress = fc.oneof(
  fc.tuple(fc.constantFrom('user', 'group'), badName).map(([kind, name]) => `${kind}:${name}`),
  badNameOf(128).map((name) => `topic:${name}`),
  fc.tuple(fc.string({ maxLength: 8 }).filter((k) => !['user', 'group', 'topic'].includes(k)), alnum).map(([kind, name]) => `${kind}:${name}`),
  fc.constantFrom('topic', 'topic:', 'user::x', ':x', 'TOPIC:x', ' topic:x', 'topic:x '),
  fc.integer({ min: 129, max: 400 }).map((n) => `topic:${'a'.repeat(n)}`),
);

/** A JSON value of some other type than `avoid`. */
function wrongType(...avoid: ('string' | 'number' | 'boolean' | 'null' | 'array' | 'object')[]) {
  const all = {
    string: fc.string({ maxLength: 10 }),
    number: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })),
    boolean: fc.boolean(),
    null: fc.constant(null),
    array: fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
    object: fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
  };
  return fc.oneof(...Object.entries(all).filter(([type]) => !(avoid as string[]).includes(type)).map(([, arb]) => arb));
}

const badInteger = (min: number, max: number) => fc.oneof(
  fc.integer({ min: max + 1 }), fc.integer({ max: min - 1 }),
  fc.double({ min: min + 0.01, max: max - 0.01, noNaN: true }).filter((x) => !Number.isInteger(x)),
  wrongType('number'),
);

const badToken = fc.oneof(fc.constant(''), fc.integer({ min: 129, max: 300 }).map((n) => 'x'.repeat(n)), fc.constant('x\u0000y'), fc.constant('\uDC00'), wrongType('string'));

/** A JSON value nested deeper than `depth`, with ordinary values around it. */
const tooDeep = (depth: number) => fc.tuple(fc.integer({ min: depth + 1, max: depth + 40 }), fc.jsonValue({ maxDepth: 1 }), fc.boolean())
  .map(([levels, leaf, asObjects]) => {
    let value: unknown = leaf;
    for (let i = 0; i < levels; i++) value = asObjects ? { k: value } : [value];
    return value;
  });

/** A payload with text PostgreSQL cannot store somewhere inside. */
const unstorablePayload = fc.tuple(fc.constantFrom('\u0000', '\uD800', '\uDFFF', 'a\u0000', '\uDBFFx'), fc.boolean())
  .map(([text, asKey]) => (asKey ? { nested: { [text]: 1 } } : { nested: [1, text] }));

// ---------------------------------------------------------------------------------------------
// Valid bodies, and ways to break them.

const validPayload = fc.jsonValue({ maxDepth: 3 }).filter((v) => JSON.stringify(v).length < 200 && !/\\u0000|\\ud[89a-f]/i.test(JSON.stringify(v)));

const validMessage = fc.record({
  to: fc.constantFrom('topic:fuzz', 'topic:fuzz/a.b-c_d', 'user:fuzzer'),
  payload: validPayload,
  type: fc.option(alnum, { nil: undefined }),
  priority: fc.option(fc.integer({ min: 0, max: 9 }), { nil: undefined }),
}, { requiredKeys: ['to', 'payload'] });

type Fields = Record<string, fc.Arbitrary<unknown>>;

function messageFields(l: FuzzLimits): Fields {
  return {
    to: fc.oneof(badAddress, wrongType('string')),
    reply_to: fc.oneof(badAddress, wrongType('string')),
    type: badToken,
    group_id: badToken,
    dedup_id: badToken,
    correlation_id: badToken,
    priority: badInteger(0, 9),
    delay_seconds: badInteger(0, 365 * 24 * 3600),
    deliver_at: badDateTime,
    ttl_seconds: badInteger(1, 14 * 24 * 3600),
    headers: fc.oneof(
      wrongType('object'),
      fc.tuple(badName.filter((n) => n !== ''), fc.string({ maxLength: 5 })).map(([k, v]) => ({ [k]: v })),
      fc.record({ h: wrongType('string') }),
      fc.record({ h: fc.integer({ min: 1025, max: 2000 }).map((n) => 'v'.repeat(n)) }),
      fc.record({ h: fc.constantFrom('\u0000', 'a\uD800') }),
      fc.integer({ min: l.headers + 1, max: l.headers + 10 }).map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`h${i}`, 'v']))),
    ),
    payload: fc.oneof(
      tooDeep(l.payloadDepth),
      unstorablePayload,
      fc.constant({ n: Infinity }), // sent as 1e400 (see bodyText): a JSON number beyond a double
      fc.integer({ min: l.payloadBytes - 1, max: l.payloadBytes + 200 }).map((n) => 'p'.repeat(n)), // "p" x (n) is n + 2 bytes of JSON
    ),
  };
}

interface BodyShape {
  valid: fc.Arbitrary<Record<string, unknown>>;
  required: string[];
  fields: Fields;
}

/** JSON text, except that ±Infinity is written 1e400 / -1e400: numbers JSON allows and a double does not hold. */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, (_key, x: unknown) => (x === Infinity ? '\u0000+inf' : x === -Infinity ? '\u0000-inf' : x))
    .replace(/"\\u0000\+inf"/g, '1e400').replace(/"\\u0000-inf"/g, '-1e400');
}

/** One thing broken in a valid body; the result is the JSON text to send. */
function brokenBody(shape: BodyShape): fc.Arbitrary<{ body: string; mutation: string }> {
  const known = [...shape.required, ...Object.keys(shape.fields)];
  const setField = Object.keys(shape.fields).length === 0 ? fc.constant({ body: '', mutation: '' }) : fc.tuple(shape.valid, fc.constantFrom(...Object.keys(shape.fields)))
    .chain(([body, field]) => shape.fields[field]!.map((value) => ({ body: jsonText({ ...body, [field]: value }), mutation: `bad ${field}` })));
  const missing = shape.required.length === 0 ? fc.constant({ body: '', mutation: '' }) : fc.tuple(shape.valid, fc.constantFrom(...shape.required))
    .map(([body, field]) => ({ body: JSON.stringify(Object.fromEntries(Object.entries(body).filter(([k]) => k !== field))), mutation: `missing ${field}` }));
  const unknown = fc.tuple(shape.valid, fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', 'prototype')).filter((k) => !known.includes(k)), fc.jsonValue({ maxDepth: 1 }))
    // fromEntries makes "__proto__" an own key, which JSON.stringify then sends
    .map(([body, key, value]) => ({ body: JSON.stringify(Object.fromEntries([...Object.entries(body), [key, value]])), mutation: `unknown field ${JSON.stringify(key)}` }));
  const fieldNames = Object.keys(shape.fields);
  return fc.oneof(...[
    ...(fieldNames.length > 0 ? [setField, setField] : []),
    ...(shape.required.length > 0 ? [missing] : []),
    unknown,
  ]);
}

const notAnObject = fc.oneof(
  wrongType('object').map((value) => ({ body: JSON.stringify(value), mutation: 'JSON that is not an object' })),
  fc.string({ unit: 'binary', maxLength: 40 }).filter((text) => {
    try {
      JSON.parse(text);
      return false;
    } catch {
      return true;
    }
  }).map((body) => ({ body, mutation: 'not JSON' })),
  fc.constantFrom('{"to": "topic:x", "payload": ', '{"a":1}{"b":2}', '[', '{', '{"payload": 1,}', '{"a":}', 'nul', '\u0000{}').map((body) => ({ body, mutation: 'not JSON' })),
);

const queryString = fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ unit: 'binary', maxLength: 12 }), { maxKeys: 3 })
  .map((q) => (Object.keys(q).length === 0 ? '' : `?${new URLSearchParams(q).toString()}`));

const badIdempotencyKey = fc.oneof(
  fc.constant(''),
  fc.constant('""'),
  fc.integer({ min: 256, max: 400 }).map((n) => 'k'.repeat(n)),
  fc.tuple(alnum, fc.constantFrom('"', '\\', ' "', '\t'), alnum).map(([a, bad, b]) => `"${a}${bad}${b}"`),
  fc.tuple(alnum, fc.constantFrom('"', '\\', '\t'), alnum).map(([a, bad, b]) => `${a}${bad}${b}`),
);

const badContentType = fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/jsonp', 'text/json', 'application/javascript');

// ---------------------------------------------------------------------------------------------
// The write endpoints.

export interface FuzzContext {
  limits: FuzzLimits;
  clientToken: string;
  adminToken: string;
}

type Target = (c: FuzzContext) => fc.Arbitrary<FuzzRequest>;

const json = { 'content-type': 'application/json' };

/**
 * Every kind of breakage for an endpoint that takes a JSON body. `shape` describes a valid body
 * and how to break its fields; without one only `extra` breaks the body (schemas, where an
 * "unknown field" may be a keyword).
 */
function bodyTarget(
  method: string, path: string, token: 'client' | 'admin', valid: fc.Arbitrary<Record<string, unknown>>, shape: Omit<BodyShape, 'valid'> | undefined,
  extra: fc.Arbitrary<Omit<FuzzRequest, 'method' | 'path'>>[] = [],
): Target {
  return (c) => {
    const auth = { authorization: `Bearer ${token === 'client' ? c.clientToken : c.adminToken}` };
    const validText = valid.map((body) => JSON.stringify(body));
    const broken = shape ? [brokenBody({ valid, ...shape }).map(({ body, mutation }) => ({ headers: { ...auth, ...json }, body, mutation }))] : [];
    return fc.tuple(
      fc.oneof(
        ...broken.map((arbitrary) => ({ weight: 4, arbitrary })),
        { weight: 1, arbitrary: notAnObject.map(({ body, mutation }) => ({ headers: { ...auth, ...json }, body, mutation })) },
        { weight: 1, arbitrary: fc.tuple(validText, badContentType).map(([body, type]) => ({ headers: { ...auth, 'content-type': type }, body, mutation: `content type ${type}` })) },
        { weight: 1, arbitrary: fc.tuple(validText, fc.oneof(fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 60 }).map((t) => `Bearer ${t.replace(/\s/g, '')}x`), fc.constantFrom('Bearer', 'Basic YWxpY2U6eA==', 'bearer  ', 'Token x'))).map(([body, authorization]) => ({ headers: { ...json, authorization }, body, mutation: `authorization ${authorization}` })) },
        ...extra.map((arbitrary) => ({ weight: 1, arbitrary })),
      ),
      queryString,
    ).map(([request, query]) => ({ method, path: path + query, ...request }));
  };
}

/** Every kind of breakage for an endpoint whose input is its path. */
function pathTarget(method: string, token: 'client' | 'admin', badPaths: fc.Arbitrary<string>): Target {
  return (c) => fc.tuple(badPaths, queryString).map(([path, query]) => ({
    method, path: path + query, headers: { authorization: `Bearer ${token === 'client' ? c.clientToken : c.adminToken}` }, body: undefined, mutation: `path ${path}`,
  }));
}

/** Percent-encodes a path segment; a lone surrogate becomes the bytes of one (not UTF-8: hostile). */
const enc = (segment: string) => Array.from(segment, (ch) => (/^[\uD800-\uDFFF]$/.test(ch) ? '%ED%A0%80' : encodeURIComponent(ch))).join('');
/** Not a topic name: a forbidden character, a bad start, or more than 128 characters. */
const badTopicParam = fc.oneof(
  fc.tuple(alnum, FORBIDDEN, fc.string({ maxLength: 5 })).map(([a, bad, b]) => a + bad + b),
  fc.constantFrom('_x', '-x', '.x', '/x'),
  fc.integer({ min: 129, max: 300 }).map((n) => 't'.repeat(n)),
  INJECTIONS,
).map(enc);
const badClientId = fc.oneof(
  fc.constantFrom('0', '-1', '1.5', 'abc', '1e3', '0x10', '99999999999999999999', '9223372036854775808', ' 1', '01'),
  fc.integer({ min: 1_000_000, max: 2_000_000_000 }).map(String), // no such client: 404
).map(enc);

const badNullableInteger = (min: number, max: number) => fc.oneof(fc.constantFrom(min - 1, max + 1, min + 0.5), wrongType('number', 'null'));
const validReceipts = fc.array(fc.uuid().map((id) => `${id}.1`), { minLength: 1, maxLength: 3 });
const badReceipts = fc.oneof(
  wrongType('array'),
  fc.constant([]),
  fc.array(fc.oneof(fc.string({ maxLength: 50 }), fc.uuid().map((id) => `${id}.0`), INJECTIONS, wrongType('string')), { minLength: 1, maxLength: 3 }),
  fc.integer({ min: 101, max: 120 }).map((n) => Array.from({ length: n }, () => '01a20000-0000-7000-8000-000000000000.1')),
);
const badLongText = (max: number) => fc.oneof(
  wrongType('string'), fc.integer({ min: max + 1, max: max + 50 }).map((n) => 'r'.repeat(n)), fc.constantFrom('x\u0000', '\u0000', 'a\uD800'),
);
/** Not times, or times JavaScript parses and PostgreSQL refuses (year 0000, offsets from 16:00). */
const badDateTime = fc.oneof(
  wrongType('string'),
  fc.constantFrom('yesterday', '2026-13-01T00:00:00Z', '', '2026-01-01 00:00', 'x'.repeat(300), '0000-06-01T00:00:00Z', '2026-01-01T00:00:00+16:00', '2026-01-01T00:00:00-20:30'),
);
const badClientIdValue = fc.constantFrom('0', '-1', '1.5', 'abc', '99999999999999999999', ' 1', '01', '');
const deadLetterFilterFields = {
  error: badLongText(200),
  since: badDateTime,
  until: badDateTime,
  batch_size: badInteger(1, 10_000),
  max_batches: badInteger(1, 100_000),
  max_seconds: fc.oneof(fc.constantFrom(0, 0.01, 61, -5), wrongType('number')),
};

export function fuzzTargets(): Record<string, Target> {
  const listenTo = (c: FuzzContext) => fc.oneof(
    wrongType('array'),
    fc.array(fc.oneof(badAddress, wrongType('string')), { minLength: 1, maxLength: 3 }),
    fc.integer({ min: c.limits.listenTo + 1, max: c.limits.listenTo + 5 }).map((n) => Array.from({ length: n }, (_, i) => `topic:t${i}`)),
    fc.constantFrom(['user:somebody-else'], ['group:nobody-is-in-this'], ['topic:closed']), // not allowed: 403
  );
  return {
    'POST /v1/messages': (c) => bodyTarget('POST', '/v1/messages', 'client', validMessage, { required: ['to', 'payload'], fields: messageFields(c.limits) }, [
      fc.tuple(validMessage, badIdempotencyKey).map(([body, key]) => ({ headers: { authorization: `Bearer ${c.clientToken}`, ...json, 'idempotency-key': key }, body: JSON.stringify(body), mutation: `Idempotency-Key ${JSON.stringify(key)}` })),
      validMessage.map((body) => ({ headers: { authorization: `Bearer ${c.clientToken}`, ...json }, body: JSON.stringify({ ...body, to: 'topic:closed' }), mutation: 'publish to a topic whose policy refuses it' })),
      validMessage.map((body) => ({ headers: { authorization: `Bearer ${c.clientToken}`, ...json }, body: JSON.stringify({ ...body, to: 'topic:shaped', payload: [body.payload] }), mutation: "a payload against the topic's schema" })),
      validMessage.map((body) => ({ headers: { authorization: `Bearer ${c.clientToken}`, ...json }, body: JSON.stringify({ ...body, to: 'group:nobody-is-in-this' }), mutation: 'into a group of which the sender is no member' })),
    ])(c),
    'POST /v1/messages/batch': (c) => {
      const fields = messageFields(c.limits);
      const oneBrokenMessage = fc.tuple(fc.array(validMessage, { minLength: 1, maxLength: 3 }), fc.constantFrom(...Object.keys(fields)), fc.nat())
        .chain(([messages, field, at]) => fields[field]!.map((value) => {
          const copy: Record<string, unknown>[] = messages.map((m) => ({ ...m }));
          copy[at % copy.length]![field] = value;
          return copy;
        }));
      return bodyTarget('POST', '/v1/messages/batch', 'client', fc.record({ messages: fc.array(validMessage, { minLength: 1, maxLength: 3 }) }), {
        required: ['messages'],
        fields: {
          messages: fc.oneof(
            wrongType('array'),
            fc.constant([]),
            oneBrokenMessage,
            fc.integer({ min: c.limits.batchMessages + 1, max: c.limits.batchMessages + 5 }).map((n) => Array.from({ length: n }, () => ({ to: 'topic:fuzz', payload: 1 }))),
          ),
        },
      }, [
        fc.tuple(fc.record({ messages: fc.array(validMessage, { minLength: 1, maxLength: 2 }) }), badIdempotencyKey).map(([body, key]) => ({ headers: { authorization: `Bearer ${c.clientToken}`, ...json, 'idempotency-key': key }, body: JSON.stringify(body), mutation: `Idempotency-Key ${JSON.stringify(key)}` })),
      ])(c);
    },
    'PUT /v1/clients/me/listen-to': (c) => bodyTarget('PUT', '/v1/clients/me/listen-to', 'client', fc.record({ listen_to: fc.subarray(['topic:fuzz', 'topic:other', 'user:fuzzer']) }), {
      required: ['listen_to'],
      fields: { listen_to: listenTo(c) },
    })(c),
    'POST /v1/inbox/ack': (c) => bodyTarget('POST', '/v1/inbox/ack', 'client', fc.record({ receipts: fc.array(fc.uuid().map((id) => `${id}.1`), { minLength: 1, maxLength: 3 }) }), {
      required: ['receipts'],
      fields: {
        receipts: fc.oneof(
          wrongType('array'),
          fc.constant([]),
          fc.array(fc.oneof(fc.string({ maxLength: 50 }), fc.uuid().map((id) => `${id}.0`), fc.uuid().map((id) => `${id.toUpperCase()}.1`), INJECTIONS, wrongType('string')), { minLength: 1, maxLength: 3 }),
          fc.integer({ min: 101, max: 120 }).map((n) => Array.from({ length: n }, () => '01a20000-0000-7000-8000-000000000000.1')),
        ),
      },
    })(c),
    'POST /v1/inbox/nack': (c) => bodyTarget('POST', '/v1/inbox/nack', 'client', fc.record({ receipts: validReceipts }), {
      required: ['receipts'],
      fields: { receipts: badReceipts, delay_seconds: badInteger(0, 43_200), reason: badLongText(1000) },
    })(c),
    'POST /v1/inbox/extend': (c) => bodyTarget('POST', '/v1/inbox/extend', 'client', fc.record({ receipts: validReceipts, visibility: fc.integer({ min: 0, max: 60 }) }), {
      required: ['receipts', 'visibility'],
      fields: { receipts: badReceipts, visibility: badInteger(0, 43_200) },
    })(c),
    'POST /v1/inbox/dead-letters/redrive': (c) => bodyTarget('POST', '/v1/inbox/dead-letters/redrive', 'client', fc.constant({}), {
      required: [],
      fields: deadLetterFilterFields,
    })(c),
    'POST /v1/admin/dead-letters/redrive': (c) => bodyTarget('POST', '/v1/admin/dead-letters/redrive', 'admin', fc.constant({}), {
      required: [],
      fields: { ...deadLetterFilterFields, client_id: fc.oneof(badClientIdValue, wrongType('string')) },
    })(c),
    'POST /v1/admin/dead-letters/purge': (c) => bodyTarget('POST', '/v1/admin/dead-letters/purge', 'admin', fc.constant({}), {
      required: [],
      fields: { ...deadLetterFilterFields, client_id: fc.oneof(badClientIdValue, wrongType('string')) },
    })(c),
    'PUT /v1/admin/clients/{id}/queue-policy': (c) => fc.oneof(
      bodyTarget('PUT', '/v1/admin/clients/1/queue-policy', 'admin', fc.constant({}), {
        required: [],
        fields: {
          // null is a valid value here (the default): only the wrong kinds of value
          max_receives: badNullableInteger(1, 1000),
          backoff_base_seconds: fc.oneof(fc.constantFrom(-1, 43_201, 1e9), wrongType('number', 'null')),
          backoff_cap_seconds: fc.oneof(fc.constantFrom(-1, 43_201), wrongType('number', 'null')),
          max_length: badNullableInteger(1, 1_000_000_000),
          overflow: fc.oneof(fc.constantFrom('drop', 'REJECT', ''), wrongType('string', 'null')),
          delivery_rate: fc.oneof(fc.constantFrom(0, -1, 1_000_001), wrongType('number', 'null')),
          delivery_burst: badNullableInteger(1, 1_000_000),
        },
      })(c),
      pathTarget('PUT', 'admin', badClientId.map((id) => `/v1/admin/clients/${id}/queue-policy`))(c),
    ),
    'POST /v1/requests': (c) => bodyTarget('POST', '/v1/requests', 'client', validMessage, {
      required: ['to', 'payload'],
      fields: { ...messageFields(c.limits), timeout_seconds: fc.oneof(fc.constantFrom(0, -1, 61, 1e9), wrongType('number')) },
    })(c),
    'POST /v1/clients': (c) => bodyTarget('POST', '/v1/clients', 'admin', fc.record({ name: alnum.map((n) => `fz${n}`), listen_to: fc.constant(['topic:fuzz']) }), {
      required: ['name'],
      fields: { name: fc.oneof(badName, wrongType('string')), listen_to: listenTo(c) },
    })(c),
    'PUT /v1/admin/topics/{topic}/policy': (c) => {
      const grants = fc.oneof(
        wrongType('array', 'null'),
        fc.array(fc.oneof(badName.filter((n) => !/^[A-Za-z0-9_.*-]{1,64}$/.test(n)), wrongType('string')), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 101, max: 120 }).map((n) => Array.from({ length: n }, (_, i) => `c${i}`)),
      );
      return fc.oneof(
        bodyTarget('PUT', '/v1/admin/topics/fuzz/policy', 'admin', fc.record({ publish: fc.constant(['fuzzer']), subscribe: fc.constant(null) }), {
          required: [],
          fields: { publish: grants, subscribe: grants },
        })(c),
        pathTarget('PUT', 'admin', badTopicParam.map((t) => `/v1/admin/topics/${t}/policy`))(c),
      );
    },
    'PUT /v1/admin/topics/{topic}/schema': (c) => {
      const badSchema = fc.oneof(
        fc.record({ type: fc.string({ maxLength: 8 }).filter((t) => !['string', 'number', 'integer', 'boolean', 'null', 'array', 'object'].includes(t)) }),
        fc.tuple(alnum, fc.jsonValue({ maxDepth: 1 })).map(([k, v]) => ({ [`zz_unknown_${k}`]: v })),
        fc.constantFrom(
          { pattern: '(' }, { $ref: 'https://evil.example/schema.json' }, { minimum: 'x' }, { required: 5 }, { properties: [] },
          { $schema: 'https://json-schema.org/draft-04/schema#' }, { type: 'object', properties: { a: { type: 'nope' } } },
          { description: 'x\u0000y' }, { enum: 'notalist' }, { format: 'no-such-format', type: 'string' },
        ),
        fc.integer({ min: 65, max: 200 }).map((depth) => {
          let schema: Record<string, unknown> = { type: 'object' };
          for (let i = 0; i < depth; i++) schema = { type: 'object', properties: { a: schema } };
          return schema;
        }),
      );
      return fc.oneof(
        bodyTarget('PUT', '/v1/admin/topics/fuzz/schema', 'admin', fc.constant({ type: 'object' }), undefined, [
          badSchema.map((schema) => ({ headers: { authorization: `Bearer ${c.adminToken}`, ...json }, body: JSON.stringify(schema), mutation: `schema ${JSON.stringify(schema).slice(0, 60)}` })),
        ])(c),
        pathTarget('PUT', 'admin', badTopicParam.map((t) => `/v1/admin/topics/${t}/schema`))(c),
      );
    },
    'PUT /v1/admin/groups/{group}/members/{user}': (c) => pathTarget('PUT', 'admin', fc.oneof(
      fc.tuple(badName.filter((n) => n !== '' && n !== '.'), alnum).map(([g, u]) => `/v1/admin/groups/${enc(g)}/members/${u}`),
      fc.tuple(alnum, badName.filter((n) => n !== '' && n !== '.')).map(([g, u]) => `/v1/admin/groups/${g}/members/${enc(u)}`),
    ))(c),
    'DELETE /v1/admin/groups/{group}/members/{user}': (c) => pathTarget('DELETE', 'admin', fc.tuple(badName.filter((n) => n !== '' && n !== '.'), alnum)
      .map(([g, u]) => `/v1/admin/groups/${enc(g)}/members/${u}`))(c),
    'POST /v1/admin/clients/{id}/rotate': (c) => pathTarget('POST', 'admin', badClientId.map((id) => `/v1/admin/clients/${id}/rotate`))(c),
    'POST /v1/admin/clients/{id}/revoke': (c) => pathTarget('POST', 'admin', badClientId.map((id) => `/v1/admin/clients/${id}/revoke`))(c),
  };
}

// ---------------------------------------------------------------------------------------------
// Publishes that look valid to the router's grammar, with values at the edge of what PostgreSQL
// parses: some are valid, some the router must refuse, none may fail anyone else's publish.

const twoDigits = (n: number) => String(n).padStart(2, '0');

/** ISO 8601 times zod's datetime accepts: years 0000-9999, any offset up to ±23:59, 0-9 fraction digits. */
const edgeTime = fc.record({
  year: fc.oneof(fc.constantFrom(0, 1, 1969, 1970, 2000, 9999), fc.integer({ min: 0, max: 9999 })),
  month: fc.integer({ min: 1, max: 12 }),
  day: fc.integer({ min: 1, max: 28 }),
  hour: fc.integer({ min: 0, max: 23 }),
  minute: fc.integer({ min: 0, max: 59 }),
  fraction: fc.option(fc.stringMatching(/^\.\d{1,9}$/), { nil: '' }),
  offset: fc.oneof(
    fc.constant('Z'),
    fc.tuple(fc.constantFrom('+', '-'), fc.oneof(fc.constantFrom(0, 14, 15, 16, 23), fc.integer({ min: 0, max: 23 })), fc.constantFrom(0, 30, 59))
      .map(([sign, h, m]) => `${sign}${twoDigits(h)}:${twoDigits(m)}`),
  ),
}).map((t) => `${String(t.year).padStart(4, '0')}-${twoDigits(t.month)}-${twoDigits(t.day)}T${twoDigits(t.hour)}:${twoDigits(t.minute)}:00${t.fraction}${t.offset}`);

/** Text with what PostgreSQL refuses (U+0000, lone surrogates) mixed into what it takes. */
const edgeText = fc.oneof(
  fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }),
  fc.tuple(alnum, fc.constantFrom('\u0000', '\uD800', '\uDFFF', '\uD83D\uDE00', '\u202E', '\uFFFF'), alnum).map(([a, b, c]) => a + b + c),
);

/** Numbers written as JSON text: beyond a double, at its edges, or more digits than it holds. */
const edgeNumberText = fc.constantFrom('1e400', '-1e400', '1.7976931348623157e308', '5e-324', '1e-400', '-0', '123456789012345678901234567890', '0.1e-99999');

export const edgeValuePublish: fc.Arbitrary<{ body: string; mutation: string }> = fc.oneof(
  edgeTime.map((time) => ({ body: JSON.stringify({ to: 'topic:fuzz', payload: 1, deliver_at: time }), mutation: `deliver_at ${time}` })),
  fc.tuple(fc.constantFrom('type', 'group_id', 'dedup_id', 'correlation_id'), edgeText)
    .map(([field, text]) => ({ body: JSON.stringify({ to: 'topic:fuzz', payload: 1, [field]: text }), mutation: `${field} ${JSON.stringify(text)}` })),
  edgeText.map((text) => ({ body: JSON.stringify({ to: 'topic:fuzz', payload: 1, headers: { h: text } }), mutation: `header ${JSON.stringify(text)}` })),
  fc.tuple(edgeText, fc.boolean()).map(([text, asKey]) => ({
    body: JSON.stringify({ to: 'topic:fuzz', payload: asKey ? { [text]: 1 } : [text] }), mutation: `payload text ${JSON.stringify(text)}${asKey ? ' as a key' : ''}`,
  })),
  edgeNumberText.map((n) => ({ body: `{"to":"topic:fuzz","payload":{"n":${n}}}`, mutation: `payload number ${n}` })),
);
