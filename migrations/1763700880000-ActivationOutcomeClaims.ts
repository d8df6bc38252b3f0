import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What a supplier says became of its own activation (recordActivationOutcome by IS/GS). A claim
 * is kept beside the activation, never applied to it: only DCC's outcome (0x8F66/0x8F67, the
 * SR11.3 response) moves an activation's status and window. Rows go with their activation.
 */
export class ActivationOutcomeClaims1763700880000 implements MigrationInterface {
  name = 'ActivationOutcomeClaims1763700880000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE activation_outcome_claim (
        id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        activation_id    uuid        NOT NULL REFERENCES firmware_activation (id) ON DELETE CASCADE,
        supplier_id      char(23)    NOT NULL,
        outcome_code     text        NOT NULL CHECK (outcome_code IN ('success','noImageHeld','hashMismatch','activationFailure')),
        executed_at      timestamptz NOT NULL,
        firmware_version text,
        received_at      timestamptz NOT NULL
      )`);
    // A repeated claim (a retry) is the same row. The firmware version is optional, so the key
    // reads it as '' for an absent one: NULLs would make every retry without it a new claim.
    // It also serves the foreign key and the per-activation reads (its first column).
    await q.query(`CREATE UNIQUE INDEX activation_outcome_claim_key ON activation_outcome_claim
                     (activation_id, supplier_id, outcome_code, executed_at, (COALESCE(firmware_version, '')))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE activation_outcome_claim');
  }
}
