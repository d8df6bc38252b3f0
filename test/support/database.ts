import crypto from 'node:crypto';
import fs from 'node:fs';
import { Client } from 'pg';
import { startEmbeddedPostgres } from '../../src/db/embedded';

export type Backend = 'pglite' | 'postgres';

/** Where global setup put the migrated PGlite data directory (a tarball) for this run. */
export const PGLITE_TEMPLATE_ENV = 'POA_TEST_PGLITE_TEMPLATE';

/** The backend of the jest project running this file (see jest.config.js). */
export const BACKEND: Backend = (globalThis as { __DB_BACKEND__?: Backend }).__DB_BACKEND__ ?? 'pglite';

export interface TestDatabase {
  readonly backend: Backend;
  readonly url: string;
  drop(): Promise<void>;
}

/**
 * A new database for one test file: a new database on the real server (dropped afterwards), or
 * a new in-memory PGlite. On PGlite it starts, where the suite has made one, as a copy of a
 * database the migrations have already run on (test/setup/global-setup.ts): a new PGlite cluster
 * and its migrations cost seconds per file. The server migrates it on start either way (nothing
 * left to do on the copy). `empty: true` always gives an empty database, for tests of the
 * migrations themselves.
 */
export async function createTestDatabase(
  backend: Backend = BACKEND,
  { empty = false }: { empty?: boolean } = {},
): Promise<TestDatabase> {
  if (backend === 'pglite') {
    const template = process.env[PGLITE_TEMPLATE_ENV];
    const initialData = !empty && template ? new Blob([fs.readFileSync(template)]) : undefined;
    const embedded = await startEmbeddedPostgres({ maxConnections: 4, initialData });
    return { backend, url: embedded.url, drop: () => embedded.stop() };
  }
  const adminUrl = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `poa_test_${process.pid}_${crypto.randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    backend,
    url: url.toString(),
    async drop() {
      const c = new Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
