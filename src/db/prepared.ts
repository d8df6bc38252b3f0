import type { DataSource, EntityManager } from 'typeorm';

/** The part of a node-postgres client this needs. */
interface PgClient {
  query(config: { name: string; text: string; values: readonly unknown[] }): Promise<{ rows: unknown[] }>;
}

const enabled = new WeakSet<DataSource>();

/**
 * Lets `preparedQuery` prepare statements on this data source's connections when the server is
 * a real PostgreSQL, where each connection is its own session. Not on PGlite (embedded, or
 * behind a socket): one session serves every connection there, so a statement prepared by a
 * connection since closed would still be there for the next one to trip over ("prepared
 * statement already exists"). A connection pooler in front must pool by session (as LISTEN needs
 * anyway). Returns whether they were enabled.
 */
export async function enablePreparedStatements(dataSource: DataSource): Promise<boolean> {
  const [{ version }] = (await dataSource.query('SELECT version() AS version')) as { version: string }[];
  if (/PGlite/i.test(version)) return false;
  enabled.add(dataSource);
  return true;
}

/**
 * Runs a statement as a named prepared statement on the transaction's connection: parsed and
 * planned once per connection instead of on every call (node-postgres prepares it on first use
 * per connection and reuses it after). Worth it for a large statement run on every ingest whose
 * planning costs more than its execution. Counted like any other statement (the query logger);
 * failures carry their SQLSTATE as usual. Where not enabled, an ordinary query.
 *
 * One name per text: node-postgres refuses one name with two texts.
 */
export async function preparedQuery<T>(
  tx: EntityManager,
  name: string,
  text: string,
  values: readonly unknown[],
): Promise<T[]> {
  const runner = tx.queryRunner;
  if (!runner || runner.isReleased || !enabled.has(tx.connection)) {
    return (await tx.query(text, [...values])) as T[];
  }
  const client = (await runner.connect()) as PgClient;
  tx.connection.logger.logQuery(text, [...values], runner);
  const { rows } = await client.query({ name, text, values });
  return rows as T[];
}
