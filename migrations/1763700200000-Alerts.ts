import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Ingested alerts and the decision ledger.
 *
 * `alert` holds every AD1 and supply-restored alert as received, keyed for idempotency on its
 * natural key (and the DUIS response ID when present), with its routing, its current decision
 * (denormalised for queries) and `due_at`: the durable timer that the scheduler works with
 * FOR UPDATE SKIP LOCKED, so holds survive restarts and no two instances decide one alert.
 *
 * `alert_decision` is the append-only ledger: every decision and supersession, with the full
 * decision (rule, version, activation, window, evidence) as the engine returned it. A trigger
 * refuses UPDATE and DELETE on it.
 */
export class Alerts1763700200000 implements MigrationInterface {
  name = 'Alerts1763700200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE alert (
        id                     bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        kind                   text        NOT NULL CHECK (kind IN ('AD1', 'SUPPLY_RESTORED')),
        natural_key            text        NOT NULL UNIQUE,
        duis_response_id       text,
        alert_code             text        NOT NULL CHECK (alert_code IN ('AD1','8F35','8F36','8F37','8F38','8F39','8F3A','8F3B','8F3C')),
        -- The CH for an AD1, the ESME for a restore. No foreign key: alerts from devices the
        -- inventory does not know are kept (and fail open), never rejected.
        device_guid            char(23)    NOT NULL,
        mpan                   text,
        mpan_check_digit_valid boolean     NOT NULL,
        distributor_id         char(2),
        unrouted_reason        text,
        area_key               text,
        event_at               timestamptz NOT NULL,
        restored_at            timestamptz,
        throttled_count        integer     NOT NULL DEFAULT 1 CHECK (throttled_count >= 1),
        throttled_sequence_id  text,
        received_at            timestamptz NOT NULL,
        ingested_by            text        NOT NULL,
        in_activation_window   boolean     NOT NULL DEFAULT false,
        outcome                text        CHECK (outcome IN ('DELIVERED','HELD','SUPPRESSED','PAIRED','RELEASED')),
        reason                 text,
        revision               integer     NOT NULL DEFAULT 0,
        due_at                 timestamptz,
        paired_alert_id        bigint      REFERENCES alert (id) ON DELETE SET NULL,
        CHECK ((distributor_id IS NULL) = (unrouted_reason IS NOT NULL)),
        CHECK (restored_at IS NULL OR restored_at >= event_at)
      )`);
    await q.query(
      'CREATE UNIQUE INDEX alert_duis_response_uq ON alert (duis_response_id) WHERE duis_response_id IS NOT NULL',
    );
    // The scheduler's queue: only alerts waiting on a timer are in it.
    await q.query('CREATE INDEX alert_due_idx ON alert (due_at) WHERE due_at IS NOT NULL');
    // Restores of an ESME / AD1s of a CH near an instant.
    await q.query('CREATE INDEX alert_device_event_idx ON alert (device_guid, event_at)');
    // Neighbours for the cluster test.
    await q.query(
      `CREATE INDEX alert_area_event_idx ON alert (area_key, event_at) WHERE kind = 'AD1' AND area_key IS NOT NULL`,
    );
    // Budget counters and DNO-scoped listings.
    await q.query(`CREATE INDEX alert_distributor_received_idx ON alert (distributor_id, received_at)`);
    await q.query('CREATE INDEX alert_received_idx ON alert (received_at DESC, id DESC)');
    await q.query(
      'CREATE INDEX alert_paired_idx ON alert (paired_alert_id) WHERE paired_alert_id IS NOT NULL',
    );

    await q.query(`
      CREATE TABLE alert_decision (
        id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        alert_id      bigint      NOT NULL REFERENCES alert (id) ON DELETE CASCADE,
        revision      integer     NOT NULL CHECK (revision >= 1),
        outcome       text        NOT NULL CHECK (outcome IN ('DELIVERED','HELD','SUPPRESSED','PAIRED','RELEASED')),
        reason        text        NOT NULL,
        late          boolean     NOT NULL,
        rule_id       uuid,
        rule_version  integer,
        activation_id uuid,
        window_from   timestamptz,
        window_to     timestamptz,
        due_at        timestamptz,
        decided_at    timestamptz NOT NULL,
        trigger       text        NOT NULL CHECK (trigger IN ('INGEST','EVIDENCE','TIMER')),
        decision      jsonb       NOT NULL,
        UNIQUE (alert_id, revision)
      )`);
    await q.query('CREATE INDEX alert_decision_decided_idx ON alert_decision (decided_at)');
    await q.query(`
      CREATE FUNCTION alert_decision_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'alert_decision is append-only: % refused', TG_OP;
      END $$`);
    await q.query(`
      CREATE TRIGGER alert_decision_append_only BEFORE UPDATE OR DELETE ON alert_decision
        FOR EACH ROW EXECUTE FUNCTION alert_decision_append_only()`);

    // How each network operator wants OTA-induced AD1s delivered (FILTER when absent). The engine
    // reads it: an OTA-induced AD1 of a PAIR operator is PAIRED rather than SUPPRESSED.
    await q.query(`
      CREATE TABLE delivery_preference (
        distributor_id char(2)     PRIMARY KEY CHECK (distributor_id ~ '^[0-9]{2}$'),
        preference     text        NOT NULL CHECK (preference IN ('FILTER','PAIR','ANNOTATE','RAW')),
        updated_at     timestamptz NOT NULL,
        updated_by     text        NOT NULL
      )`);

    // A Communications Hub's own firmware activation (DCC alert CommsHubFirmwareActivation) is
    // recorded as an activation of the CH: it has no supplier and no SR11.3 request.
    await q.query('ALTER TABLE firmware_activation ALTER COLUMN supplier_id DROP NOT NULL');
    await q.query(`ALTER TABLE firmware_activation ADD COLUMN source text NOT NULL DEFAULT 'SR11.3'
                     CHECK (source IN ('SR11.3', 'CH_FIRMWARE_ACTIVATION'))`);
    await q.query(`ALTER TABLE firmware_activation ADD CONSTRAINT firmware_activation_supplier_ck
                     CHECK ((source = 'SR11.3') = (supplier_id IS NOT NULL))`);
    await q.query(`ALTER TABLE firmware_activation ALTER COLUMN image_hash DROP NOT NULL`);
    await q.query(`ALTER TABLE firmware_activation ADD CONSTRAINT firmware_activation_hash_ck
                     CHECK (source = 'CH_FIRMWARE_ACTIVATION' OR image_hash IS NOT NULL)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE firmware_activation DROP CONSTRAINT firmware_activation_hash_ck');
    await q.query('ALTER TABLE firmware_activation DROP CONSTRAINT firmware_activation_supplier_ck');
    await q.query('ALTER TABLE firmware_activation DROP COLUMN source');
    await q.query('DROP TABLE delivery_preference');
    await q.query('DROP TABLE alert_decision');
    await q.query('DROP FUNCTION alert_decision_append_only');
    await q.query('DROP TABLE alert');
  }
}
