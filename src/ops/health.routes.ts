// Liveness (the process answers) and readiness (the database answers and we are not draining).
import { Hono } from 'hono';
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { AppEnv } from '../http/env.ts';
import { ApiError } from '../http/problem.ts';

export function healthRoutes(db: Db, isDraining: () => boolean) {
  const app = new Hono<AppEnv>();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    if (isDraining()) throw new ApiError('ShuttingDown');
    await sql`select 1`.execute(db);
    return c.json({ status: 'ready' });
  });
  return app;
}
