import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Holds that follow the physics of an OTA cut, and asking the meter (docs/ENGINE.md, "Timeline").
 *
 * Rules carry the longest hub power cut their model and image can cause and the narrow window
 * after a known execution time. Existing rules take the engine defaults (15 and 3 minutes).
 *
 * `verification_request` is the verification outbox: one row per SR 11.2 Read Firmware Version
 * the service asks the DSP adapter to send, with the answer when it comes. Delivered rows carry a
 * sequence handed out under the single `verification_sequence` row lock, taken in the deciding
 * transaction and held until it commits (as `dno_sequence` does per DNO), so sequences commit
 * in order and a reader resuming after `s` never skips one. A request the budget refused is kept
 * as SKIPPED with no sequence: it is evidence for the decision, not a message. At most one
 * request per device is PENDING at a time (the partial unique index).
 */
export class ActiveVerification1763700700000 implements MigrationInterface {
  name = 'ActiveVerification1763700700000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE affected_firmware_rule
        ADD COLUMN max_comms_hub_off_minutes integer NOT NULL DEFAULT 15
          CHECK (max_comms_hub_off_minutes BETWEEN 1 AND 120),
        ADD COLUMN executed_window_minutes integer NOT NULL DEFAULT 3
          CHECK (executed_window_minutes BETWEEN 1 AND 1440)`);
    await q.query(`
      CREATE TABLE verification_sequence (
        id            smallint PRIMARY KEY CHECK (id = 1),
        last_sequence bigint   NOT NULL DEFAULT 0 CHECK (last_sequence >= 0)
      )`);
    await q.query('INSERT INTO verification_sequence (id, last_sequence) VALUES (1, 0)');
    await q.query(`
      CREATE TABLE verification_request (
        id                 bigserial   PRIMARY KEY,
        sequence           bigint      UNIQUE CHECK (sequence > 0),
        request_id         text        NOT NULL UNIQUE,
        service_request    text        NOT NULL CHECK (service_request IN ('11.2')),
        device_guid        char(23)    NOT NULL,
        -- The AD1 that asked first (no foreign key: alerts are partitioned by month and dropped
        -- by retention; a request outlives nothing it needs).
        alert_id           bigint      NOT NULL,
        distributor_id     char(2),
        area_key           text,
        attempt            integer     NOT NULL CHECK (attempt >= 1),
        status             text        NOT NULL CHECK (status IN ('PENDING', 'ANSWERED', 'TIMED_OUT', 'SKIPPED')),
        requested_at       timestamptz NOT NULL,
        timeout_at         timestamptz NOT NULL,
        answered_at        timestamptz,
        answer_received_at timestamptz,
        firmware_version   text,
        answered_by        text,
        CHECK ((status = 'SKIPPED') = (sequence IS NULL))
      )`);
    await q.query(
      `CREATE UNIQUE INDEX verification_request_pending_idx ON verification_request (device_guid) WHERE status = 'PENDING'`,
    );
    // The engine's facts: a device's requests since an outage start.
    await q.query(
      'CREATE INDEX verification_request_device_idx ON verification_request (device_guid, requested_at)',
    );
    // The request budget counts per DNO and per area over a window.
    await q.query(
      'CREATE INDEX verification_request_dno_idx ON verification_request (distributor_id, requested_at)',
    );
    await q.query(
      'CREATE INDEX verification_request_area_idx ON verification_request (area_key, requested_at)',
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE verification_request');
    await q.query('DROP TABLE verification_sequence');
    await q.query(
      'ALTER TABLE affected_firmware_rule DROP COLUMN executed_window_minutes, DROP COLUMN max_comms_hub_off_minutes',
    );
  }
}
