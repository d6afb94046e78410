// May this client read, or publish to, this address: the one place the rule is written.
//
//   read (listen-to lists, a message's reply_to, who may answer a request)
//     user:<name>   only the clients registered under that name
//     group:<name>  only its members
//     topic:<name>  anyone, unless the topic's policy restricts subscribe
//   history: the same, except that user:<other> names the reader's own direct conversation with
//     that user, which both ends may read (the history query keeps it to the two of them)
//   publish
//     user:<name>   anyone
//     group:<name>  only its members
//     topic:<name>  anyone, unless the topic's policy restricts publish
//
// The answers come from group membership and topic policies, both cached in their own folders
// (groups/membership.ts, topics/topic-policies.ts). This file asks them through the two narrow
// interfaces below, so auth stays below the features that use it (docs/conventions.md, Layers).
import type { TopicAction } from '../db/schema.ts';
import type { ErrorCode } from '../http/problem.ts';
import { parseAddress } from '../addresses/address.ts';

export interface GroupMembers {
  isMember(group: string, user: string): Promise<boolean>;
}

export interface TopicGrants {
  allows(topic: string, action: TopicAction, clientName: string): Promise<boolean>;
}

/** Why a client may not use an address: a stable code and a sentence naming both. */
export interface Refusal {
  code: ErrorCode;
  message: string;
}

export class AddressAccess {
  readonly #groups: GroupMembers;
  readonly #topics: TopicGrants;

  constructor(groups: GroupMembers, topics: TopicGrants) {
    this.#groups = groups;
    this.#topics = topics;
  }

  /** Why the client registered as `name` may not read (listen to) `address`, or undefined when it may. */
  async readRefusal(name: string, address: string): Promise<Refusal | undefined> {
    const { kind, name: target } = parseAddress(address);
    if (kind === 'user') {
      return target === name ? undefined : { code: 'ListenToForbidden', message: `only clients registered as ${target} may listen to ${address}` };
    }
    if (kind === 'group' || kind === 'topic') return this.#sharedRefusal(name, address, 'subscribe');
    return { code: 'ListenToForbidden', message: `${address} is not an address anyone listens to` };
  }

  async mayRead(name: string, address: string): Promise<boolean> {
    return (await this.readRefusal(name, address)) === undefined;
  }

  /** Why the client may not read the history of `conversation`, or undefined when it may. */
  async historyRefusal(name: string, conversation: string): Promise<Refusal | undefined> {
    return parseAddress(conversation).kind === 'user' ? undefined : this.readRefusal(name, conversation);
  }

  /** Why the client registered as `name` may not publish to `address`, or undefined when it may. */
  async publishRefusal(name: string, address: string): Promise<Refusal | undefined> {
    const { kind } = parseAddress(address);
    return kind === 'group' || kind === 'topic' ? this.#sharedRefusal(name, address, 'publish') : undefined;
  }

  /** Groups and topics answer reading and publishing alike: members only; the topic's grants for the action. */
  async #sharedRefusal(name: string, address: string, action: TopicAction): Promise<Refusal | undefined> {
    const { kind, name: target } = parseAddress(address);
    if (kind === 'group') {
      return (await this.#groups.isMember(target, name)) ? undefined : { code: 'NotAGroupMember', message: `${name} is not a member of ${address}` };
    }
    if (await this.#topics.allows(target, action, name)) return undefined;
    return {
      code: action === 'publish' ? 'TopicPublishForbidden' : 'TopicSubscribeForbidden',
      message: `the policy of ${address} does not grant ${name} ${action}`,
    };
  }
}
