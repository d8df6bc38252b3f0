import crypto from 'node:crypto';
import { Client } from 'pg';
import { startEmbeddedPostgres } from '../../src/db/embedded';

export type Backend = 'pglite' | 'postgres';

/** The backend of the jest project running this file (see jest.config.js). */
export const BACKEND: Backend = (globalThis as { __DB_BACKEND__?: Backend }).__DB_BACKEND__ ?? 'pglite';

export interface TestDatabase {
  readonly backend: Backend;
  readonly url: string;
  drop(): Promise<void>;
}

/**
 * A fresh, empty database for one test file: a new database on the real server (dropped
 * afterwards), or a new in-memory PGlite.
 */
export async function createTestDatabase(backend: Backend = BACKEND): Promise<TestDatabase> {
  if (backend === 'pglite') {
    const embedded = await startEmbeddedPostgres({ maxConnections: 4 });
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
