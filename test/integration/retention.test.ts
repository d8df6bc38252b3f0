import { DataSource } from 'typeorm';
import { createDataSource, runMigrations } from '../../src/db/data-source';
import { MIGRATIONS } from '../../migrations';
import { startTestApp, TestClock } from '../support/app';
import type { TestApp } from '../support/app';
import { createTestDatabase } from '../support/database';
import { guid, mpan, ok } from '../support/integration';

/**
 * Monthly partitions and retention: alerts, their decisions and DNO messages live in the month
 * of the alert's event time; months ahead are created, months past RETENTION_MONTHS dropped
 * whole, never one with an alert still on a timer; the default partition catches event times
 * outside every month and hands them over when their month is created. Also: the migration
 * carries existing rows across.
 */
const INGEST = `mutation ($a: [AlertInput!]!) { ingestAlerts(alerts: $a) { alertId outcome } }`;
const DAY = 24 * 3600 * 1000;

describe('monthly partitions and retention', () => {
  const clock = new TestClock(new Date('2026-03-15T12:00:00Z'));
  let t: TestApp;
  let operator: string;
  afterAll(() => t?.stop());

  /** Where each of an alert's rows is stored: the partition of alert, its ledger and its outbox rows. */
  const homes = async (alertId: string) => {
    const q = async (sql: string) =>
      ((await t.app.dataSource.query(sql, [alertId])) as { home: string }[]).map((r) => r.home);
    return {
      alert: await q(`SELECT tableoid::regclass::text AS home FROM alert WHERE id = $1`),
      decisions: await q(
        `SELECT DISTINCT tableoid::regclass::text AS home FROM alert_decision WHERE alert_id = $1`,
      ),
      outbox: await q(`SELECT DISTINCT tableoid::regclass::text AS home FROM dno_outbox WHERE alert_id = $1`),
    };
  };
  // An AD1 from a hub the inventory does not know fails open: delivered, with an outbox message.
  let n = 0;
  const ingest = async (startAt: string) => {
    n += 1;
    const a = [{ powerOutage: { commsHubGuid: guid('00-DB-2E-00-00-00', n), startAt, mpan: mpan(12, n) } }];
    const [r] = ok(
      (await t.gql<{ ingestAlerts: { alertId: string }[] }>(INGEST, { a }, operator)).body,
    ).ingestAlerts;
    return r.alertId;
  };
  const retention = () => t.app.services.retention.run();

  beforeAll(async () => {
    t = await startTestApp({ RETENTION_MONTHS: '2' }, clock);
    operator = await t.token({ role: 'OPERATOR', ttlSeconds: 400 * 24 * 3600 });
  });

  test('start-up creates this month and the next two', async () => {
    const names = (
      (await t.app.dataSource.query(
        `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
          WHERE i.inhparent = 'alert'::regclass`,
      )) as { name: string }[]
    ).map((r) => r.name);
    expect(names).toEqual(
      expect.arrayContaining(['alert_default', 'alert_p2026_03', 'alert_p2026_04', 'alert_p2026_05']),
    );
  });

  test('an alert, its decisions and its DNO messages live in its event month; odd clocks in the default', async () => {
    const march = await ingest('2026-03-10T08:00:00Z');
    expect(await homes(march)).toEqual({
      alert: ['alert_p2026_03'],
      decisions: ['alert_decision_p2026_03'],
      outbox: ['dno_outbox_p2026_03'],
    });
    const wrongClock = await ingest('2001-01-01T00:00:00Z');
    expect(await homes(wrongClock)).toEqual({
      alert: ['alert_default'],
      decisions: ['alert_decision_default'],
      outbox: ['dno_outbox_default'],
    });
  });

  test('a month created later takes over its rows from the default partition', async () => {
    const june = await ingest('2026-06-10T08:00:00Z');
    expect((await homes(june)).alert).toEqual(['alert_default']);
    clock.set(new Date('2026-05-15T12:00:00Z'));
    const report = await retention();
    expect(report).toMatchObject({ created: ['2026-06', '2026-07'], moved: 1, dropped: [] });
    expect(await homes(june)).toEqual({
      alert: ['alert_p2026_06'],
      decisions: ['alert_decision_p2026_06'],
      outbox: ['dno_outbox_p2026_06'],
    });
    // Still the same alert to the API.
    const { body } = await t.gql<{ alert: { id: string; outcome: string } }>(
      `query ($id: ID!) { alert(id: $id) { id outcome } }`,
      { id: june },
      operator,
    );
    expect(ok(body).alert).toEqual({ id: june, outcome: 'DELIVERED' });
  });

  test('months past retention go whole, except one with an alert still on a timer', async () => {
    clock.set(new Date('2026-04-20T12:00:00Z'));
    const april = await ingest('2026-04-18T08:00:00Z');
    // An alert of March still waiting on its timer (due far ahead, so no scheduler decides it).
    const march = await ingest('2026-03-20T08:00:00Z');
    await t.app.dataSource.query(`UPDATE alert SET due_at = '2030-01-01T00:00:00Z' WHERE id = $1`, [march]);

    const budgetMinutes = async () =>
      (
        (await t.app.dataSource.query(
          `SELECT to_char(minute AT TIME ZONE 'UTC', 'YYYY-MM') AS month, count(DISTINCT (scope, key, minute))::int AS n
             FROM safety_budget_minute GROUP BY 1 ORDER BY 1`,
        )) as { month: string; n: number }[]
      ).map((r) => `${r.month}:${r.n}`);
    // Both April AD1s are routed (DNO 12) with no area: one counter row, the minute they came in.
    expect(await budgetMinutes()).toEqual(['2026-04:1']);

    clock.set(new Date('2026-08-15T12:00:00Z'));
    const report = await retention();
    expect(report.ran).toBe(true);
    // The budget counters of April are far past the window (whatever RETENTION_MONTHS says).
    expect(report.budgetMinutesDeleted).toBe(1);
    expect(await budgetMinutes()).toEqual([]);
    // Cutoff June 2026 (two whole months before August): April and May go, March is kept.
    expect(report.dropped).toEqual(['2026-04', '2026-05']);
    expect(report.keptForTimers).toEqual(['2026-03']);
    // The wrong-clock alert was received in March: past retention, deleted from the default.
    expect(report.deletedFromDefault).toBe(1);
    expect(await homes(april)).toEqual({ alert: [], decisions: [], outbox: [] });
    expect((await homes(march)).alert).toEqual(['alert_p2026_03']);
    const [{ left }] = (await t.app.dataSource.query(
      `SELECT count(*)::int AS left FROM alert_default WHERE event_at < '2002-01-01'`,
    )) as { left: number }[];
    expect(left).toBe(0);

    // Once decided, the month goes on the next run; nothing to do the run after.
    await t.app.dataSource.query(`UPDATE alert SET due_at = NULL WHERE id = $1`, [march]);
    expect((await retention()).dropped).toEqual(['2026-03']);
    expect(await retention()).toMatchObject({ ran: true, created: [], dropped: [], deletedFromDefault: 0 });
    // Ingest carries on into the current month.
    const august = await ingest(new Date(clock.now().getTime() - DAY).toISOString());
    expect((await homes(august)).alert).toEqual(['alert_p2026_08']);
    expect(await retention()).toMatchObject({ budgetMinutesDeleted: 0 });
    expect(await budgetMinutes()).toEqual(['2026-08:1']);
  });

  test('the ledger stays append-only outside the retention job', async () => {
    await expect(t.app.dataSource.query(`DELETE FROM alert_decision`)).rejects.toThrow(/append-only/);
  });
});

