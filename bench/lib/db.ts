import crypto from 'node:crypto';
import { Client, Pool } from 'pg';
import { startEmbeddedPostgres } from '../../src/db/embedded';

export type Backend = 'postgres' | 'pglite';

export interface BenchDatabase {
  readonly backend: Backend;
  readonly url: string;
  /** How many connections the server may open (PGlite accepts only a few). */
  readonly serverPoolSize: number;
  /** A pool on the benchmark database for the baseline and the checks. */
  readonly pool: Pool;
  drop(): Promise<void>;
}

const ADMIN_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * A fresh database for one benchmark: CREATE DATABASE on the local PostgreSQL (dropped at the
 * end), or an in-memory PGlite behind its socket server in this process.
 */
export async function createBenchDatabase(backend: Backend, poolSize = 8): Promise<BenchDatabase> {
  if (backend === 'pglite') {
    // PGlite is one backend: concurrent sessions of the server interleave their extended-protocol
    // messages ("portal does not exist"), so the server gets one connection, as it does when it
    // embeds PGlite itself. This process's pool (baselines, checks) works while the server idles.
    const embedded = await startEmbeddedPostgres({ maxConnections: 16 });
    const pool = new Pool({ connectionString: embedded.url, max: 4 });
    pool.on('error', () => undefined);
    return {
      backend,
      url: embedded.url,
      serverPoolSize: 1,
      pool,
      async drop() {
        await pool.end();
        await embedded.stop();
      },
    };
  }
  const name = `poa_bench_${process.pid}_${crypto.randomBytes(3).toString('hex')}`;
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const pool = new Pool({ connectionString: url.toString(), max: poolSize });
  // pool.end() resolves before idle sockets have closed; DROP ... WITH (FORCE) may then end them.
  pool.on('error', () => undefined);
  return {
    backend,
    url: url.toString(),
    serverPoolSize: 10,
    pool,
    async drop() {
      await pool.end();
      // BENCH_KEEP_DATABASE=1 leaves it for a look afterwards (EXPLAIN on real data); its name is printed.
      if (process.env.BENCH_KEEP_DATABASE === '1') {
        process.stderr.write(`benchmark database kept: ${name}\n`);
        return;
      }
      const c = new Client({ connectionString: ADMIN_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

export async function serverVersion(url = ADMIN_URL): Promise<string> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ v: string }>("SELECT current_setting('server_version') AS v");
    return rows[0].v;
  } finally {
    await c.end();
  }
}
