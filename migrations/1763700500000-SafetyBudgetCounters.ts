import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Per-minute safety-budget counters (src/services/safety-budget.ts).
 *
 * One row per scope (a DNO or an area), key and minute of receipt: how many AD1s were received
 * then and how many of them are withheld now (SUPPRESSED or PAIRED). Every decision transaction
 * adds its changes as its last step before the DNO sequence locks, so a budget read sums at most
 * `windowMinutes + 1` rows per key instead of counting every AD1 of the window. Retention
 * deletes the minutes a day past the window.
 *
 * The counters start from the AD1s received in the last 30 days (far more than a budget window
 * needs), so an upgrade under traffic keeps its budget.
 */
export class SafetyBudgetCounters1763700500000 implements MigrationInterface {
  name = 'SafetyBudgetCounters1763700500000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE safety_budget_minute (
        scope        text        NOT NULL CHECK (scope IN ('DNO', 'AREA')),
        key          text        NOT NULL,
        minute       timestamptz NOT NULL,
        alerts       integer     NOT NULL,
        suppressions integer     NOT NULL,
        PRIMARY KEY (scope, key, minute)
      )`);
    // Minutes by epoch arithmetic, as the service computes them (date_trunc follows the session's
    // time zone).
    await q.query(`
      INSERT INTO safety_budget_minute (scope, key, minute, alerts, suppressions)
      SELECT k.scope, k.key, to_timestamp(floor(extract(epoch FROM a.received_at) / 60) * 60),
             count(*), count(*) FILTER (WHERE a.outcome IN ('SUPPRESSED', 'PAIRED'))
        FROM alert a
       CROSS JOIN LATERAL (VALUES ('DNO', a.distributor_id::text), ('AREA', a.area_key)) AS k(scope, key)
       WHERE a.kind = 'AD1' AND a.received_at > now() - interval '30 days' AND k.key IS NOT NULL
       GROUP BY 1, 2, 3`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE safety_budget_minute');
  }
}
