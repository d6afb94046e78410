// switchyard psql: a psql session on the database the service uses (DATABASE_URL, or the embedded
// cluster in the data folder), so nobody has to dig out the port and the password file. The
// connection reaches psql through its PG* environment variables, never its command line, where
// `ps` would show the password.
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Config } from '../config.ts';
import { withDatabaseUrl } from './cli-database.ts';

export interface PsqlOptions {
  /** Run this SQL and exit (psql --command), instead of an interactive session. */
  command: string | undefined;
}

function connectionEnvironment(url: string): Record<string, string> {
  const parsed = new URL(url);
  return {
    PGHOST: parsed.hostname, PGPORT: parsed.port || '5432', PGUSER: decodeURIComponent(parsed.username),
    PGPASSWORD: decodeURIComponent(parsed.password), PGDATABASE: decodeURIComponent(parsed.pathname.slice(1)),
    ...(parsed.searchParams.get('sslmode') ? { PGSSLMODE: parsed.searchParams.get('sslmode')! } : {}),
  };
}

/** Where to connect by hand, without the password (it is in the data folder, or in DATABASE_URL). */
function describeConnection(url: string, config: Config): string {
  const env = connectionEnvironment(url);
  const password = config.databaseUrl ? 'the one in DATABASE_URL' : `in ${path.resolve(config.dataDir, 'pg-password')}`;
  return `host ${env.PGHOST}, port ${env.PGPORT}, user ${env.PGUSER}, database ${env.PGDATABASE}, password ${password}`;
}

export async function psqlCommand(options: PsqlOptions, config: Config, out: NodeJS.WritableStream): Promise<number> {
  return withDatabaseUrl(config, (url) => new Promise<number>((resolve, reject) => {
    const args = options.command === undefined ? [] : ['--no-psqlrc', '--command', options.command];
    const child = spawn('psql', args, { stdio: 'inherit', env: { ...process.env, ...connectionEnvironment(url) } });
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') return reject(error);
      out.write(`psql is not installed (Debian and Ubuntu: apt-get install postgresql-client). Connect any client to: ${describeConnection(url, config)}\n`);
      resolve(1);
    });
    child.once('exit', (code) => resolve(code ?? 1));
  }));
}
