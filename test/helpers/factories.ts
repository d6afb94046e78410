// Factories with defaults for the things most tests need.
import { expect } from 'vitest';
import type { Api } from './http.ts';

export interface TestClient {
  id: string;
  name: string;
  token: string;
  api: Api;
}

export async function registerClient(admin: Api, name: string, listenTo: (string | { address: string; filter?: unknown })[] = []): Promise<TestClient> {
  const reply = await admin.post('/v1/clients', { name, listen_to: listenTo });
  expect(reply.status, JSON.stringify(reply.body)).toBe(201);
  return { id: reply.body.id, name, token: reply.body.token, api: admin.as(reply.body.token) };
}

export async function publish(client: TestClient, message: Record<string, unknown>): Promise<string> {
  const reply = await client.api.post('/v1/messages', message);
  expect(reply.status, JSON.stringify(reply.body)).toBe(202);
  return reply.body.id;
}

/** Polls `check` until it returns a value that is not undefined, or fails after timeoutMs. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
