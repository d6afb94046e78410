// Publishing as one request asks for it: prepare (authorize, check), then commit once per
// Idempotency-Key, or at once without one. POST /v1/messages(/batch) and the WebSocket's publish
// frames both come through here, so a key means the same on either transport: a retry over HTTP
// of a publish first sent over a socket gets the stored answer.
import type { ClientRecord } from '../auth/client-token.repository.ts';
import { fingerprintRequest, type IdempotencyKeys } from '../idempotency/idempotency.service.ts';
import type { NewMessage } from './messages.repository.ts';
import type { PublishInput } from './messages.schemas.ts';
import type { MessagesService, Published } from './messages.service.ts';

/** The routes whose fingerprint an idempotent publish carries. */
export const PUBLISH_PATH = '/v1/messages';
export const PUBLISH_BATCH_PATH = '/v1/messages/batch';

export interface PublishRequest {
  client: ClientRecord;
  inputs: PublishInput[];
  /** Each input's name in errors ("" for a single message, messages.<i> in a batch). */
  paths: string[];
  /** The request as sent, fingerprinted with `path` under an Idempotency-Key. */
  body: unknown;
  path: string;
  idempotencyKey: string | undefined;
  /** Aborted when the caller has gone: a publish still queued for group commit is then dropped unwritten. */
  signal?: AbortSignal;
}

export class Publisher {
  readonly #messages: MessagesService;
  readonly #idempotency: IdempotencyKeys;

  constructor(messages: MessagesService, idempotency: IdempotencyKeys) {
    this.#messages = messages;
    this.#idempotency = idempotency;
  }

  async publish(r: PublishRequest): Promise<{ published: Published[]; replayed: boolean }> {
    const prepared = await this.#messages.prepare(r.client, r.inputs, r.paths);
    const commit = (rows: NewMessage[]) => this.#messages.commit(rows, r.signal);
    if (r.idempotencyKey === undefined) return { published: await commit(prepared), replayed: false };
    const fingerprint = fingerprintRequest('POST', r.path, r.body);
    const result = await this.#idempotency.run({ clientId: r.client.id, key: r.idempotencyKey, fingerprint }, prepared, commit, 202,
      (ids): Published[] => ids.map((id) => ({ id, duplicate: false })));
    return { published: result.body as Published[], replayed: result.replayed };
  }
}

/** The 202 body of a single publish. */
export function publishedAnswer(published: Published): { id: string; duplicate?: true } {
  return { id: published.id, ...(published.duplicate ? { duplicate: true as const } : {}) };
}

/** The 202 body of a batch publish. */
export function publishedBatchAnswer(published: Published[]): { ids: string[]; duplicates?: number[] } {
  const duplicates = published.flatMap((p, i) => (p.duplicate ? [i] : []));
  return { ids: published.map((p) => p.id), ...(duplicates.length > 0 ? { duplicates } : {}) };
}
