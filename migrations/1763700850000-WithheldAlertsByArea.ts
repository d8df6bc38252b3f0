import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The withheld AD1s (HELD, SUPPRESSED, PAIRED) of an area, by outage start: every ingest batch
 * looks for them around its alerts (a new AD1 may complete a cluster that releases them), and
 * they are a handful among the area's AD1s. Without it the lookup read every AD1 of the batch's
 * areas in the cluster interval to keep the few withheld ones.
 */
export class WithheldAlertsByArea1763700850000 implements MigrationInterface {
  name = 'WithheldAlertsByArea1763700850000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX alert_withheld_area_idx ON alert (area_key, event_at)
        WHERE kind = 'AD1' AND outcome IN ('HELD', 'SUPPRESSED', 'PAIRED')`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX alert_withheld_area_idx');
  }
}
