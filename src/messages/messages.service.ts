// The router: authorizes and classifies what clients publish and commits it to the message log
// (the outbox). Concurrent requests share one INSERT (group commit); a request is answered only
// once its rows are committed, and then the stages are woken.
//
// prepare() decides everything that can refuse a message (shutting down, who may publish where
// (auth/access.ts), topic schemas, backpressure) and writes nothing; commit() writes. So a refused
// request leaves no trace, and an idempotent retry can commit prepared messages under ids chosen earlier.
import type { AddressAccess, Refusal } from '../auth/access.ts';
import type { ClientRecord } from '../auth/client-token.repository.ts';
import { isDataError } from '../db/errors.ts';
import { ApiError, fieldProblem, type ErrorCode, type FieldError } from '../http/problem.ts';
import { GroupCommitAborted, GroupCommitFull, type GroupCommit } from '../queue/group-commit.ts';
import type { TopicSchemas } from '../topics/topic-schemas.ts';
import { parseAddress, userAddress, type AddressKind } from '../addresses/address.ts';
import type { Backpressure } from './backpressure.ts';
import { uuidv7 } from './message-id.ts';
import type { NewMessage } from './messages.repository.ts';
import type { PublishInput } from './messages.schemas.ts';

export interface Published {
  id: string;
  /** True when dedup_id matched an earlier message, whose id this is. */
  duplicate: boolean;
}

export class MessagesService {
  readonly #access: AddressAccess;
  readonly #schemas: TopicSchemas;
  readonly #backpressure: Backpressure;
  readonly #commit: GroupCommit<NewMessage, string>;
  #accepting = true;

  constructor(
    access: AddressAccess, schemas: TopicSchemas, backpressure: Backpressure, commit: GroupCommit<NewMessage, string>,
  ) {
    this.#access = access;
    this.#schemas = schemas;
    this.#backpressure = backpressure;
    this.#commit = commit;
  }

  /**
   * Publishes the messages all together or not at all; resolves once they are committed.
   * `paths` name each input in errors (e.g. "messages.3").
   */
  async publish(sender: ClientRecord, inputs: PublishInput[], paths: string[], signal?: AbortSignal): Promise<Published[]> {
    return this.commit(await this.prepare(sender, inputs, paths), signal);
  }