describe('the MonthlyPartitions migration', () => {
  test('carries existing alerts, decisions and DNO messages across, identities included', async () => {
    const db = await createTestDatabase(undefined, { empty: true });
    const before = createDataSource(db.url, 1);
    const after = new DataSource({
      ...before.options,
      migrations: MIGRATIONS.slice(0, 5),
    } as typeof before.options);
    try {
      // The schema as it was before the migration, with some rows.
      const old = new DataSource({
        ...before.options,
        migrations: MIGRATIONS.slice(0, 4),
      } as typeof before.options);
      await old.initialize();
      await runMigrations(old);
      await old.query(`
        INSERT INTO alert (kind, natural_key, alert_code, device_guid, mpan_check_digit_valid, distributor_id,
                           event_at, received_at, ingested_by, outcome, reason, revision)
        VALUES ('AD1', 'AD1:k1', 'AD1', '00-DB-2E-00-00-00-00-01', true, '12', '2025-06-01T00:00:00Z',
                '2025-06-01T00:01:00Z', 'test', 'DELIVERED', 'NO_ACTIVATION_WINDOW', 1),
               ('AD1', 'AD1:k2', 'AD1', '00-DB-2E-00-00-00-00-02', true, '12', '2031-01-01T00:00:00Z',
                '2025-06-01T00:01:00Z', 'test', 'DELIVERED', 'NO_ACTIVATION_WINDOW', 1)`);
      await old.query(`
        INSERT INTO alert_decision (alert_id, revision, outcome, reason, late, decided_at, trigger, decision)
        SELECT id, 1, 'DELIVERED', 'NO_ACTIVATION_WINDOW', false, received_at, 'INGEST', '{}' FROM alert`);
      await old.query(`INSERT INTO dno_sequence (distributor_id, last_sequence) VALUES ('12', 2)`);
      await old.query(`
        INSERT INTO dno_outbox (distributor_id, sequence, kind, alert_id, decision_revision, payload, created_at)
        SELECT '12', id, 'AD1', id, 1, '{}', received_at FROM alert`);
      const ids = ((await old.query(`SELECT id::text FROM alert ORDER BY id`)) as { id: string }[]).map(
        (r) => r.id,
      );
      await old.destroy();

      await after.initialize();
      expect(await runMigrations(after)).toEqual(['MonthlyPartitions1763700400000']);
      const rows = (await after.query(
        `SELECT a.id::text, a.tableoid::regclass::text AS home,
                (SELECT count(*)::int FROM alert_decision d WHERE d.alert_id = a.id AND d.alert_event_at = a.event_at) AS decisions,
                (SELECT count(*)::int FROM dno_outbox o WHERE o.alert_id = a.id AND o.alert_event_at = a.event_at) AS messages
           FROM alert a ORDER BY a.id`,
      )) as { id: string; home: string; decisions: number; messages: number }[];
      expect(rows).toEqual([
        { id: ids[0], home: 'alert_p2025_06', decisions: 1, messages: 1 },
        { id: ids[1], home: 'alert_p2031_01', decisions: 1, messages: 1 },
      ]);
      // New alerts continue after the carried identities.
      const [{ id }] = (await after.query(`
        INSERT INTO alert (kind, natural_key, alert_code, device_guid, mpan_check_digit_valid, event_at, received_at,
                           ingested_by, unrouted_reason)
        VALUES ('AD1', 'AD1:k3', 'AD1', '00-DB-2E-00-00-00-00-03', false, '2025-06-02T00:00:00Z', now(), 'test',
                'NO_MPAN') RETURNING id::text`)) as { id: string }[];
      expect(BigInt(id)).toBeGreaterThan(BigInt(ids[1]));
    } finally {
      if (after.isInitialized) await after.destroy();
      await db.drop();
    }
  });
});

