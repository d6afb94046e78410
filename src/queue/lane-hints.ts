// Which lanes of the log a stage should look at next. The router's flushes say which lanes they
// wrote (the 'log' signal's keys, in memory and by NOTIFY), so a stage woken by them can claim
// only those lanes instead of checking every lane for work: that check probes each lane in every
// partition of the log, a median 148 us of PostgreSQL per batch with 16 lanes and 9 partitions,
// against 67 us for the one lane named (npm run bench:lanes; bench/RESULTS.md).
//
// A hint only narrows where to look first; nothing depends on it. Whenever the hints cannot be
// trusted to be complete, the next claim looks at every lane: when a signal named no lanes (SQL
// publishes, redrives, a listener reconnect), when no hint came since the last claim (a poll, or a
// run that another worker's claim already served), and at least once every fullCheckMs whatever
// came (a NOTIFY lost on the way). So a lane nobody named waits at most until the next full look.

/** The lanes to claim; undefined means every lane that has work. */
export type LaneSelection = number[] | undefined;

export class LaneHints {
  readonly #fullCheckMs: number;
  readonly #now: () => number;
  #lanes = new Set<number>();
  #everyLane = true;
  #lastFullCheck = -Infinity;

  constructor(fullCheckMs: number, now: () => number = Date.now) {
    this.#fullCheckMs = fullCheckMs;
    this.#now = now;
  }

  /** New rows in these lanes (keys as the signal carries them); undefined: anywhere. */
  note(keys: readonly string[] | undefined): void {
    if (keys === undefined || keys.length === 0) {
      this.#everyLane = true;
      return;
    }
    for (const key of keys) {
      const lane = Number(key);
      // A key this version does not understand says "look everywhere", never "look nowhere".
      if (Number.isInteger(lane) && lane >= 0 && lane < 32_768) this.#lanes.add(lane);
      else this.#everyLane = true;
    }
  }

  /** What the next claim should look at; the hints noted so far are used up. */
  take(): LaneSelection {
    const now = this.#now();
    const lanes = [...this.#lanes];
    const everyLane = this.#everyLane || lanes.length === 0 || now - this.#lastFullCheck >= this.#fullCheckMs;
    this.#lanes.clear();
    this.#everyLane = false;
    if (!everyLane) return lanes.sort((a, b) => a - b);
    this.#lastFullCheck = now;
    return undefined;
  }
}
