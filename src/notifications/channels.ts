// Every NOTIFY channel and its payload format, in one place.
//
// A payload is `<origin>|<keys>`: origin names the process that sent it (a process ignores its
// own: it has already woken its own workers in memory), keys are comma-separated, URI-encoded
// ids, or `*` / nothing for "everyone on this channel". A payload that does not parse means "everyone": a
// notification is only ever a hint to go and look.

export const CHANNELS = {
  /** New rows in the message log: wake the stages. */
  log: 'switchyard_log',
  /** New visible deliveries; keys are client ids: wake those clients' waiting receivers. */
  delivery: 'switchyard_delivery',
  /** Clients, tokens or groups changed; keys like client:<id>, group:<name>: drop cached copies. */
  config: 'switchyard_config',
  /** Messages with a correlation id were committed; keys are the correlation ids: wake requests waiting for a reply. */
  reply: 'switchyard_reply',
  /** A process started listening (or listens again): the others send their NOTIFYs again (signals.ts). */
  peer: 'switchyard_peer',
} as const;

export type ChannelName = keyof typeof CHANNELS;

export const ALL_KEYS = '*';
/** Past this many keys a notification says "everyone" instead. */
export const MAX_KEYS_PER_NOTIFY = 500;
/** NOTIFY payloads must stay under 8000 bytes. */
const MAX_PAYLOAD_BYTES = 7_500;

export function encodePayload(origin: string, keys: ReadonlySet<string> | typeof ALL_KEYS): string {
  const everyone = `${origin}|${ALL_KEYS}`;
  if (keys === ALL_KEYS) return everyone;
  const payload = `${origin}|${[...keys].map(encodeURIComponent).join(',')}`;
  return Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES ? everyone : payload;
}

export interface DecodedPayload {
  origin: string | undefined;
  /** undefined means every key. */
  keys: string[] | undefined;
}

export function decodePayload(payload: string | undefined): DecodedPayload {
  const bar = payload?.indexOf('|') ?? -1;
  if (payload === undefined || bar < 0) return { origin: payload, keys: undefined };
  const origin = payload.slice(0, bar);
  const rest = payload.slice(bar + 1);
  if (rest === '' || rest === ALL_KEYS) return { origin, keys: undefined };
  try {
    const keys = rest.split(',').filter(Boolean).map(decodeURIComponent);
    return { origin, keys: keys.length > 0 ? keys : undefined };
  } catch {
    return { origin, keys: undefined }; // not ours to understand: wake everyone
  }
}
