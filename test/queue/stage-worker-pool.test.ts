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

/** A runner that counts runs and how many overlap; runs wait for `gate` while it is set. */
function countingRunner() {
  const state = { runs: 0, concurrent: 0, maxConcurrent: 0, gate: undefined as Promise<void> | undefined };
  return {
    state,
    stageName: 'counting',
    async runOnce(): Promise<RunResult> {
      state.runs += 1;
      state.concurrent += 1;
      state.maxConcurrent = Math.max(state.maxConcurrent, state.concurrent);
      await state.gate;
      state.concurrent -= 1;
      return { processed: 0, more: false };
    },
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

test('with every worker waiting, a wake-up starts one of them, not all', async () => {
  const runner = countingRunner();
  pool = new StageWorkerPool({ runner, minWorkers: 3, maxWorkers: 3, pollMs: 60_000, log: createLogger('silent') });
  pool.start();
  await settle();
  expect(runner.state.runs).toBe(3); // each worker looks once as it starts
  pool.wake();
  await settle();
  expect(runner.state.runs).toBe(4);
  pool.wake();
  pool.wake();
  await settle();
  expect(runner.state.runs).toBeGreaterThanOrEqual(5);
  expect(runner.state.runs).toBeLessThanOrEqual(6);
});

test('a wake-up during a run makes that worker run again and starts no idle one beside it', async () => {
  const runner = countingRunner();
  pool = new StageWorkerPool({ runner, minWorkers: 2, maxWorkers: 2, pollMs: 60_000, log: createLogger('silent') });
  pool.start();
  await settle();
  let open!: () => void;
  runner.state.gate = new Promise<void>((resolve) => (open = resolve));
  runner.state.maxConcurrent = 0;
  pool.wake(); // one worker starts a run and waits at the gate
  await settle();
  pool.wake(); // the log grew again while it runs
  await settle();
  expect(runner.state.concurrent).toBe(1);
  const runsBefore = runner.state.runs;
  runner.state.gate = undefined;
  open();
  await settle();
  expect(runner.state.runs).toBe(runsBefore + 1); // the woken worker ran again, and only it
  expect(runner.state.maxConcurrent).toBe(1);
});

test('a run that finds more than it may take wakes a waiting sibling', async () => {
  let left = 0;
  let concurrent = 0;
  let maxConcurrent = 0;
  const runner = {
    stageName: 'backlog',
    async runOnce(): Promise<RunResult> {
      concurrent += 1;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      await new Promise((resolve) => setTimeout(resolve, 20));
      concurrent -= 1;
      if (left === 0) return { processed: 0, more: false };
      left -= 1;
      return { processed: 1, more: left > 0 };
    },
  };
  pool = new StageWorkerPool({ runner, minWorkers: 2, maxWorkers: 2, pollMs: 60_000, log: createLogger('silent'), growAfterBusyRuns: 100 });
  pool.start();
  await settle();
  maxConcurrent = 0;
  left = 3; // a backlog arrives: one wake-up, one worker starts, and its first run says there is more
  pool.wake();
  await eventually(async () => (left === 0 ? true : undefined), 5_000, 'the backlog to drain');
  expect(maxConcurrent).toBe(2);
});

test('a wake-up tells the runner where the log grew before a worker runs, and says "anywhere" when the signal did not', async () => {
  const told: string[] = [];
  const runner = {
    stageName: 'fake',
    noteNewRows: (lanes: readonly string[] | undefined) => void told.push(`note ${lanes === undefined ? 'anywhere' : lanes.join(',')}`),
    async runOnce(): Promise<RunResult> {
      told.push('run');
      return { processed: 0, more: false };
    },
  };
  pool = new StageWorkerPool({ runner, minWorkers: 1, maxWorkers: 1, pollMs: 60_000, log: createLogger('silent') });
  pool.start();
  await eventually(async () => (told.includes('run') ? true : undefined), 2_000, 'the first run');
  pool.wake(['3', '7']);
  await eventually(async () => (told.filter((t) => t === 'run').length === 2 ? true : undefined), 2_000, 'the run after the wake-up');
  pool.wake();
  await eventually(async () => (told.filter((t) => t === 'run').length === 3 ? true : undefined), 2_000, 'the run after the second wake-up');
  expect(told).toEqual(['run', 'note 3,7', 'run', 'note anywhere', 'run']);
});
