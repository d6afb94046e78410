// Wake-up signals between the parts of Switchyard, inside a process and across processes.
//
// signal(channel, keys) wakes this process's handlers at once, in memory, and schedules a NOTIFY
// for the other processes. NOTIFYs are coalesced per channel: the first goes out at once, later
// ones within coalesceMs merge into one (their keys united), so a busy router sends at most one
// NOTIFY per channel per window, never one per message. Notifications from other processes reach
// the same handlers. After the listening connection is re-established, every handler is called
// with "all keys", because anything may have happened while nobody was listening.
//
// A NOTIFY nobody else hears is a round trip for nothing, and on small hosts a dear one: writes
// that wake idle backends took 31% of the all-in-one service's main thread at 275 msg/s, a quarter
// of them NOTIFYs no other process heard (bench/RESULTS.md, eighth session). So a process looks every PEER_CHECK_MS for other
// processes' listening sessions on its database, and while there are none it sends no NOTIFY on
// the channels whose listeners also poll (log, delivery, reply); config changes always go out. A
// process that starts listening, or listens again after losing its connection, says so on the peer
// channel, so the others send again at once rather than at their next look; anything committed in
// between is found by the pollers, as a lost notification is.
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type pg from 'pg';
import pgListen from 'pg-listen';
import { stormProof, type Logger } from '../logger.ts';
import { ALL_KEYS, CHANNELS, decodePayload, encodePayload, MAX_KEYS_PER_NOTIFY, type ChannelName } from './channels.ts';
import { otherListenerIsOpen, sendEncodedNotification } from './notify.repository.ts';

/** How often a process looks for other processes' listeners. */
export const PEER_CHECK_MS = 2_000;
const LISTENER_NAME_PREFIX = 'switchyard:listen:';
/** Channels whose listeners poll as well: while nobody else listens, their NOTIFYs are left out. */
const POLLED_CHANNELS: ReadonlySet<ChannelName> = new Set(['log', 'delivery', 'reply']);

/** keys undefined: every key (a wake-all). */
export type SignalHandler = (keys: string[] | undefined) => void;

interface PendingNotify {
  keys: Set<string> | typeof ALL_KEYS;
  timer: NodeJS.Timeout | undefined;
  lastSentAt: number;
}

export interface SignalsOptions {
  url: string;
  /** Opens the socket when DATABASE_URL names several hosts: the listener follows the primary. */
  stream?: () => Socket;
  pool: pg.Pool;
  log: Logger;
  coalesceMs: number;
  /** PEER_CHECK_MS unless a test wants another interval. */
  peerCheckMs?: number;
}

export class Signals {
  /** This process's instance id: tags its NOTIFYs, and names its listener session (switchyard:listen:<origin>). */
  readonly origin = randomBytes(6).toString('base64url');
  readonly #o: SignalsOptions;
  readonly #handlers = new Map<ChannelName, Set<SignalHandler>>();
  readonly #pending = new Map<ChannelName, PendingNotify>();
  #subscriber: ReturnType<typeof pgListen.default> | undefined;
  #closed = false;
  /** Whether another process may be listening: true until a look finds none. */
  #peers = true;
  /** Counts what was heard from other processes, so that a look begun before the latest of it cannot overrule it. */
  #heard = 0;
  #peerTimer: NodeJS.Timeout | undefined;

  constructor(options: SignalsOptions) {
    this.#o = options;
  }

  /** Opens the LISTEN connection (with reconnect) on every channel; resolves once it knows whether another process listens. */
  async listen(): Promise<void> {
    const { log } = this.#o;
    const subscriber = pgListen.default({ connectionString: this.#o.url, application_name: this.#listenerName, stream: this.#o.stream }, {
      parse: (payload: string) => payload,
      paranoidChecking: 10_000,
      // At most a second between attempts: every stage and waiter is woken on reconnect, so this is
      // how late work accepted just before an outage can start again after it.
      retryInterval: (attempt: number) => Math.min(1_000, 250 * 2 ** attempt),
      retryTimeout: 0, // never give up; stages keep polling meanwhile
    });
    let connectedOnce = false;
    subscriber.events.on('connected', () => {
      if (connectedOnce) {
        log.info('listener reconnected, waking every worker');
        for (const channel of Object.keys(CHANNELS) as ChannelName[]) this.#dispatch(channel, undefined);
        // While this process was not listening, the others may have stopped notifying, and it may
        // have missed a newcomer's announcement: notify until the next look says otherwise.
        this.#hearFromPeer();
        void this.#announce();
      }
      connectedOnce = true;
    });
    const outageLog = stormProof(log);
    subscriber.events.on('reconnect', (attempt: number) => outageLog.warn('listener connection lost, reconnecting', { attempt }));
    subscriber.events.on('error', (error: Error) => outageLog.error('listener error', { error: error.message }));
    subscriber.events.on('notification', ({ channel, payload }: { channel: string; payload?: string }) => {
      const name = (Object.keys(CHANNELS) as ChannelName[]).find((key) => CHANNELS[key] === channel);
      if (!name) return;
      const { origin, keys } = decodePayload(payload);
      if (origin === this.origin) return;
      this.#hearFromPeer();
      this.#dispatch(name, keys);
    });
    await subscriber.connect();
    for (const channel of Object.values(CHANNELS)) await subscriber.listenTo(channel);
    this.#subscriber = subscriber;
    await this.#announce();
    await this.#lookForPeers();
    this.#peerTimer = setInterval(() => void this.#lookForPeers(), this.#o.peerCheckMs ?? PEER_CHECK_MS);
    this.#peerTimer.unref();
  }

