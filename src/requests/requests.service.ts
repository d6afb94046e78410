// Request/reply over the message log. A request is a message with a correlation id and a reply_to
// address; whoever handles it publishes the reply to reply_to with the same correlation id. The
// caller's HTTP request waits for that reply (reply-watch.ts finds it for every waiting request of
// the process in one query). The reply is also delivered to reply_to like any message, with the
// same id, so a caller that reads its inbox as well sees it there too.
//
// What keeps one client from reading or forging another's traffic through it: reply_to must be an
// address the caller may listen to (checked when the request is published, ReplyToForbidden);
// only messages newer than the request answer it; and only a client that may listen to the
// request's `to` address may answer (reply-watch.ts).
import type { ClientRecord } from '../auth/client-token.repository.ts';
import type { WaitLimits } from '../clients/wait-limits.ts';
import { ApiError } from '../http/problem.ts';
import { userAddress } from '../addresses/address.ts';
import { uuidv7 } from '../messages/message-id.ts';
import type { MessagesService } from '../messages/messages.service.ts';
import { toOutgoingMessage } from '../messages/outgoing-message.ts';
import type { ReplyWatch } from './reply-watch.ts';
import type { RequestInput } from './requests.schemas.ts';

export class RequestsService {
  readonly #messages: MessagesService;
  readonly #replies: ReplyWatch;
  readonly #limits: WaitLimits;

  constructor(messages: MessagesService, replies: ReplyWatch, limits: WaitLimits) {
    this.#messages = messages;
    this.#replies = replies;
    this.#limits = limits;
  }

  async request(client: ClientRecord, input: RequestInput, signal: AbortSignal) {
    const { timeout_seconds: timeout, ...message } = input;
    const correlationId = message.correlation_id ?? uuidv7();
    const replyTo = message.reply_to ?? userAddress(client.name);
    const release = this.#limits.acquire(client.id, 'wait');
    try {
      const [prepared] = await this.#messages.prepare(client, [{ ...message, correlation_id: correlationId, reply_to: replyTo }], ['']);
      // Watch before committing: a reply can come back faster than the commit returns.
      const waiting = this.#replies.register({ requestId: prepared!.id, correlationId, replyTo, to: message.to }, timeout * 1000, signal);
      let requestId: string;
      try {
        requestId = (await this.#messages.commit([prepared!]))[0]!.id;
      } catch (error) {
        waiting.cancel();
        throw error;
      }
      waiting.setRequestId(requestId);
      const reply = await waiting.reply;
      if (!reply) {
        throw new ApiError('ReplyTimeout', `no reply to request ${requestId} within ${timeout} s; a late reply still goes to ${replyTo}`, {
          extensions: { message_id: requestId, correlation_id: correlationId },
        });
      }
      return {
        request_id: requestId,
        correlation_id: correlationId,
        reply: toOutgoingMessage(reply, reply.created_at),
      };
    } finally {
      release();
    }
  }
}
