// One undo stack for the composition root: each part registers how to undo itself as soon as it
// exists, and both a start-up that fails half way and a normal stop() unwind the same stack, in
// reverse. Two lists drifted before (the stage pool was closed by one and not the other).
import type { Logger } from './logger.ts';

export class Teardown {
  readonly #steps: { name: string; undo: () => Promise<unknown> }[] = [];

  /** Registers `undo` to run before everything registered earlier. */
  push(name: string, undo: () => Promise<unknown>): void {
    this.#steps.push({ name, undo });
  }

  /** Runs `build`; should it fail, unwinds everything registered so far, then rethrows. */
  async orUnwind<T>(log: Logger, build: () => Promise<T>): Promise<T> {
    try {
      return await build();
    } catch (error) {
      await this.run(log);
      throw error;
    }
  }

  /** Runs every step once, newest first; a step that fails is logged and the rest still run. */
  async run(log: Logger): Promise<void> {
    for (let step = this.#steps.pop(); step; step = this.#steps.pop()) {
      await step.undo().catch((error: unknown) => log.warn('could not stop cleanly', { part: step!.name, error }));
    }
  }
}
