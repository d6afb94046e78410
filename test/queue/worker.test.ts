// The worker loop: a worker that has caught up sleeps until woken; with a wake delay it lets a
// burst of wake-ups gather into one run, and a backlog still runs back to back.
import { afterEach, expect, test } from 'vitest';
import { createLogger } from '../../src/log.ts';
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
