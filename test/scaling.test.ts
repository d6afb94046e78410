// The scaling signal: one worker per threshold's worth of each role's own backlog, within bounds.
import { expect, test } from 'vitest';
import type { ScalingThresholds } from '../src/config.ts';
import type { OpsSnapshot } from '../src/ops/ops-snapshot.ts';
import { recommendWorkers } from '../src/ops/scaling.ts';

const thresholds: ScalingThresholds = {
  minWorkers: 1, maxWorkers: 20, stageRowsPerWorker: 1_000, stageLagSecondsPerWorker: 10, queueVisiblePerWorker: 500, publishRatePerWorker: 100,
};

function snapshot(o: { routing?: [number, number, boolean?]; visible?: number; rate?: number }): OpsSnapshot {
  const stage = (name: string, [rows, lag, capped] = [0, 0] as [number, number, boolean?]) => ({
    stage: name, rowsBehind: rows, lagSeconds: lag, rowsCapped: capped ?? false, retrying: 0, deadLetters: 0,
  });
  return {
    takenAt: new Date(),
    queues: { queues: 1, depth: o.visible ?? 0, visible: o.visible ?? 0, in_flight: 0, delayed: 0, oldest_enqueued_at: null, counted_at: null },
    topQueues: [],
    queuesByDepth: [],
    deadLetters: { client_dead_letters: 0, by_reason: {}, stage_dead_letters: 0 },
    stages: [stage('analytics'), stage('persistence'), stage('routing', o.routing)],
    publishedPerSecond: o.rate ?? 0,
    traffic: [],
    processing: [],
    openAnomalies: [],
  };
}

const recommended = (s: OpsSnapshot, t = thresholds) => Object.fromEntries(recommendWorkers(s, t).map((r) => [r.role, r.recommended]));

test('an idle system asks for the minimum everywhere', () => {
  expect(recommended(snapshot({}))).toEqual({ router: 1, routing: 1, persistence: 1, analytics: 1, push: 1, upkeep: 1 });
  expect(recommended(snapshot({}), { ...thresholds, minWorkers: 2 })).toMatchObject({ routing: 2, upkeep: 2 });
});

test('each role follows its own backlog: rows or lag for stages, visible messages for push, publish rate for routers', () => {
  expect(recommended(snapshot({ routing: [4_500, 3] }))).toMatchObject({ routing: 5, persistence: 1 }); // rows: ceil(4500 / 1000)
  expect(recommended(snapshot({ routing: [100, 65] }))).toMatchObject({ routing: 7 }); // lag: ceil(65 / 10)
  expect(recommended(snapshot({ visible: 1_001 }))).toMatchObject({ push: 3 });
  expect(recommended(snapshot({ rate: 250 }))).toMatchObject({ router: 3 });
});

test('never above the maximum, and a stage never above the 16 lanes of the log', () => {
  expect(recommended(snapshot({ routing: [1_000_000, 0, true], visible: 1_000_000 }))).toMatchObject({ routing: 16, push: 20 });
  expect(recommended(snapshot({ routing: [1_000_000, 0] }), { ...thresholds, maxWorkers: 4 })).toMatchObject({ routing: 4 });
  const routing = recommendWorkers(snapshot({ routing: [40_000, 2, true] }), thresholds).find((r) => r.role === 'routing')!;
  expect(routing.reason).toContain('40000 or more rows behind');
});
