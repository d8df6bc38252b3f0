import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The per-DNO delivery outbox.
 *
 * `dno_sequence` hands out each DNO's sequence numbers. A transaction takes the DNO's row lock
 * (UPDATE ... RETURNING) as its last step before commit and holds it until it commits, so a
 * later transaction can only get higher numbers and can only commit after: sequences become
 * visible in order, and a reader that sees sequence 11 also sees 10.
 *
 * `dno_outbox` holds every message a DNO should receive, written in the same transaction as
 * the decision that caused it, pre-shaped (the payload is the message), so a subscriber replays
 * from any position without joins. `dno_delivery_position` is each DNO's acknowledged position.
 */
export class Delivery1763700300000 implements MigrationInterface {
  name = 'Delivery1763700300000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE dno_sequence (
        distributor_id char(2) PRIMARY KEY CHECK (distributor_id ~ '^[0-9]{2}$'),
        last_sequence  bigint  NOT NULL DEFAULT 0 CHECK (last_sequence >= 0)
      )`);
    await q.query(`
      CREATE TABLE dno_outbox (
        distributor_id char(2)     NOT NULL,
        sequence       bigint      NOT NULL CHECK (sequence > 0),
        kind           text        NOT NULL CHECK (kind IN ('AD1', 'OTA_INDUCED', 'RELEASED_AD1', 'SUPPLY_RESTORED')),
        alert_id       bigint      NOT NULL REFERENCES alert (id) ON DELETE CASCADE,
        decision_revision integer  NOT NULL,
        payload        jsonb       NOT NULL,
        created_at     timestamptz NOT NULL,
        PRIMARY KEY (distributor_id, sequence)
      )`);
    // Which messages an alert produced (explainAlert, tests, retention).
    await q.query('CREATE INDEX dno_outbox_alert_idx ON dno_outbox (alert_id)');
    await q.query(`
      CREATE TABLE dno_delivery_position (
        distributor_id         char(2)     PRIMARY KEY CHECK (distributor_id ~ '^[0-9]{2}$'),
        acknowledged_sequence  bigint      NOT NULL DEFAULT 0,
        updated_at             timestamptz NOT NULL,
        updated_by             text        NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE dno_delivery_position');
    await q.query('DROP TABLE dno_outbox');
    await q.query('DROP TABLE dno_sequence');
  }
}
