import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Corrections on a DNO's stream: WITHDRAWN (FILTER) and RECLASSIFIED (ANNOTATE), written when
 * late evidence shows an AD1 the DNO already has to be OTA-induced (docs/ENGINE.md, "Corrections").
 */
export class CorrectionMessages1763700860000 implements MigrationInterface {
  name = 'CorrectionMessages1763700860000';

  async up(q: QueryRunner): Promise<void> {
    // The check was created unnamed with the partitioned table: find it by what it checks.
    await q.query(`DO $$
      DECLARE c text;
      BEGIN
        SELECT conname INTO c FROM pg_constraint
         WHERE conrelid = 'dno_outbox'::regclass AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%RELEASED_AD1%';
        EXECUTE format('ALTER TABLE dno_outbox DROP CONSTRAINT %I', c);
      END $$`);
    await q.query(
      `ALTER TABLE dno_outbox ADD CONSTRAINT dno_outbox_kind_check
         CHECK (kind IN ('AD1', 'OTA_INDUCED', 'RELEASED_AD1', 'SUPPLY_RESTORED', 'WITHDRAWN', 'RECLASSIFIED'))`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE dno_outbox DROP CONSTRAINT dno_outbox_kind_check');
    await q.query(
      `ALTER TABLE dno_outbox ADD CONSTRAINT dno_outbox_kind_check
         CHECK (kind IN ('AD1', 'OTA_INDUCED', 'RELEASED_AD1', 'SUPPLY_RESTORED'))`,
    );
  }
}
