// Progress of a long operation (a redrive of many dead letters). On a terminal it is one line
// redrawn in place; anywhere else (a pipe, a log file, CI) each update is a line of its own, so
// nothing is full of carriage returns.

export interface ProgressOutput {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

const BAR_WIDTH = 30;

export class ProgressBar {
  readonly #out: ProgressOutput;
  readonly #label: string;
  readonly #started = Date.now();
  #drawn = false;

  constructor(out: ProgressOutput, label: string) {
    this.#out = out;
    this.#label = label;
  }

  update(done: number, total: number): void {
    const fraction = total > 0 ? Math.min(1, done / total) : 1;
    const seconds = (Date.now() - this.#started) / 1000;
    // No rate before anything is done: "0/s" says nothing, and the first line comes at once only on an idle machine.
    const rate = seconds > 0 && done > 0 ? ` ${Math.round(done / seconds).toLocaleString('en-US')}/s` : '';
    const counts = `${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')}`;
    if (this.#out.isTTY) {
      const filled = Math.round(fraction * BAR_WIDTH);
      const bar = `${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}`;
      this.#out.write(`\r${this.#label} [${bar}] ${Math.floor(fraction * 100)}% ${counts}${rate}\x1b[K`);
      this.#drawn = true;
    } else {
      this.#out.write(`${this.#label}: ${counts}${rate}\n`);
    }
  }

  /** Ends the progress line (on a terminal) and prints the summary under it. */
  finish(summary: string): void {
    if (this.#drawn) this.#out.write('\n');
    this.#out.write(`${summary}\n`);
  }
}
