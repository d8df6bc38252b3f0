import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The facts the decision engine needs before an alert arrives: devices with their firmware
 * history, which ESME powers which Communications Hub and when, firmware images, the
 * affected-firmware rules (with an audit trail), and SR11.3 activations with the windows they imply.
 */
export class Inventory1763700100000 implements MigrationInterface {
  name = 'Inventory1763700100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE device (
        guid             char(23)    PRIMARY KEY CHECK (guid ~ '^[0-9A-F]{2}(-[0-9A-F]{2}){7}$'),
        device_type      text        NOT NULL CHECK (device_type IN ('ESME','GSME','CHF','GPF','PPMID','IHD','HCALCS','CAD')),
        manufacturer     char(4)     CHECK (manufacturer ~ '^[0-9A-F]{4}$'),
        model            char(8)     CHECK (model ~ '^[0-9A-F]{8}$'),
        firmware_version text,
        smi_status       text        NOT NULL CHECK (smi_status IN ('Pending','Whitelisted','InstalledNotCommissioned',
                           'Commissioned','Decommissioned','Withdrawn','Suspended','Recovery','Recovered')),
        mpan             char(13)    CHECK (mpan ~ '^[0-9]{13}$'),
        -- Scoping for distributors reads this on every query; kept in step with the MPAN by PostgreSQL.
        distributor_id   char(2)     GENERATED ALWAYS AS (substr(mpan, 1, 2)) STORED,
        area_key         text,
        csp_region       text        CHECK (csp_region IN ('North','Central','South')),
        created_at       timestamptz NOT NULL DEFAULT now(),
        updated_at       timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query('CREATE INDEX device_distributor_idx ON device (distributor_id, guid)');
    await q.query('CREATE INDEX device_mpan_idx ON device (mpan)');
    // Outage clusters are counted per area key.
    await q.query('CREATE INDEX device_area_idx ON device (area_key) WHERE area_key IS NOT NULL');
    await q.query('CREATE INDEX device_model_idx ON device (manufacturer, model, firmware_version)');

    await q.query(`
      CREATE TABLE device_firmware (
        device_guid      char(23)    NOT NULL REFERENCES device (guid) ON DELETE CASCADE,
        firmware_version text        NOT NULL,
        effective_from   timestamptz NOT NULL,
        source           text        NOT NULL CHECK (source IN ('INVENTORY','ACTIVATION')),
        recorded_at      timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (device_guid, effective_from)
      )`);

    await q.query(`
      CREATE TABLE comms_hub_link (
        id             bigserial   PRIMARY KEY,
        comms_hub_guid char(23)    NOT NULL REFERENCES device (guid) ON DELETE CASCADE,
        esme_guid      char(23)    NOT NULL REFERENCES device (guid) ON DELETE CASCADE,
        effective_from timestamptz NOT NULL,
        effective_to   timestamptz,
        created_at     timestamptz NOT NULL DEFAULT now(),
        CHECK (effective_to IS NULL OR effective_to > effective_from)
      )`);
    // "Which ESME powered this CH at time T": one index range scan, newest first.
    await q.query(
      'CREATE INDEX comms_hub_link_ch_idx ON comms_hub_link (comms_hub_guid, effective_from DESC)',
    );
    await q.query('CREATE INDEX comms_hub_link_esme_idx ON comms_hub_link (esme_guid, effective_from DESC)');
    // A hub and a meter each have at most one open link; overlaps are closed by linkCommsHub.
    await q.query(
      'CREATE UNIQUE INDEX comms_hub_link_open_ch_uq ON comms_hub_link (comms_hub_guid) WHERE effective_to IS NULL',
    );
    await q.query(
      'CREATE UNIQUE INDEX comms_hub_link_open_esme_uq ON comms_hub_link (esme_guid) WHERE effective_to IS NULL',
    );

    await q.query(`
      CREATE TABLE firmware_image (
        id               uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
        manufacturer     char(4)     NOT NULL CHECK (manufacturer ~ '^[0-9A-F]{4}$'),
        model            char(8)     NOT NULL CHECK (model ~ '^[0-9A-F]{8}$'),
        version          text        NOT NULL,
        image_hash       char(64)    NOT NULL CHECK (image_hash ~ '^[0-9a-f]{64}$'),
        size_bytes       bigint      CHECK (size_bytes > 0),
        release_date     date,
        registered_at    timestamptz NOT NULL DEFAULT now(),
        registered_by    text        NOT NULL,
        UNIQUE (manufacturer, model, version),
        UNIQUE (manufacturer, model, image_hash)
      )`);

