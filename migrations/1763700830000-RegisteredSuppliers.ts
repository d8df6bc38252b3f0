import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The import supplier registered for each ESME, with the instant each registration took effect
 * (DCC's inventory knows it from registration data). The supplier registered at an instant is
 * the row with the latest `effective_from` at or before it. Only that supplier may send SR11.3.
 */
export class RegisteredSuppliers1763700830000 implements MigrationInterface {
  name = 'RegisteredSuppliers1763700830000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE device_supplier (
        device_guid    char(23)    NOT NULL REFERENCES device (guid) ON DELETE CASCADE,
        supplier_id    char(23)    NOT NULL,
        effective_from timestamptz NOT NULL,
        recorded_at    timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (device_guid, effective_from)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE device_supplier');
  }
}
