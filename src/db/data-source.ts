import { DataSource } from 'typeorm';
import { MigrationExecutor } from 'typeorm/migration/MigrationExecutor';
import type { Logger as TypeOrmLogger } from 'typeorm';
import { Client } from 'pg';
import type { ClientConfig, Pool } from 'pg';
import { ENTITIES } from '../entities';
import { MIGRATIONS } from '../../migrations';
import { OverloadedError } from '../domain/errors';
import { Semaphore } from '../semaphore';
import { budgetPoolConnections } from './statement-budget';

/** How long a request waits for a pool connection before it fails (UNAVAILABLE). */
const CONNECT_TIMEOUT_MS = 5_000;

/**
 * Builds the TypeORM data source. The schema changes only through the migrations in
 * `migrations/`; `synchronize` is never on.
 */
export interface QueryObserver {
  query(): void;
  error(error: unknown): void;
}

export function createDataSource(
  url: string,
  poolSize: number,
  observer?: QueryObserver,
  applicationName = 'poa-sieve',
): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migration',
    synchronize: false,
    migrationsRun: false,
    // Counts statements (a Prometheus metric); TypeORM hands every query to a custom logger.
    logger: observer ? queryLogger(observer) : undefined,
    applicationName,
    extra: {
      max: poolSize,
      // Fail fast when the database is unreachable instead of hanging a request.
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      idleTimeoutMillis: 30_000,
      Client: GuardedClient,
    },
  });
}

/**
 * A node-postgres client that is never without an 'error' listener. pg-pool removes its own
 * listener when it hands a client out, and TypeORM adds one only a microtask later (and removes
 * it when it releases the client). When a backend is terminated just as its connection is handed
 * out (pg_terminate_backend, a failover, an idle-session timeout), pg's parser can read
 * ReadyForQuery and the FATAL error from the same packet, and the error is emitted in that gap:
 * an 'error' event nobody listens to ends the process. The error still reaches the query that
 * was running and the pool, which discards the client; this listener only keeps the process up.
 */
export class GuardedClient extends Client {
  constructor(config?: string | ClientConfig) {
    super(config);
    this.on('error', () => undefined);
  }
}

/** Arbitrary but fixed: every instance of this service agrees on it. ("poa-sieve" in ASCII, folded.) */
const MIGRATION_LOCK_KEY = 0x706f6173;

/**
 * Runs pending migrations under a session-level advisory lock, so instances that start together
 * take turns: the first applies the migrations, the others find nothing left to do.
 * Returns the names of the migrations this call applied.
 */
export async function runMigrations(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      // The migrations run on the connection that holds the lock: a pool of one (the embedded
      // database) has no second connection to give them.
      const executor = new MigrationExecutor(dataSource, runner);
      executor.transaction = 'each';
      const applied = await executor.executePendingMigrations();
      return applied.map((m) => m.name);
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await runner.release();
  }
}

/**
 * Puts every connection the data source takes under the request budget of
 * src/db/statement-budget.ts and, given `readerConnections`, caps the connections GraphQL query
 * operations hold at once (the rest of the pool is kept for ingest, the hold scheduler and the
 * DNO streams; a read that waits the pool's connect timeout for its share gets OVERLOADED).
 * Returns that share, if any.
 */
export function budgetConnections(dataSource: DataSource, readerConnections?: number): Semaphore | undefined {
  const pool = (dataSource.driver as unknown as { master?: Pool }).master;
  if (!pool) return undefined;
  const readers =
    readerConnections === undefined
      ? undefined
      : new Semaphore({
          limit: readerConnections,
          maxWaitMs: CONNECT_TIMEOUT_MS,
          refusal: () => new OverloadedError(1, readerConnections, 'database reads'),
        });
  budgetPoolConnections(pool as unknown as { connect(...args: unknown[]): unknown }, readers);
  return readers;
}

export interface PoolState {
  readonly total: number;
  readonly idle: number;
  readonly waiting: number;
  readonly max: number;
  /** The readers' share, where reads are capped: held, waiting for a place, and the cap. */
  readonly readers?: { readonly inUse: number; readonly waiting: number; readonly max: number };
}

/** The pg pool's occupancy, or null before the data source is initialised. */
export function poolState(dataSource: DataSource, readers?: Semaphore): PoolState | null {
  if (!dataSource.isInitialized) return null;
  const pool = (dataSource.driver as unknown as { master?: Pool }).master;
  if (!pool) return null;
  return {
    total: pool.totalCount,
    idle: pool.idleCount,
    waiting: pool.waitingCount,
    max: pool.options.max ?? 10,
    readers: readers && { inUse: readers.inUse, waiting: readers.waiting, max: readers.limit },
  };
}

/** True when the database answers and every migration this build knows is applied. */
export async function isDatabaseReady(dataSource: DataSource): Promise<boolean> {
  if (!dataSource.isInitialized) return false;
  try {
    return !(await dataSource.showMigrations());
  } catch {
    return false;
  }
}

/**
 * Starts the statements that GET /metrics itself runs, so they stay out of
 * poa_sieve_db_queries_total: that counter measures the work of requests and jobs.
 */
export const SCRAPE_STATEMENT = '/* metrics scrape */';

function queryLogger(observer: QueryObserver): TypeOrmLogger {
  return {
    logQuery: (query) => {
      if (!query.startsWith(SCRAPE_STATEMENT)) observer.query();
    },
    logQueryError: (error) => observer.error(error),
    logQuerySlow: () => undefined,
    logSchemaBuild: () => undefined,
    logMigration: () => undefined,
    log: () => undefined,
  };
}
