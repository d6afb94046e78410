// The one rule for consumers that stop reading, on every transport: a stream whose writes have
// waited longer than the write timeout is closed with this code, and its leased messages go back
// to the queue at once (InboxService.stream), so that other connections of the client get them.
export const SLOW_CONSUMER = 'SlowConsumer';

export class SlowConsumerError extends Error {
  constructor() {
    super('the client stopped reading its stream');
    this.name = 'SlowConsumerError';
  }
}
