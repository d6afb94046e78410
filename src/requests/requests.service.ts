// Request/reply over the message log. A request is a message with a correlation id and a reply_to
// address; whoever handles it publishes the reply to reply_to with the same correlation id. The
// caller's HTTP request waits for that reply: woken by the router that commits it (the reply
// signal, in memory or by NOTIFY), and polling the log by correlation id as a fallback. The reply
// is also delivered to reply_to like any message, with the same id, so a caller that reads its
// inbox as well sees it there too.
import type { ClientRecord } from '../clients/clients.repository.ts';
import type { Db } from '../db/database.ts';
import { ApiError } from '../http/problem.ts';
import { userAddress } from '../messages/address.ts';
import { uuidv7 } from '../messages/message-id.ts';
import type { MessagesService } from '../messages/messages.service.ts';
import type { Waiters } from '../queue/waiters.ts';
import { findReply } from './requests.repository.ts';
import type { RequestInput } from './requests.schemas.ts';

export class RequestsService {
  readonly #db: Db;
  readonly #messages: MessagesService;
  readonly #waiters: Waiters;
  readonly #pollMs: number;

  /** waiters: keyed by correlation id, woken by the reply signal. */
  constructor(db: Db, messages: MessagesService, waiters: Waiters, pollMs: number) {
    this.#db = db;
    this.#messages = messages;
    this.#waiters = waiters;
    this.#pollMs = pollMs;
  }

  async request(client: ClientRecord, input: RequestInput, signal: AbortSignal) {
    const { timeout_seconds: timeout, ...message } = input;
    const correlationId = message.correlation_id ?? uuidv7();
    const replyTo = message.reply_to ?? userAddress(client.name);
    const deadline = Date.now() + timeout * 1000;
    // Listen before publishing: a reply can come back faster than this call returns.
    let waiting = this.#waiters.register(correlationId, Math.min(this.#pollMs, timeout * 1000), signal);
    const [published] = await this.#messages.publish(client, [{ ...message, correlation_id: correlationId, reply_to: replyTo }], ['']);
    const requestId = published!.id;
    for (;;) {
      const reply = await findReply(this.#db, correlationId, replyTo, requestId);
      if (reply) {
        waiting.cancel();
        return {
          request_id: requestId,
          correlation_id: correlationId,
          reply: {
            id: reply.id,
            from: reply.sender,
            to: reply.to_address,
            type: reply.type,
            payload: reply.payload,
            headers: reply.headers ?? {},
            sent_at: reply.created_at.toISOString(),
          },
        };
      }
      const left = deadline - Date.now();
      if (left <= 0 || signal.aborted) {
        waiting.cancel();
        throw new ApiError('ReplyTimeout', `no reply to request ${requestId} within ${timeout} s; a late reply still goes to ${replyTo}`, {
          extensions: { message_id: requestId, correlation_id: correlationId },
        });
      }
      await waiting.done;
      waiting = this.#waiters.register(correlationId, Math.min(this.#pollMs, deadline - Date.now()), signal);
    }
  }
}
