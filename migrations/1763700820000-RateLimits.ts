import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Per-principal request budgets shared by every instance (src/http/rate-limit.ts): the table
 * rate-limiter-flexible's PostgreSQL store reads and writes, with its own layout. Rows expire by
 * their `expire` time (epoch milliseconds) and the store deletes old ones hourly.
 */
export class RateLimits1763700820000 implements MigrationInterface {
  name = 'RateLimits1763700820000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE rate_limit (
        key    varchar(255) PRIMARY KEY,
        points integer      NOT NULL DEFAULT 0,
        expire bigint
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE rate_limit');
  }
}
