import type { Backend, BenchDatabase } from './db';
import { createBenchDatabase } from './db';
import type { Check } from './report';
import { startServer } from './server';
import type { BenchServer } from './server';
import { progress } from './util';

export interface CommonOptions {
  readonly backend: Backend;
  /** Extra node flags for the server (profiling). */
  readonly serverNodeArgs?: readonly string[];
}

/** A fresh database and the real server on it; always torn down, whatever happens. */
export async function withServer<T>(
  options: CommonOptions,
  label: string,
  body: (db: BenchDatabase, server: BenchServer) => Promise<T>,
  serverEnv: Record<string, string> = {},
): Promise<T> {
  const db = await createBenchDatabase(options.backend);
  let server: BenchServer | undefined;
  try {
    progress(`${label}: starting the server on ${options.backend}`);
    server = await startServer({
      databaseUrl: db.url,
      poolSize: db.serverPoolSize,
      pubSub: options.backend === 'pglite' ? 'memory' : 'postgres',
      nodeArgs: options.serverNodeArgs,
      env: serverEnv,
    });
    try {
      return await body(db, server);
    } catch (error) {
      // The server's own account (LOG_LEVEL=warn: warnings and errors) goes with the failure.
      const log = server.output().slice(-3000);
      if (error instanceof Error && log) error.message += `\n--- server log (tail) ---\n${log}`;
      throw error;
    }
  } finally {
    await server?.stop();
    await db.drop();
  }
}

export function check(name: string, pass: boolean, detail: string): Check {
  return { name, pass, detail };
}
