// A whole Switchyard (all roles unless told otherwise) on a test database, on a random port, with
// short poll intervals so that tests relying on the fallback paths do not wait long.
import { loadConfig, type TuningOverrides } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { startSwitchyard, type Switchyard } from '../../src/main.ts';
import { api, type Api } from './http.ts';

export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789abcdef0123456789';

export interface TestService extends Switchyard {
  admin: Api;
  anonymous: Api;
}

/**
 * env: variables as an operator sets them; tuning: constants a test needs shorter or smaller;
 * now: an injected clock for the inbox's leases and the rate limits, so a test can move time instead of sleeping.
 */
export async function startTestService(
  databaseUrl: string | undefined, env: Record<string, string> = {}, tuning: TuningOverrides = {}, o: { now?: () => Date } = {},
): Promise<TestService> {
  const config = loadConfig({
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    PORT: '0',
    SWITCHYARD_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    SWITCHYARD_ROLES: 'router,routing,persistence,analytics,push',
    SWITCHYARD_STAGE_POLL_MS: '200',
    SWITCHYARD_INBOX_POLL_MS: '200',
    SWITCHYARD_SSE_HEARTBEAT_MS: '1000',
    SWITCHYARD_SHUTDOWN_TIMEOUT_MS: '5000',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'error',
    ...env,
  }, { analyticsFlushMs: 200, ...tuning });
  const service = await startSwitchyard(config, { log: createLogger(config.logLevel, { test: true }), migrate: databaseUrl === undefined, ...o }); // test databases are cloned migrated
  return { ...service, admin: api(service.url, TEST_ADMIN_TOKEN), anonymous: api(service.url, undefined) };
}
