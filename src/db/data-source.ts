import { DataSource } from 'typeorm';
import { MigrationExecutor } from 'typeorm/migration/MigrationExecutor';
import type { Logger as TypeOrmLogger } from 'typeorm';
import type { Pool } from 'pg';
import { ENTITIES } from '../entities';
import { MIGRATIONS } from '../../migrations';
import { budgetPoolConnections } from './statement-budget';

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
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 30_000,
    },
  });
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

/** Puts every connection the data source takes under the request budget of src/db/statement-budget.ts. */
export function budgetConnections(dataSource: DataSource): void {
  const pool = (dataSource.driver as unknown as { master?: Pool }).master;
  if (pool) budgetPoolConnections(pool as unknown as { connect(...args: unknown[]): unknown });
}

/** The pg pool's occupancy, or null before the data source is initialised. */
export function poolState(
  dataSource: DataSource,
): { total: number; idle: number; waiting: number; max: number } | null {
  if (!dataSource.isInitialized) return null;
  const pool = (dataSource.driver as unknown as { master?: Pool }).master;
  if (!pool) return null;
  return {
    total: pool.totalCount,
    idle: pool.idleCount,
    waiting: pool.waitingCount,
    max: pool.options.max ?? 10,
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
