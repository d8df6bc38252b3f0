import type { Pool, PoolClient } from 'pg';
import type { DataSource } from 'typeorm';
import { GuardedClient, createDataSource } from '../../src/db/data-source';
import { BACKEND, createTestDatabase } from '../support/database';
import type { TestDatabase } from '../support/database';

/**
 * A connection whose backend goes away while nobody listens for its errors must not end the
 * process. pg-pool stops listening for a client's errors when it hands the client out, and
 * TypeORM starts only a microtask later; a FATAL error read in that gap (pg_terminate_backend
 * just as the connection is handed out) was an unhandled 'error' event and killed the server.
 */
describe(`a pooled connection that fails while handed out (${BACKEND})`, () => {
  let db: TestDatabase;
  let ds: DataSource;
  let pool: Pool;

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = createDataSource(db.url, 2);
    await ds.initialize();
    pool = (ds.driver as unknown as { master: Pool }).master;
  });
  afterAll(async () => {
    await ds.destroy();
    await db.drop();
  });

  /**
   * Runs `work` on a client out of the pool with no listener but its own (the gap before
   * TypeORM's), then hands it back as broken: the pool must discard it.
   */
  const handedOut = async (work: (client: PoolClient) => Promise<void>): Promise<void> => {
    const client = await pool.connect();
    try {
      expect(client.listenerCount('error')).toBe(client instanceof GuardedClient ? 1 : 0);
      await work(client);
    } finally {
      client.release(new Error('broken'));
    }
  };

  test('every pooled client is guarded', async () => {
    await handedOut(async (client) => expect(client).toBeInstanceOf(GuardedClient));
  });

  test('an error emitted in the gap is not thrown, and the pool replaces the client', async () => {
    await handedOut(async (client) => {
      expect(() => client.emit('error', new Error('the backend went away'))).not.toThrow();
    });
    expect(await ds.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });

  (BACKEND === 'postgres' ? test : test.skip)(
    'pg_terminate_backend of a handed-out connection: the process stays up and the pool recovers',
    async () => {
      let pid = 0;
      await handedOut(async (client) => {
        [{ pid }] = (await client.query('SELECT pg_backend_pid() AS pid')).rows as { pid: number }[];
        const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
        await ds.query('SELECT pg_terminate_backend($1)', [pid]);
        // The FATAL message and the closed socket both arrive while only the guard listens.
        await ended;
        await expect(client.query('SELECT 1')).rejects.toThrow();
      });
      const rows = (await ds.query('SELECT pg_backend_pid() AS pid')) as { pid: number }[];
      expect(rows[0].pid).not.toBe(pid);
    },
  );
});
