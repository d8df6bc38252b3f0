import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The SR11.3 cancellations (ExecutionDateTime 3000-12-31) by their DUIS request ID, so that a
 * retried cancel (same request ID) answers what the first did instead of CONFLICT: the first one
 * left nothing pending to cancel. Rows go with the activation they cancelled.
 */
export class ActivationCancelRequests1763700810000 implements MigrationInterface {
  name = 'ActivationCancelRequests1763700810000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE activation_cancel_request (
        request_id    text        PRIMARY KEY,
        supplier_id   char(23)    NOT NULL,
        device_guid   char(23)    NOT NULL,
        activation_id uuid        NOT NULL REFERENCES firmware_activation (id) ON DELETE CASCADE,
        cancelled_at  timestamptz NOT NULL
      )`);
    // For the foreign key: deleting an activation finds its cancel requests without a scan.
    await q.query(
      'CREATE INDEX activation_cancel_request_activation_idx ON activation_cancel_request (activation_id)',
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE activation_cancel_request');
  }
}
