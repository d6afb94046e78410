// One PostgreSQL server for the whole run, and one migrated template database that every test file
// clones (CREATE DATABASE ... TEMPLATE is a file copy: milliseconds). Where the server comes from:
//   1. TEST_DATABASE_URL, when set (any database on a server where the user may create databases);
//   2. a testcontainers PostgreSQL, when a Docker engine answers;
//   3. otherwise an embedded PostgreSQL in a temporary folder (the default, and what CI uses).
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../../src/db/embedded-postgres.ts';
import { databaseUrl } from '../../src/db/embedded-postgres.ts';
import { migrateToLatest, withMigrationDb } from '../../src/db/migrate.ts';
import { createLogger } from '../../src/logger.ts';

export const TEMPLATE_DATABASE = 'switchyard_template';

declare module 'vitest' {
  export interface ProvidedContext {
    serverUrl: string;
    templateDatabase: string;
  }
}

const log = createLogger('warn');

async function dockerEngineAvailable(): Promise<boolean> {
  if (!process.env.DOCKER_HOST && !existsSync('/var/run/docker.sock')) return false;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

async function startServer(): Promise<{ url: string; source: string; stop: () => Promise<void> }> {
  if (process.env.TEST_DATABASE_URL) {
    return { url: process.env.TEST_DATABASE_URL, source: 'TEST_DATABASE_URL', stop: async () => undefined };
  }
  if (await dockerEngineAvailable()) {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const container = await new PostgreSqlContainer('postgres:18-alpine')
      .withCommand(['postgres', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'max_connections=300'])
      .start();
    return { url: container.getConnectionUri(), source: 'testcontainers', stop: async () => void (await container.stop()) };
  }
  const dataDir = await mkdtemp(path.join(tmpdir(), 'switchyard-test-'));
  const embedded = await startEmbeddedPostgres({
    dataDir,
    port: 0,
    log,
    // Throwaway data: durability off, for speed.
    settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: '400' },
  });
  return {
    url: embedded.url,
    source: `embedded PostgreSQL in ${dataDir}`,
    stop: async () => {
      await embedded.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export default async function setup(project: TestProject) {
  const server = await startServer();
  process.stderr.write(`tests use ${server.source}\n`);
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(`drop database if exists ${TEMPLATE_DATABASE} with (force)`);
  await admin.query(`create database ${TEMPLATE_DATABASE}`);
  await admin.end();
  await withMigrationDb(databaseUrl(server.url, TEMPLATE_DATABASE), log, migrateToLatest);
  project.provide('serverUrl', server.url);
  project.provide('templateDatabase', TEMPLATE_DATABASE);
  return async () => {
    await server.stop();
  };
}
