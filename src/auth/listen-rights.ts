// Who may listen to an address: user:<name> only the clients registered under that name,
// group:<name> only its members, topic:<name> anyone unless the topic's policy restricts
// subscribe. One rule for every field that names an address a client would read from: listen-to
// lists, a message's reply_to, what a request waits on, and who may answer a request.
import type { GroupMembership } from '../groups/membership.ts';
import { parseAddress } from '../addresses/address.ts';
import type { TopicPolicies } from '../topics/topic-policies.ts';

export class ListenRights {
  readonly #membership: GroupMembership;
  readonly #policies: TopicPolicies;

  constructor(membership: GroupMembership, policies: TopicPolicies) {
    this.#membership = membership;
    this.#policies = policies;
  }

  /** Why the client registered as `name` may not listen to `address`, or undefined when it may. */
  async refusal(name: string, address: string): Promise<string | undefined> {
    const { kind, name: target } = parseAddress(address);
    if (kind === 'user' && target !== name) return `only clients registered as ${target} may listen to ${address}`;
    if (kind === 'group' && !(await this.#membership.isMember(target, name))) return `${name} is not a member of ${address}`;
    if (kind === 'topic' && !(await this.#policies.allows(target, 'subscribe', name))) {
      return `the policy of ${address} does not grant ${name} subscribe`;
    }
    if (kind !== 'user' && kind !== 'group' && kind !== 'topic') return `${address} is not an address anyone listens to`;
    return undefined;
  }

  async mayListen(name: string, address: string): Promise<boolean> {
    return (await this.refusal(name, address)) === undefined;
  }
}
