import 'reflect-metadata';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { createDataSource, runMigrations } from '../../src/db/data-source';
import { startEmbeddedPostgres } from '../../src/db/embedded';
import { PGLITE_TEMPLATE_ENV } from '../support/database';

/**
 * Runs once before each database-backed project.
 * - PostgreSQL: the project needs a server; fail at once with a clear message rather than in
 *   every test file.
 * - PGlite: runs the migrations once on a new PGlite and saves its data directory, which every
 *   test file then starts from (test/support/database.ts). This also proves, once a run, that the
 *   migrations apply to an empty embedded database.
 */
export default async function globalSetup(
  _globalConfig: unknown,
  projectConfig: { globals?: Record<string, unknown> },
) {
  const backend = projectConfig.globals?.__DB_BACKEND__;
  if (backend === 'pglite') return makePgliteTemplate();
  if (backend !== 'postgres') return;
  const url = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    throw new Error(
      `Integration tests need PostgreSQL at ${url} (set TEST_POSTGRES_URL to change it): ${(error as Error).message}`,
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function makePgliteTemplate(): Promise<void> {
  const file = path.join(os.tmpdir(), `poa-sieve-pglite-template-${process.pid}.tar`);
  const embedded = await startEmbeddedPostgres({ maxConnections: 1 });
  try {
    const ds = createDataSource(embedded.url, 1);
    await ds.initialize();
    try {
      await runMigrations(ds);
    } finally {
      await ds.destroy();
    }
    fs.writeFileSync(file, Buffer.from(await (await embedded.dump()).arrayBuffer()));
  } finally {
    await embedded.stop();
  }
  process.env[PGLITE_TEMPLATE_ENV] = file;
}