  /** Authorizes and checks the messages and gives them ids; writes nothing. */
  async prepare(sender: ClientRecord, inputs: PublishInput[], paths: string[]): Promise<NewMessage[]> {
    this.#assertAccepting();
    // Refused before any lookup or Idempotency-Key round trip when the commit queue is full now:
    // an overloaded router's refusals must cost it next to nothing.
    const full = this.#commit.refusal(inputs.length);
    if (full) throw commitProblem(new GroupCommitFull(full));
    await this.#authorize(sender, inputs, paths);
    await this.#checkSchemas(inputs, paths);
    inputs.forEach((input, i) => this.#backpressure.check(input.to, fieldPath(paths[i]!, 'to')));
    return inputs.map((input) => toNewMessage(sender, input));
  }

  /**
   * Commits prepared messages (all or none); resolves once they are in the log, with each one's
   * id: its own, or an earlier message's when its dedup_id repeated one. Refused at once with
   * 503 Overloaded when too much already waits; dropped unwritten if `signal` (the request's)
   * aborts before the messages join a flush.
   */
  async commit(messages: NewMessage[], signal?: AbortSignal): Promise<Published[]> {
    this.#assertAccepting();
    let ids: string[];
    try {
      ids = await this.#commit.submit(messages, signal);
    } catch (error) {
      throw commitProblem(error);
    }
    return messages.map((message, i) => ({ id: ids[i]!, duplicate: ids[i] !== message.id }));
  }

  /** Stops accepting and waits for everything accepted to be committed. */
  async drain(): Promise<void> {
    this.#accepting = false;
    await this.#commit.drain();
  }

  #assertAccepting(): void {
    if (!this.#accepting) throw new ApiError('ShuttingDown', 'not accepting messages while shutting down; retry elsewhere');
  }

  async #authorize(sender: ClientRecord, inputs: PublishInput[], paths: string[]): Promise<void> {
    // Each distinct address is asked once, all at once: a batch to many cold topics costs one
    // round of lookups, not one per message.
    const toRefusals = await askOnce<Refusal | undefined>(inputs.map((input) => input.to), (to) => this.#access.publishRefusal(sender.name, to));
    // reply_to is where the answers go: an address the sender may not listen to would let it
    // steer other clients' replies into a conversation it cannot see (or read it by request/reply).
    const replyTos = inputs.flatMap((input) => (input.reply_to === undefined ? [] : [input.reply_to]));
    const replyToRefusals = await askOnce<Refusal | undefined>(replyTos, (replyTo) => this.#access.readRefusal(sender.name, replyTo));
    const errors: (FieldError & { code: ErrorCode })[] = [];
    for (const [index, input] of inputs.entries()) {
      const toRefusal = toRefusals.get(input.to);
      if (toRefusal) errors.push({ code: toRefusal.code, path: fieldPath(paths[index]!, 'to'), message: toRefusal.message });
      const replyToRefusal = input.reply_to === undefined ? undefined : replyToRefusals.get(input.reply_to);
      if (replyToRefusal) errors.push({ code: 'ReplyToForbidden', path: fieldPath(paths[index]!, 'reply_to'), message: replyToRefusal.message });
    }
    if (errors.length > 0) throw fieldProblem(errors[0]!.code, errors.map(({ path, message }) => ({ path, message })));
  }

  async #checkSchemas(inputs: PublishInput[], paths: string[]): Promise<void> {
    const validators = await lookUpOnce(inputs, 'topic', (topic) => this.#schemas.validator(topic));
    const errors: FieldError[] = [];
    for (const [index, input] of inputs.entries()) {
      const { kind, name } = parseAddress(input.to);
      const validate = kind === 'topic' ? validators.get(name) : undefined;
      if (validate) errors.push(...validate(input.payload, fieldPath(paths[index]!, 'payload')));
    }
    if (errors.length > 0) throw fieldProblem('SchemaViolation', errors);
  }
}

/** Seconds a refused publisher is asked to wait: the queue, and the requests in flight, drain in well under a second. */
const OVERLOADED_RETRY_AFTER_SECONDS = 1;

/** 503 Overloaded with Retry-After: the router refuses a publish it cannot take now (nothing written). */
export function overloaded(detail: string): ApiError {
  return new ApiError('Overloaded', `${detail}; nothing was written, retry after ${OVERLOADED_RETRY_AFTER_SECONDS} s`, {
    headers: { 'Retry-After': String(OVERLOADED_RETRY_AFTER_SECONDS) },
  });
}

/** The answer for a commit that failed: overload and give-ups are expected, data errors are the caller's. */
function commitProblem(error: unknown): unknown {
  if (error instanceof GroupCommitFull) {
    return overloaded(`too many publishes are waiting to be committed (${error.limit} limit)`);
  }
  if (error instanceof GroupCommitAborted) {
    return new ApiError('RequestTimeout', 'the request was closed before its messages were committed; nothing was written');
  }
  if (isDataError(error)) {
    // Group commit has isolated it to this request: the router's validation let a value through
    // that PostgreSQL refuses. Its message names the value; the other publishes went through.
    return new ApiError('ValueRefused', `nothing was written: ${(error as Error).message}`);
  }
  return error;
}

/** `ask`'s answer for each distinct key, all asked at once. */
async function askOnce<T>(keys: string[], ask: (key: string) => Promise<T>): Promise<Map<string, T>> {
  const distinct = [...new Set(keys)];
  const answers = await Promise.all(distinct.map(ask));
  return new Map(distinct.map((key, i) => [key, answers[i]!]));
}

/** Answers of `look` for each distinct name of this kind among the messages' addresses. */
function lookUpOnce<T>(inputs: PublishInput[], kind: AddressKind, look: (name: string) => Promise<T>): Promise<Map<string, T>> {
  return askOnce(inputs.map((input) => parseAddress(input.to)).filter((a) => a.kind === kind).map((a) => a.name), look);
}

/** "messages.3" + "to" -> "messages.3.to"; "" + "to" -> "to". */
function fieldPath(prefix: string, field: string): string {
  return prefix ? `${prefix}.${field}` : field;
}

function toNewMessage(sender: ClientRecord, input: PublishInput): NewMessage {
  return {
    id: uuidv7(),
    sender_id: sender.id,
    sender: userAddress(sender.name),
    to_address: input.to,
    type: input.type ?? null,
    payload: input.payload,
    headers: input.headers ?? null,
    priority: input.priority ?? 0,
    delay_seconds: input.delay_seconds ?? 0,
    deliver_at: input.deliver_at ?? null,
    ttl_seconds: input.ttl_seconds ?? null,
    group_id: input.group_id ?? null,
    dedup_id: input.dedup_id ?? null,
    correlation_id: input.correlation_id ?? null,
    reply_to: input.reply_to ?? null,
  };
}