    await q.query(`
      CREATE TABLE affected_firmware_rule (
        id                         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
        version                    integer     NOT NULL DEFAULT 1 CHECK (version > 0),
        name                       text        NOT NULL,
        device_type                text        NOT NULL CHECK (device_type IN ('ESME','CHF')),
        manufacturer               char(4)     NOT NULL CHECK (manufacturer ~ '^[0-9A-F]{4}$'),
        model                      char(8)     NOT NULL CHECK (model ~ '^[0-9A-F]{8}$'),
        affected_firmware_versions text[]      NOT NULL CHECK (cardinality(affected_firmware_versions) > 0),
        target_firmware_version    text,
        target_image_hash          char(64)    CHECK (target_image_hash ~ '^[0-9a-f]{64}$'),
        window_minutes             integer     NOT NULL CHECK (window_minutes BETWEEN 1 AND 1440),
        skew_minutes               integer     NOT NULL CHECK (skew_minutes BETWEEN 0 AND 120),
        enabled                    boolean     NOT NULL,
        shadow                     boolean     NOT NULL,
        updated_at                 timestamptz NOT NULL,
        updated_by                 text        NOT NULL
      )`);
    await q.query(
      'CREATE INDEX affected_firmware_rule_model_idx ON affected_firmware_rule (manufacturer, model)',
    );
    // Append-only audit trail: who changed a rule, when, and what it became.
    await q.query(`
      CREATE TABLE affected_firmware_rule_change (
        id         bigserial   PRIMARY KEY,
        rule_id    uuid        NOT NULL REFERENCES affected_firmware_rule (id) ON DELETE RESTRICT,
        version    integer     NOT NULL,
        changed_at timestamptz NOT NULL,
        changed_by text        NOT NULL,
        rule       jsonb       NOT NULL,
        UNIQUE (rule_id, version)
      )`);

    await q.query(`
      CREATE TABLE firmware_activation (
        id                         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
        request_id                 text        NOT NULL UNIQUE,
        supplier_id                char(23)    NOT NULL,
        device_guid                char(23)    NOT NULL REFERENCES device (guid) ON DELETE RESTRICT,
        image_id                   uuid        REFERENCES firmware_image (id) ON DELETE RESTRICT,
        image_hash                 char(64)    NOT NULL CHECK (image_hash ~ '^[0-9a-f]{64}$'),
        target_firmware_version    text,
        firmware_version_before    text,
        submitted_at               timestamptz NOT NULL,
        execute_at                 timestamptz,
        requested_at               timestamptz NOT NULL,
        status                     text        NOT NULL CHECK (status IN ('SCHEDULED','SUCCEEDED','FAILED',
                                     'CANCELLED','SUPERSEDED','OUTCOME_UNKNOWN')),
        actual_executed_at         timestamptz,
        outcome_code               text        CHECK (outcome_code IN ('success','noImageHeld','hashMismatch','activationFailure')),
        resulting_firmware_version text,
        outcome_received_at        timestamptz,
        overridden_status          text,
        superseded_by              uuid        REFERENCES firmware_activation (id) ON DELETE SET NULL,
        status_changed_at          timestamptz NOT NULL,
        rule_id                    uuid        REFERENCES affected_firmware_rule (id) ON DELETE SET NULL,
        rule_version               integer,
        window_from                timestamptz,
        window_to                  timestamptz,
        window_anchored_on_actual  boolean     NOT NULL DEFAULT false,
        campaign_id                uuid,
        CHECK ((window_from IS NULL) = (window_to IS NULL))
      )`);
    await q.query(
      'CREATE INDEX firmware_activation_device_idx ON firmware_activation (device_guid, requested_at DESC)',
    );
    await q.query(
      'CREATE INDEX firmware_activation_supplier_idx ON firmware_activation (supplier_id, submitted_at DESC, id)',
    );
    // The engine asks "which windows contain this instant for this device".
    await q.query(`CREATE INDEX firmware_activation_window_idx ON firmware_activation (device_guid, window_from, window_to)
                     WHERE window_from IS NOT NULL`);
    // The outcome-expiry sweep only looks at pending activations.
    await q.query(`CREATE INDEX firmware_activation_pending_idx ON firmware_activation (requested_at)
                     WHERE status = 'SCHEDULED'`);
    await q.query(
      'CREATE INDEX firmware_activation_campaign_idx ON firmware_activation (campaign_id) WHERE campaign_id IS NOT NULL',
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE firmware_activation');
    await q.query('DROP TABLE affected_firmware_rule_change');
    await q.query('DROP TABLE affected_firmware_rule');
    await q.query('DROP TABLE firmware_image');
    await q.query('DROP TABLE comms_hub_link');
    await q.query('DROP TABLE device_firmware');
    await q.query('DROP TABLE device');
  }
}
