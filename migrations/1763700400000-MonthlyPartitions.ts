import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Alerts, their decision ledger and the DNO outbox, partitioned by month of the alert's event
 * time, so retention drops a month of all three at once (src/services/retention.service.ts)
 * instead of deleting row by row.
 *
 * The partition key is the alert's `event_at` because the natural key (device + event time)
 * determines it: UNIQUE (natural_key, event_at) is as strong as UNIQUE (natural_key), so
 * idempotent ingest is unchanged. The ledger and the outbox carry `alert_event_at` and live in
 * the same month as their alert. Primary keys include the key, as PostgreSQL requires; the
 * foreign keys to `alert` go (a partitioned parent cannot be referenced by id alone) and
 * integrity holds by construction: every row is written in the alert's transaction.
 *
 * Each table has a DEFAULT partition for event times outside the months created so far (a
 * meter with a wrong clock): nothing is ever refused for want of a partition. Existing rows are
 * copied across with their identities.
 */
export class MonthlyPartitions1763700400000 implements MigrationInterface {
  name = 'MonthlyPartitions1763700400000';

  async up(q: QueryRunner): Promise<void> {
    for (const table of ['dno_outbox', 'alert_decision', 'alert']) {
      await q.query(`ALTER TABLE ${table} RENAME TO ${table}_unpartitioned`);
    }
    // Constraint and index names are kept by the renamed tables; free them for the new ones.
    await q.query('DROP TRIGGER alert_decision_append_only ON alert_decision_unpartitioned');
    await q.query(`
      DO $$
      DECLARE r record;
      BEGIN
        FOR r IN SELECT indexrelid::regclass AS idx, indrelid::regclass AS tbl, c.conname
                   FROM pg_index i LEFT JOIN pg_constraint c
                     ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u')
                  WHERE indrelid IN ('alert_unpartitioned'::regclass, 'alert_decision_unpartitioned'::regclass,
                                     'dno_outbox_unpartitioned'::regclass)
        LOOP
          IF r.conname IS NOT NULL THEN
            EXECUTE format('ALTER TABLE %s RENAME CONSTRAINT %I TO %I', r.tbl, r.conname, r.conname || '_old');
          ELSE
            EXECUTE format('ALTER INDEX %s RENAME TO %I', r.idx, r.idx::text || '_old');
          END IF;
        END LOOP;
      END $$`);

    await q.query(`
      CREATE TABLE alert (
        id                     bigint      GENERATED ALWAYS AS IDENTITY,
        kind                   text        NOT NULL CHECK (kind IN ('AD1', 'SUPPLY_RESTORED')),
        natural_key            text        NOT NULL,
        duis_response_id       text,
        alert_code             text        NOT NULL CHECK (alert_code IN ('AD1','8F35','8F36','8F37','8F38','8F39','8F3A','8F3B','8F3C')),
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
        paired_alert_id        bigint,
        PRIMARY KEY (id, event_at),
        UNIQUE (natural_key, event_at),
        CHECK ((distributor_id IS NULL) = (unrouted_reason IS NOT NULL)),
        CHECK (restored_at IS NULL OR restored_at >= event_at)
      ) PARTITION BY RANGE (event_at)`);
    await q.query(
      'CREATE UNIQUE INDEX alert_duis_response_uq ON alert (duis_response_id, event_at) WHERE duis_response_id IS NOT NULL',
    );
    await q.query('CREATE INDEX alert_due_idx ON alert (due_at) WHERE due_at IS NOT NULL');
    await q.query('CREATE INDEX alert_device_event_idx ON alert (device_guid, event_at)');
    await q.query(
      `CREATE INDEX alert_area_event_idx ON alert (area_key, event_at) WHERE kind = 'AD1' AND area_key IS NOT NULL`,
    );
    await q.query('CREATE INDEX alert_distributor_received_idx ON alert (distributor_id, received_at)');
    await q.query('CREATE INDEX alert_received_idx ON alert (received_at DESC, id DESC)');
    await q.query(
      'CREATE INDEX alert_paired_idx ON alert (paired_alert_id) WHERE paired_alert_id IS NOT NULL',
    );

    await q.query(`
      CREATE TABLE alert_decision (
        id             bigint      GENERATED ALWAYS AS IDENTITY,
        alert_id       bigint      NOT NULL,
        alert_event_at timestamptz NOT NULL,
        revision       integer     NOT NULL CHECK (revision >= 1),
        outcome        text        NOT NULL CHECK (outcome IN ('DELIVERED','HELD','SUPPRESSED','PAIRED','RELEASED')),
        reason         text        NOT NULL,
        late           boolean     NOT NULL,
        rule_id        uuid,
        rule_version   integer,
        activation_id  uuid,
        window_from    timestamptz,
        window_to      timestamptz,
        due_at         timestamptz,
        decided_at     timestamptz NOT NULL,
        trigger        text        NOT NULL CHECK (trigger IN ('INGEST','EVIDENCE','TIMER')),
        decision       jsonb       NOT NULL,
        PRIMARY KEY (id, alert_event_at),
        UNIQUE (alert_id, revision, alert_event_at)
      ) PARTITION BY RANGE (alert_event_at)`);
    await q.query('CREATE INDEX alert_decision_decided_idx ON alert_decision (decided_at)');
    // Append-only, but for the retention job, which says so for its own transaction.
    await q.query(`
      CREATE OR REPLACE FUNCTION alert_decision_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' AND current_setting('poa_sieve.retention', true) = 'on' THEN
          RETURN OLD;
        END IF;
        RAISE EXCEPTION 'alert_decision is append-only: % refused', TG_OP;
      END $$`);
    await q.query(`
      CREATE TRIGGER alert_decision_append_only BEFORE UPDATE OR DELETE ON alert_decision
        FOR EACH ROW EXECUTE FUNCTION alert_decision_append_only()`);

    await q.query(`
      CREATE TABLE dno_outbox (
        distributor_id    char(2)     NOT NULL,
        sequence          bigint      NOT NULL CHECK (sequence > 0),
        kind              text        NOT NULL CHECK (kind IN ('AD1', 'OTA_INDUCED', 'RELEASED_AD1', 'SUPPLY_RESTORED')),
        alert_id          bigint      NOT NULL,
        alert_event_at    timestamptz NOT NULL,
        decision_revision integer     NOT NULL,
        payload           jsonb       NOT NULL,
        created_at        timestamptz NOT NULL,
        PRIMARY KEY (distributor_id, sequence, alert_event_at)
      ) PARTITION BY RANGE (alert_event_at)`);
    await q.query('CREATE INDEX dno_outbox_alert_idx ON dno_outbox (alert_id)');

    for (const table of ['alert', 'alert_decision', 'dno_outbox']) {
      await q.query(`CREATE TABLE ${table}_default PARTITION OF ${table} DEFAULT`);
    }
    // A partition for every month the existing alerts fall in (between 2000 and 2100; others stay
    // in the default partition), and for this month and the next two.
    const months = (await q.query(`
      SELECT DISTINCT date_trunc('month', event_at AT TIME ZONE 'UTC') AS month FROM alert_unpartitioned
       WHERE event_at >= '2000-01-01' AND event_at < '2100-01-01'
      UNION
      SELECT date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => m) FROM generate_series(0, 2) AS m
      ORDER BY 1`)) as { month: Date | string }[];
    for (const { month } of months) {
      const from = new Date(`${new Date(month).toISOString().slice(0, 10)}T00:00:00Z`);
      const to = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth() + 1, 1));
      const suffix = `p${from.getUTCFullYear()}_${String(from.getUTCMonth() + 1).padStart(2, '0')}`;
      for (const table of ['alert', 'alert_decision', 'dno_outbox']) {
        await q.query(
          `CREATE TABLE ${table}_${suffix} PARTITION OF ${table} FOR VALUES FROM ('${from.toISOString()}') TO ('${to.toISOString()}')`,
        );
      }
    }

    await q.query(`
      INSERT INTO alert OVERRIDING SYSTEM VALUE
      SELECT id, kind, natural_key, duis_response_id, alert_code, device_guid, mpan, mpan_check_digit_valid,
             distributor_id, unrouted_reason, area_key, event_at, restored_at, throttled_count,
             throttled_sequence_id, received_at, ingested_by, in_activation_window, outcome, reason, revision,
             due_at, paired_alert_id
        FROM alert_unpartitioned`);
    await q.query(`
      INSERT INTO alert_decision OVERRIDING SYSTEM VALUE
      SELECT d.id, d.alert_id, a.event_at, d.revision, d.outcome, d.reason, d.late, d.rule_id, d.rule_version,
             d.activation_id, d.window_from, d.window_to, d.due_at, d.decided_at, d.trigger, d.decision
        FROM alert_decision_unpartitioned d JOIN alert_unpartitioned a ON a.id = d.alert_id`);
    await q.query(`
      INSERT INTO dno_outbox
      SELECT o.distributor_id, o.sequence, o.kind, o.alert_id, a.event_at, o.decision_revision, o.payload, o.created_at
        FROM dno_outbox_unpartitioned o JOIN alert_unpartitioned a ON a.id = o.alert_id`);
    for (const table of ['alert', 'alert_decision']) {
      await q.query(
        `SELECT setval(pg_get_serial_sequence('${table}', 'id'), COALESCE((SELECT max(id) FROM ${table}), 0) + 1, false)`,
      );
    }
    await q.query('DROP TABLE dno_outbox_unpartitioned, alert_decision_unpartitioned, alert_unpartitioned');
  }

  down(): Promise<void> {
    // Folding the partitions back would drop identities, constraints and indexes built above;
    // going back is a restore from the backup taken before the upgrade.
    return Promise.reject(
      new Error('MonthlyPartitions cannot be reverted in place: restore the pre-upgrade backup'),
    );
  }
}
