import { Client } from 'pg';

/**
 * Runs once before the integration projects. The real-PostgreSQL project needs a server: fail
 * at once with a clear message rather than in every test file.
 */
export default async function globalSetup(
  _globalConfig: unknown,
  projectConfig: { globals?: Record<string, unknown> },
) {
  if (projectConfig.globals?.__DB_BACKEND__ !== 'postgres') return;
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
