// The router: authorizes and classifies what clients publish and commits it to the message log
// (the outbox). Concurrent requests share one INSERT (group commit); a request is answered only
// once its rows are committed, and then the stages are woken.
import type { ClientRecord } from '../clients/clients.repository.ts';
import type { GroupMembership } from '../groups/membership.ts';
import type { QueueLimits } from '../inbox/queue-limits.ts';
import { ApiError, type FieldError } from '../http/problem.ts';
import type { GroupCommit } from '../queue/group-commit.ts';
import { parseAddress, userAddress } from './address.ts';
import { uuidv7 } from './message-id.ts';
import type { NewMessage } from './messages.repository.ts';
import type { PublishInput } from './messages.schemas.ts';

export interface Published {
  id: string;
  /** True when dedup_id matched an earlier message, whose id this is. */
  duplicate: boolean;
}

export class MessagesService {
  readonly #membership: GroupMembership;
  readonly #limits: QueueLimits;
  readonly #commit: GroupCommit<NewMessage, string>;
  #accepting = true;

  constructor(membership: GroupMembership, limits: QueueLimits, commit: GroupCommit<NewMessage, string>) {
    this.#membership = membership;
    this.#limits = limits;
    this.#commit = commit;
  }

  /**
   * Publishes the messages all together or not at all; resolves once they are committed.
   * `paths` name each input in errors (e.g. "messages.3").
   */
  async publish(sender: ClientRecord, inputs: PublishInput[], paths: string[]): Promise<Published[]> {
    if (!this.#accepting) throw new ApiError('ShuttingDown', 'not accepting messages while shutting down; retry elsewhere');
    await this.#authorize(sender, inputs, paths);
    inputs.forEach((input, i) => this.#limits.check(input.to, `${paths[i]}.to`.replace(/^\./, '')));
    const messages = inputs.map((input) => toNewMessage(sender, input));
    const ids = await this.#commit.submit(messages);
    return messages.map((message, i) => ({ id: ids[i]!, duplicate: ids[i] !== message.id }));
  }

  /** Stops accepting and waits for everything accepted to be committed. */
  async drain(): Promise<void> {
    this.#accepting = false;
    await this.#commit.drain();
  }

  async #authorize(sender: ClientRecord, inputs: PublishInput[], paths: string[]): Promise<void> {
    const errors: FieldError[] = [];
    for (const [index, input] of inputs.entries()) {
      const { kind, name } = parseAddress(input.to);
      if (kind === 'group' && !(await this.#membership.isMember(name, sender.name))) {
        errors.push({ path: `${paths[index]}.to`.replace(/^\./, ''), message: `${sender.name} is not a member of ${input.to}` });
      }
    }
    if (errors.length > 0) throw new ApiError('NotAGroupMember', errors.map((e) => e.message).join('; '), { errors });
  }
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
