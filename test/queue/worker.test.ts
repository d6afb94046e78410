// The worker loop: a worker that has caught up sleeps until woken; with a wake delay it lets a
// burst of wake-ups gather into one run, and a backlog still runs back to back.
import { afterEach, expect, test } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { Worker, type RunResult } from '../../src/queue/worker.ts';
import { eventually } from '../helpers/factories.ts';

let worker: Worker | undefined;

afterEach(async () => {
  await worker?.stop(1_000);
  worker = undefined;
});

function countingWorker(wakeDelayMs: number, backlog = { left: 0 }) {
  const runs: number[] = [];
  worker = new Worker({
    name: 'counting', pollMs: 60_000, wakeDelayMs, log: createLogger('silent'),
    runOnce: async (): Promise<RunResult> => {
      runs.push(performance.now());
      backlog.left = Math.max(0, backlog.left - 1);
      return { processed: 1, more: backlog.left > 0 };
    },
  });
  return runs;
}

async function burstOfWakeUps(count: number, everyMs: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    worker!.wake();
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

test('without a wake delay, wake-ups spread over time each get a run', async () => {
  const runs = countingWorker(0);
  worker!.start();
  await eventually(async () => (runs.length === 1 ? true : undefined), 1_000, 'the first run');
  await burstOfWakeUps(5, 20);
  await eventually(async () => (runs.length === 6 ? true : undefined), 1_000, 'a run per wake-up');
});

test('with a wake delay, a burst of wake-ups after catching up becomes one run, that long after', async () => {
  const runs = countingWorker(150);
  worker!.start();
  await eventually(async () => (runs.length === 1 ? true : undefined), 1_000, 'the first run');
  const woken = performance.now();
  await burstOfWakeUps(5, 20);
  await eventually(async () => (runs.length === 2 ? true : undefined), 1_000, 'one more run');
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(runs).toHaveLength(2);
  expect(runs[1]! - woken).toBeGreaterThanOrEqual(140);
});

test('with a wake delay, a backlog still runs back to back without waiting', async () => {
  const backlog = { left: 20 };
  const runs = countingWorker(1_000, backlog);
  worker!.start();
  await eventually(async () => (backlog.left === 0 ? true : undefined), 500, 'the backlog to drain');
  expect(runs.length).toBe(20);
});

function failingWorker(error: Error, failuresBeforeSuccess: number) {
  const runs: number[] = [];
  worker = new Worker({
    name: 'failing', pollMs: 60_000, log: createLogger('silent'), minBackoffMs: 100, maxBackoffMs: 10_000,
    runOnce: async (): Promise<RunResult> => {
      runs.push(performance.now());
      if (runs.length <= failuresBeforeSuccess) throw error;
      return { processed: 1, more: false };
    },
  });
  return runs;
}

const unreachable = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

test('while the database is unreachable a worker retries at least every second, and at once when woken', async () => {
  const runs = failingWorker(unreachable(), 6);
  worker!.start();
  // Backoffs 100, 200, 400, 800, then capped at 1000 (uncapped: 1600, 3200).
  await eventually(async () => (runs.length === 6 ? true : undefined), 5_000, 'six failed runs');
  const gaps = runs.slice(1).map((at, i) => at - runs[i]!);
  expect(Math.max(...gaps)).toBeLessThan(1_500);
  // The seventh would come a second later; a wake-up (the listener reconnected) brings it now.
  const wokenAt = performance.now();
  worker!.wake();
  await eventually(async () => (runs.length === 7 ? true : undefined), 5_000, 'the run after the wake-up');
  expect(runs[6]! - wokenAt).toBeLessThan(500);
});

test('a run that failed on its data backs off without being cut short by wake-ups', async () => {
  const runs = failingWorker(Object.assign(new Error('invalid input syntax'), { code: '22P02' }), 4);
  worker!.start();
  await eventually(async () => (runs.length === 4 ? true : undefined), 5_000, 'four failed runs');
  const wokenAt = performance.now();
  worker!.wake(); // the fifth run waits its 800 ms backoff all the same
  await eventually(async () => (runs.length === 5 ? true : undefined), 5_000, 'the fifth run');
  expect(runs[4]! - wokenAt).toBeGreaterThan(400);
});
