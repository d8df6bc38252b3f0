import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * How each alert was routed (src/domain/routing.ts): by its own MPAN, or, when that MPAN cannot
 * say, by the ESME linked to the hub at the outage start or by the MPAN's distributor prefix.
 * Alerts stored before this migration keep NULL (they were routed by their MPAN or not at all).
 */
export class AlertRouting1763700800000 implements MigrationInterface {
  name = 'AlertRouting1763700800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE alert ADD COLUMN routed_by text
        CHECK (routed_by IN ('MPAN', 'COMMS_HUB_LINK', 'ESME_INVENTORY', 'MPAN_PREFIX'))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE alert DROP COLUMN routed_by');
  }
}
