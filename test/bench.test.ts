// The benchmark is not a timed test: CI only checks that the whole suite runs, on a tiny setting.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';

const run = promisify(execFile);

test('npm run bench runs every scenario and baseline on a tiny setting', async () => {
  const root = path.resolve(import.meta.dirname, '..');
  const { stdout } = await run(process.execPath, ['bench/run.ts', '--tiny', '--no-write'], {
    cwd: root, env: { PATH: process.env.PATH ?? '' }, timeout: 420_000, maxBuffer: 10 * 1024 * 1024,
  });
  expect(stdout).toContain('| scenario | target | result |');
  expect(stdout).not.toContain('not run');
  expect(stdout).toMatch(/messages lost at ingest 0 \[0\.\.0\] and 0 \[0\.\.0\]/);
  expect(stdout).toMatch(/deliveries left after receive \+ ack 0 \[0\.\.0\]/);
  expect(stdout).toMatch(/broadcast copies missing 0 \[0\.\.0\]/);
}, 440_000);
