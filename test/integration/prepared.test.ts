import { createDataSource } from '../../src/db/data-source';
import { enablePreparedStatements, preparedQuery } from '../../src/db/prepared';
import { BACKEND, createTestDatabase } from '../support/database';
import type { TestDatabase } from '../support/database';

/**
 * Named prepared statements: used on a real PostgreSQL, where each connection is a session of its
 * own; never on PGlite, where one session outlives the connections that prepared in it.
 */
describe(`prepared statements (${BACKEND})`, () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  const run = async () => {
    const ds = createDataSource(db.url, 1);
    await ds.initialize();
    try {
      const enabled = await enablePreparedStatements(ds);
      const rows = await ds.transaction(async (tx) => {
        const sql = 'SELECT $1::int + 1 AS n';
        const first = await preparedQuery<{ n: number }>(tx, 'poa_sieve_test_plus_one', sql, [1]);
        const second = await preparedQuery<{ n: number }>(tx, 'poa_sieve_test_plus_one', sql, [41]);
        const prepared = (await tx.query(
          `SELECT name FROM pg_prepared_statements WHERE name = 'poa_sieve_test_plus_one'`,
        )) as { name: string }[];
        return { values: [first[0].n, second[0].n], prepared: prepared.length };
      });
      return { enabled, ...rows };
    } finally {
      await ds.destroy();
    }
  };

  test('prepares on PostgreSQL only, and a new connection starts afresh', async () => {
    const expected = {
      enabled: BACKEND === 'postgres',
      values: [2, 42],
      prepared: BACKEND === 'postgres' ? 1 : 0,
    };
    expect(await run()).toEqual(expected);
    // A second data source (new connections; on PGlite the same session) prepares again or not at all.
    expect(await run()).toEqual(expected);
  });
});
