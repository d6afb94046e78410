// A stage's workers in one process grow towards the maximum while runs keep reporting more work,
// and shrink back to the minimum once the newest ones find nothing to do.
import { afterEach, expect, test } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { StageWorkerPool } from '../../src/queue/stage-worker-pool.ts';
import type { RunResult } from '../../src/queue/worker.ts';
import { eventually } from '../helpers/factories.ts';

let pool: StageWorkerPool | undefined;

afterEach(async () => {
  await pool?.stop(1_000);
  pool = undefined;
});

/** A runner with a backlog of `backlog` items that takes `perRun` per run. */
function fakeRunner(backlog: { left: number }, perRun: number) {
  let concurrent = 0;
  let maxConcurrent = 0;
  return {
    stageName: 'fake',
    get maxConcurrent() {
      return maxConcurrent;
    },
    async runOnce(): Promise<RunResult> {
      concurrent += 1;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      await new Promise((resolve) => setTimeout(resolve, 2));
      concurrent -= 1;
      const processed = Math.min(perRun, backlog.left);
      backlog.left -= processed;
      return { processed, more: backlog.left > 0 };
    },
  };
}

test('grows to the maximum under a backlog, then retires the extra workers down to the minimum', async () => {
  const backlog = { left: 2_000 };
  const runner = fakeRunner(backlog, 5);
  pool = new StageWorkerPool({
    runner, minWorkers: 1, maxWorkers: 3, pollMs: 20, log: createLogger('silent'), growAfterBusyRuns: 3, cooldownMs: 20, idleMs: 100,
  });
  pool.start();
  expect(pool.size).toBe(1);
  await eventually(async () => (pool!.size === 3 ? true : undefined), 5_000, 'three workers');
  expect(runner.maxConcurrent).toBeLessThanOrEqual(3);
  await eventually(async () => (backlog.left === 0 ? true : undefined), 10_000, 'the backlog to drain');
  await eventually(async () => (pool!.size === 1 ? true : undefined), 5_000, 'back to one worker');
  expect(runner.maxConcurrent).toBe(3);
});

test('never grows while runs find the work done, and never drops below the minimum', async () => {
  const runner = fakeRunner({ left: 0 }, 5);
  pool = new StageWorkerPool({
    runner, minWorkers: 2, maxWorkers: 4, pollMs: 10, log: createLogger('silent'), growAfterBusyRuns: 1, cooldownMs: 0, idleMs: 0,
  });
  pool.start();
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(pool.size).toBe(2);
  expect(runner.maxConcurrent).toBeLessThanOrEqual(2);
});