describe('the SafetyBudgetCounters migration', () => {
  test('counts the AD1s of the last 30 days into the per-minute counters', async () => {
    const db = await createTestDatabase(undefined, { empty: true });
    const before = createDataSource(db.url, 1);
    const old = new DataSource({
      ...before.options,
      migrations: MIGRATIONS.slice(0, 5),
    } as typeof before.options);
    const after = createDataSource(db.url, 1);
    try {
      await old.initialize();
      await runMigrations(old);
      // Two AD1s of DNO 12 in area A received in one minute (one suppressed), one unrouted AD1 in
      // area A a minute later, a restore, and an AD1 received 40 days ago.
      await old.query(`
        INSERT INTO alert (kind, natural_key, alert_code, device_guid, mpan_check_digit_valid, distributor_id,
                           unrouted_reason, area_key, event_at, received_at, ingested_by, outcome, reason, revision)
        VALUES ('AD1', 'k1', 'AD1', '00-DB-2E-00-00-00-00-01', true, '12', NULL, 'A', now() - interval '2 hours',
                date_trunc('hour', now()) - interval '1 hour' + interval '10 seconds', 't', 'DELIVERED', 'X', 1),
               ('AD1', 'k2', 'AD1', '00-DB-2E-00-00-00-00-02', true, '12', NULL, 'A', now() - interval '2 hours',
                date_trunc('hour', now()) - interval '1 hour' + interval '50 seconds', 't', 'SUPPRESSED', 'X', 2),
               ('AD1', 'k3', 'AD1', '00-DB-2E-00-00-00-00-03', false, NULL, 'NO_MPAN', 'A', now() - interval '2 hours',
                date_trunc('hour', now()) - interval '59 minutes', 't', 'PAIRED', 'X', 2),
               ('SUPPLY_RESTORED', 'k4', '8F35', '00-DB-2E-00-00-00-00-04', true, '12', NULL, 'A',
                now() - interval '2 hours', now() - interval '1 hour', 't', 'DELIVERED', 'X', 1),
               ('AD1', 'k5', 'AD1', '00-DB-2E-00-00-00-00-05', true, '12', NULL, 'A', now() - interval '40 days',
                now() - interval '40 days', 't', 'SUPPRESSED', 'X', 2)`);
      await old.destroy();

      await after.initialize();
      // This migration first, then any later ones.
      expect((await runMigrations(after))[0]).toBe('SafetyBudgetCounters1763700500000');
      const rows = (await after.query(
        `SELECT scope, key, extract(epoch FROM date_trunc('hour', now()) - minute)::int / 60 AS "minutesBeforeHour",
                alerts, suppressions
           FROM safety_budget_minute ORDER BY scope, key, minute`,
      )) as unknown[];
      expect(rows).toEqual([
        { scope: 'AREA', key: 'A', minutesBeforeHour: 60, alerts: 2, suppressions: 1 },
        { scope: 'AREA', key: 'A', minutesBeforeHour: 59, alerts: 1, suppressions: 1 },
        { scope: 'DNO', key: '12', minutesBeforeHour: 60, alerts: 2, suppressions: 1 },
      ]);
    } finally {
      if (old.isInitialized) await old.destroy();
      if (after.isInitialized) await after.destroy();
      await db.drop();
    }
  });
});
