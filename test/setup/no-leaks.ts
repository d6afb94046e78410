// A test file must stop every worker it starts: a leaked loop would keep polling a dropped database.
import { afterAll, expect } from 'vitest';
import { runningWorkers } from '../../src/queue/worker.ts';

afterAll(() => {
  expect(runningWorkers(), 'workers still running after the file finished').toEqual([]);
});