  get #listenerName(): string {
    return `${LISTENER_NAME_PREFIX}${this.origin}`;
  }

  /** Tells the other processes that this one listens, so that they notify again. */
  async #announce(): Promise<void> {
    await this.#send('peer', encodePayload(this.origin, ALL_KEYS));
  }

  #hearFromPeer(): void {
    this.#heard += 1;
    this.#setPeers(true);
  }

  async #lookForPeers(): Promise<void> {
    const heardBefore = this.#heard;
    let open: boolean;
    try {
      open = await otherListenerIsOpen(this.#o.pool, LISTENER_NAME_PREFIX, this.#listenerName);
    } catch {
      open = true; // cannot tell: keep notifying
    }
    if (this.#closed) return;
    // A peer heard from while the look ran is newer than what the look saw.
    if (this.#heard === heardBefore) this.#setPeers(open);
  }

  #setPeers(peers: boolean): void {
    if (peers === this.#peers) return;
    this.#peers = peers;
    this.#o.log.info(peers ? 'another process listens: sending NOTIFYs again' : 'no other process listens: NOTIFYs on polled channels paused');
  }

  on(channel: ChannelName, handler: SignalHandler): () => void {
    let set = this.#handlers.get(channel);
    if (!set) this.#handlers.set(channel, (set = new Set()));
    set.add(handler);
    return () => set.delete(handler);
  }

  /** Wakes local handlers now and other processes soon. Call it after the commit it announces. */
  signal(channel: ChannelName, keys?: Iterable<string>): void {
    const keyList = keys === undefined ? undefined : [...keys];
    this.#dispatch(channel, keyList);
    this.#scheduleNotify(channel, keyList);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#peerTimer);
    for (const [channel, pending] of this.#pending) {
      if (pending.timer) {
        clearTimeout(pending.timer);
        await this.#sendNotify(channel, pending);
      }
    }
    await this.#subscriber?.close().catch(() => undefined);
    this.#subscriber = undefined;
  }

  #dispatch(channel: ChannelName, keys: string[] | undefined): void {
    for (const handler of this.#handlers.get(channel) ?? []) {
      try {
        handler(keys);
      } catch (error) {
        this.#o.log.error('signal handler failed', { channel, error });
      }
    }
  }

  #scheduleNotify(channel: ChannelName, keys: string[] | undefined): void {
    if (this.#closed) return;
    if (!this.#peers && POLLED_CHANNELS.has(channel)) return;
    let pending = this.#pending.get(channel);
    if (!pending) this.#pending.set(channel, (pending = { keys: new Set(), timer: undefined, lastSentAt: 0 }));
    if (keys === undefined) pending.keys = ALL_KEYS;
    else if (pending.keys !== ALL_KEYS) {
      for (const key of keys) pending.keys.add(key);
      if (pending.keys.size > MAX_KEYS_PER_NOTIFY) pending.keys = ALL_KEYS;
    }
    if (pending.timer) return; // already scheduled: this signal rides along
    const wait = Math.max(0, pending.lastSentAt + this.#o.coalesceMs - Date.now());
    const current = pending;
    current.timer = setTimeout(() => void this.#sendNotify(channel, current), wait);
  }

  async #sendNotify(channel: ChannelName, pending: PendingNotify): Promise<void> {
    const payload = encodePayload(this.origin, pending.keys);
    pending.keys = new Set();
    pending.timer = undefined;
    pending.lastSentAt = Date.now();
    await this.#send(channel, payload);
  }

  async #send(channel: ChannelName, payload: string): Promise<void> {
    try {
      await sendEncodedNotification(this.#o.pool, channel, payload);
    } catch (error) {
      // Other processes will find the work by polling.
      this.#o.log.warn('could not send a notification', { channel, error: (error as Error).message });
    }
  }
}
