import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Safety-budget counters in shards (src/services/safety-budget.ts).
 *
 * Every decision transaction adds to the counter row of its DNO and minute, and held that row's
 * lock until it committed: every ingest transaction of a DNO waited for the one before it to
 * commit, whatever else they shared (in the end-to-end benchmark, 1.2 backends on average were
 * waiting for it, and ingest topped out near 2,800 alerts/s). A transaction now adds to the
 * shard of its own connection (its backend's process ID), so concurrent transactions never touch
 * the same row (a backend runs one transaction at a time), and these rows no longer take part in
 * lock ordering at all. Readers already summed rows per key, and now sum the shards too; the
 * shards of a minute are as many as the backends that wrote in it, and retention drops them with
 * their minute.
 */
export class ShardedBudgetCounters1763700840000 implements MigrationInterface {
  name = 'ShardedBudgetCounters1763700840000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE safety_budget_minute ADD COLUMN shard integer NOT NULL DEFAULT 0');
    await q.query('ALTER TABLE safety_budget_minute DROP CONSTRAINT safety_budget_minute_pkey');
    await q.query('ALTER TABLE safety_budget_minute ADD PRIMARY KEY (scope, key, minute, shard)');
  }

  async down(q: QueryRunner): Promise<void> {
    // Folds the shards back into one row per scope, key and minute.
    await q.query(`
      CREATE TEMP TABLE budget_folded ON COMMIT DROP AS
      SELECT scope, key, minute, sum(alerts)::int AS alerts, sum(suppressions)::int AS suppressions
        FROM safety_budget_minute GROUP BY 1, 2, 3`);
    await q.query('DELETE FROM safety_budget_minute');
    await q.query('ALTER TABLE safety_budget_minute DROP CONSTRAINT safety_budget_minute_pkey');
    await q.query('ALTER TABLE safety_budget_minute DROP COLUMN shard');
    await q.query('ALTER TABLE safety_budget_minute ADD PRIMARY KEY (scope, key, minute)');
    await q.query('INSERT INTO safety_budget_minute SELECT * FROM budget_folded');
  }
}
