import crypto from 'node:crypto';
import { mpanCheckDigit } from '../../src/domain/identifiers';
import { eventually, startTestApp, TestClock } from '../support/app';
import type { TestApp } from '../support/app';
import { BUDGET_COUNTER_MISMATCHES } from '../support/budget';
import { expectError, guid, metricValue, mpan, ok, rowCounts, scrapeMetrics } from '../support/integration';

/**
 * The decision engine end to end, through the public API on a hand-moved clock: holds and their
 * durable timers (also across a restart), suppression of OTA-induced AD1s, every kind of release
 * evidence (restore overlap, area cluster, failed activation, a re-anchored window), restores
 * following their AD1, idempotent ingest, routing to the UNROUTED queue, input validation that
 * writes nothing, who may see what, and the append-only ledger.
 *
 * Each scenario has premises (ESME + CH) of its own in an area key of its own, and starts three
 * hours after the previous one on the clock, so no scenario's alerts or windows reach another's.
 * Nothing sleeps: outcomes are awaited by polling the API, and "nothing more will happen" is
 * shown by the alert having no durable timer left (a timer-less alert changes only on new input).
 */

const SUP = '90-B3-D5-1F-30-01-00-00';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const ENV = { SCHEDULER_POLL_MS: '100', HOLD_MINUTES: '5', MAX_INGEST_BATCH: '20' };
const LINKED_FROM = '2026-01-01T00:00:00Z';

const ESME_PREFIX = 'DE-00-00-00-00-01';
const CH_PREFIX = 'DE-00-00-00-00-02';
const ESME = (n: number) => guid(ESME_PREFIX, n);
const CH = (n: number) => guid(CH_PREFIX, n);
const UNKNOWN_CH = guid('DE-00-00-00-00-0F', 1);

const IMAGE_HASH = crypto.createHash('sha256').update('AB01/010A030B/00020130').digest('hex');
const AFFECTED_MODEL = '010A030B';
const UNAFFECTED_MODEL = '0F0F0F0F';

/** One premises: an ESME and the CH it powers, linked well before the clock starts. */
interface Premises {
  readonly n: number;
  readonly esme: string;
  readonly ch: string;
  readonly mpan: string;
  readonly area: string;
  readonly model: string;
}
const premises = (n: number, area: string, model = AFFECTED_MODEL): Premises => ({
  n,
  esme: ESME(n),
  ch: CH(n),
  mpan: mpan(12, n),
  area,
  model,
});

const P = {
  ota: premises(1, 'FEEDER-S1'),
  restoreHeld: premises(2, 'FEEDER-S2A'),
  restoreLate: premises(3, 'FEEDER-S2B'),
  clusterLate: premises(4, 'FEEDER-S3A'),
  clusterLateNeighbours: [
    premises(5, 'FEEDER-S3A', UNAFFECTED_MODEL),
    premises(6, 'FEEDER-S3A', UNAFFECTED_MODEL),
    premises(7, 'FEEDER-S3A'), // affected model, but no activation
  ],
  clusterFirst: premises(8, 'FEEDER-S3B'),
  clusterFirstNeighbours: [
    premises(9, 'FEEDER-S3B', UNAFFECTED_MODEL),
    premises(10, 'FEEDER-S3B', UNAFFECTED_MODEL),
    premises(11, 'FEEDER-S3B'),
  ],
  clusterShort: premises(20, 'FEEDER-S3C'),
  clusterShortNeighbours: [premises(21, 'FEEDER-S3C', UNAFFECTED_MODEL), premises(22, 'FEEDER-S3C')],
  failed: premises(12, 'FEEDER-S4'),
  reanchoredInside: premises(13, 'FEEDER-S5A'),
  reanchoredOutside: premises(14, 'FEEDER-S5B'),
  idempotent: [premises(15, 'FEEDER-S7'), premises(16, 'FEEDER-S7')],
  unrouted: premises(17, 'FEEDER-S8'),
  access: premises(18, 'FEEDER-S10'),
  ledger: premises(19, 'FEEDER-S11'),
  explainNow: premises(23, 'FEEDER-S12'),
};
const ALL_PREMISES: Premises[] = [
  P.ota,
  P.restoreHeld,
  P.restoreLate,
  P.clusterLate,
  ...P.clusterLateNeighbours,
  P.clusterFirst,
  ...P.clusterFirstNeighbours,
  P.clusterShort,
  ...P.clusterShortNeighbours,
  P.failed,
  P.reanchoredInside,
  P.reanchoredOutside,
  ...P.idempotent,
  P.unrouted,
  P.access,
  P.ledger,
  P.explainNow,
];

const INGEST = `mutation ($a: [AlertInput!]!) {
  ingestAlerts(alerts: $a) {
    index kind alertId activationId duplicate outcome reason dueAt distributorId routedBy unroutedReason
  }
}`;
const RECORD = `revision outcome reasonCode reasonText late decidedAt dueAt trigger activationId ruleId ruleVersion
  windowFrom windowTo evidence`;
const ALERT_FIELDS = `id kind alertCode deviceGuid mpan mpanCheckDigitValid distributorId unroutedReason areaKey eventAt
  restoredAt throttledCount duisResponseId receivedAt outcome decision { ${RECORD} } decisionHistory { ${RECORD} }
  pairedAlert { id outcome }`;
const ALERT = `query ($id: ID!) { alert(id: $id) { ${ALERT_FIELDS} } }`;
const ALERTS = `query ($f: AlertFilterInput) { alerts(filter: $f, first: 500) { nodes { id distributorId unroutedReason outcome } } }`;
const EXPLAIN = `query ($id: ID!) { explainAlert(id: $id) { alert { id outcome } lines } }`;
const STATS = `query ($from: DateTime!, $to: DateTime!) { suppressionStats(from: $from, to: $to) { distributorId outcome reason count } }`;
const SCHEDULE = `mutation ($a: ScheduleFirmwareActivationInput!) {
  scheduleFirmwareActivation(activation: $a) { id requestId status executeAt window { from to anchoredOnActual } }
}`;
const ACTIVATION = `query ($id: ID!) {
  activation(id: $id) { id status actualExecutedAt window { from to anchoredOnActual } }
}`;

interface DecisionRecord {
  revision: number;
  outcome: string;
  reasonCode: string;
  reasonText: string;
  late: boolean;
  decidedAt: string;
  dueAt: string | null;
  trigger: string;
  activationId: string | null;
  ruleId: string | null;
  ruleVersion: number | null;
  windowFrom: string | null;
  windowTo: string | null;
  evidence: Record<string, unknown>;
}
interface AlertView {
  id: string;
  kind: string;
  alertCode: string;
  deviceGuid: string;
  mpan: string | null;
  mpanCheckDigitValid: boolean;
  distributorId: string | null;
  unroutedReason: string | null;
  areaKey: string | null;
  eventAt: string;
  restoredAt: string | null;
  throttledCount: number;
  duisResponseId: string | null;
  receivedAt: string;
  outcome: string | null;
  decision: DecisionRecord | null;
  decisionHistory: DecisionRecord[];
  pairedAlert: { id: string; outcome: string | null } | null;
}
interface IngestResult {
  index: number;
  kind: string;
  alertId: string | null;
  activationId: string | null;
  duplicate: boolean;
  outcome: string | null;
  reason: string | null;
  dueAt: string | null;
  distributorId: string | null;
  routedBy: string | null;
  unroutedReason: string | null;
}
interface Activation {
  id: string;
  requestId: string;
  status: string;
  executeAt: string | null;
  actualExecutedAt?: string | null;
  window: { from: string; to: string; anchoredOnActual: boolean } | null;
}

const iso = (ms: number) => new Date(ms).toISOString();
const ms = (s: string | null | undefined) => (s ? Date.parse(s) : NaN);
/** The ledger as (outcome, reason, trigger, late) tuples, oldest first. */
const ledger = (a: AlertView) => a.decisionHistory.map((d) => [d.outcome, d.reasonCode, d.trigger, d.late]);

const ad1 = (p: { ch: string; mpan: string }, startAt: number, extra: Record<string, unknown> = {}) => ({
  powerOutage: { commsHubGuid: p.ch, startAt: iso(startAt), mpan: p.mpan, ...extra },
});
const restore = (p: Premises, interruptionAt: number, restorationAt: number) => ({
  supplyRestored: {
    esmeGuid: p.esme,
    alertCode: '8F36',
    interruptionAt: iso(interruptionAt),
    restorationAt: iso(restorationAt),
  },
});

/**
 * A client for one running server: the OPERATOR seeds the affected model, its image and rule and
 * the premises; the supplier schedules activations and DCC reports their outcomes.
 */
function client(t: TestApp, clock: TestClock) {
  let operator = '';
  let supplier = '';
  let counter = 5000;
  const api = {
    get operator() {
      return operator;
    },
    get supplier() {
      return supplier;
    },
    async init() {
      // The server judges expiry by its own clock, which these tests move on by days.
      operator = await t.token({ role: 'OPERATOR', ttlSeconds: 7 * 24 * 3600 });
      supplier = await t.token({ role: 'IS', supplierId: SUP, ttlSeconds: 7 * 24 * 3600 });
    },
    async seed(list: readonly Premises[]) {
      const devices = list.flatMap((p) => [
        {
          guid: p.esme,
          deviceType: 'ESME',
          importSupplierId: SUP,
          manufacturer: 'AB01',
          model: p.model,
          firmwareVersion: '0002012F',
          firmwareEffectiveFrom: LINKED_FROM,
          mpan: p.mpan,
          areaKey: p.area,
        },
        {
          guid: p.ch,
          deviceType: 'CHF',
          manufacturer: 'AB01',
          model: '0C0C0C0C',
          firmwareVersion: '00010001',
          firmwareEffectiveFrom: LINKED_FROM,
          areaKey: p.area,
        },
      ]);
      ok(
        (
          await t.gql(
            `mutation ($d: [DeviceInput!]!) { upsertDevices(devices: $d) { inserted } }`,
            { d: devices },
            operator,
          )
        ).body,
      );
      const links = list
        .map(
          (p, i) =>
            `l${i}: linkCommsHub(commsHubGuid: "${p.ch}", esmeGuid: "${p.esme}", effectiveFrom: "${LINKED_FROM}") { esmeGuid }`,
        )
        .join('\n');
      ok((await t.gql(`mutation { ${links} }`, {}, operator)).body);
      ok(
        (
          await t.gql(
            `mutation ($i: FirmwareImageInput!) { registerFirmwareImage(image: $i) { id } }`,
            {
              i: { manufacturer: 'AB01', model: AFFECTED_MODEL, version: '00020130', imageHash: IMAGE_HASH },
            },
            operator,
          )
        ).body,
      );
      ok(
        (
          await t.gql(
            `mutation ($r: AffectedFirmwareRuleInput!) { upsertAffectedFirmwareRule(rule: $r) { id } }`,
            {
              r: {
                name: 'E470 pre-fix',
                manufacturer: 'AB01',
                model: AFFECTED_MODEL,
                affectedFirmwareVersions: ['0002012F'],
                windowMinutes: 30,
                skewMinutes: 2,
              },
            },
            operator,
          )
        ).body,
      );
    },
    /** Moves the clock to an instant (never backwards). */
    at(instant: number) {
      expect(instant).toBeGreaterThanOrEqual(clock.now().getTime());
      clock.set(new Date(instant));
    },
    async ingestRaw(alerts: unknown[], token = operator) {
      return (await t.gql<{ ingestAlerts: IngestResult[] }>(INGEST, { a: alerts }, token)).body;
    },
    async ingest(alerts: unknown[]) {
      return ok(await api.ingestRaw(alerts)).ingestAlerts;
    },
    async schedule(esme: string, executeAt?: number): Promise<Activation> {
      const a = {
        requestId: `${SUP}:${esme}:${counter++}`,
        esmeGuid: esme,
        imageHash: IMAGE_HASH,
        ...(executeAt === undefined ? {} : { executeAt: iso(executeAt) }),
      };
      return ok((await t.gql<{ scheduleFirmwareActivation: Activation }>(SCHEDULE, { a }, supplier)).body)
        .scheduleFirmwareActivation;
    },
    /** DCC's 0x8F66 for an activation, as the operator ingests it: the evidence that it ran. */
    async outcome(requestId: string, outcomeCode: string, executedAt: number): Promise<Activation> {
      const activationOutcome = {
        esmeGuid: requestId.split(':')[1],
        alertCode: '8F66',
        requestId,
        outcomeCode,
        executedAt: iso(executedAt),
        ...(outcomeCode === 'success' ? { firmwareVersion: '00020130' } : {}),
      };
      const [result] = await api.ingest([{ activationOutcome }]);
      expect(result).toMatchObject({ kind: 'ACTIVATION_OUTCOME', reason: null });
      return ok(
        (await t.gql<{ activation: Activation }>(ACTIVATION, { id: result.activationId }, operator)).body,
      ).activation;
    },
    async alert(id: string, token = operator): Promise<AlertView | null> {
      return ok((await t.gql<{ alert: AlertView | null }>(ALERT, { id }, token)).body).alert;
    },
    /** Polls the API until the alert's current outcome is `outcome`. */
    async until(id: string, outcome: string): Promise<AlertView> {
      let last: AlertView | null = null;
      return eventually(
        async () => {
          last = await api.alert(id);
          return last?.outcome === outcome ? last : undefined;
        },
        10_000,
        `alert ${id} to become ${outcome} (is ${(last as AlertView | null)?.outcome ?? 'unknown'})`,
      );
    },
  };
  return api;
}

describe('decisions: holds, suppression, release evidence and the ledger', () => {
  const T0 = Date.parse('2026-03-02T10:00:00Z');
  const clock = new TestClock(new Date(T0));
  let t: TestApp;
  let c: ReturnType<typeof client>;
  let scenario = 0;
  /** The start of the next scenario: three hours after the previous one, on a whole minute. */
  const begin = () => {
    scenario += 1;
    const start = T0 + scenario * 3 * HOUR;
    c.at(start);
    return start;
  };

  /** The alert's durable timer (due_at) in ms, or null when none is set. */
  const timer = async (id: string): Promise<number | null> => {
    const [row] = (await t.app.dataSource.query(`SELECT due_at FROM alert WHERE id = $1`, [id])) as {
      due_at: Date | string | null;
    }[];
    return row.due_at === null ? null : new Date(row.due_at).getTime();
  };

  beforeAll(async () => {
    t = await startTestApp(ENV, clock);
    c = client(t, clock);
    await c.init();
    await c.seed(ALL_PREMISES);
  });
  afterAll(() => t?.stop());

  test('1. an OTA-induced AD1 is held, then suppressed by the timer; explained and counted', async () => {
    const T = begin();
    const p = P.ota;
    const act = await c.schedule(p.esme);
    c.at(T + MINUTE);
    const done = await c.outcome(act.requestId, 'success', T + MINUTE);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.window).toEqual({ from: iso(T - MINUTE), to: iso(T + 4 * MINUTE), anchoredOnActual: true });

    c.at(T + 5 * MINUTE);
    const [r] = await c.ingest([ad1(p, T + 2 * MINUTE)]);
    expect(r).toMatchObject({
      index: 0,
      kind: 'AD1',
      duplicate: false,
      outcome: 'HELD',
      reason: 'AWAITING_EVIDENCE',
    });
    const dueAt = T + 10 * MINUTE;
    expect(ms(r.dueAt)).toBe(dueAt);

    const held = (await c.alert(r.alertId!))!;
    expect(held).toMatchObject({
      kind: 'AD1',
      deviceGuid: p.ch,
      mpan: p.mpan,
      mpanCheckDigitValid: true,
      distributorId: '12',
      unroutedReason: null,
      areaKey: p.area,
      outcome: 'HELD',
    });
    expect(ms(held.receivedAt)).toBe(T + 5 * MINUTE);
    expect(ms(held.decision!.dueAt)).toBe(ms(held.receivedAt) + 5 * MINUTE);
    expect(ledger(held)).toEqual([['HELD', 'AWAITING_EVIDENCE', 'INGEST', false]]);
    expect(held.decision!.activationId).toBe(act.id);

    expect(await timer(r.alertId!)).toBe(dueAt);
    // What an operator sees at /metrics while the AD1 is held.
    let m = await scrapeMetrics(t);
    expect(metricValue(m, 'poa_sieve_ingested_total', { kind: 'AD1', result: 'stored' })).toBe(1);
    expect(metricValue(m, 'poa_sieve_decisions_total', { kind: 'AD1', outcome: 'HELD' })).toBe(1);
    expect(metricValue(m, 'poa_sieve_hold_queue_depth')).toBe(1);
    expect(metricValue(m, 'poa_sieve_hold_queue_overdue_seconds')).toBe(0);
    expect(metricValue(m, 'poa_sieve_db_pool_max')).toBeGreaterThanOrEqual(1);
    expect(metricValue(m, 'poa_sieve_db_pool_connections')).toBeGreaterThanOrEqual(1);

    c.at(dueAt);
    const suppressed = await c.until(r.alertId!, 'SUPPRESSED');
    m = await scrapeMetrics(t);
    expect(
      metricValue(m, 'poa_sieve_decisions_total', { outcome: 'SUPPRESSED', reason: 'OTA_INDUCED' }),
    ).toBe(1);
    expect(metricValue(m, 'poa_sieve_hold_queue_depth')).toBe(0);
    expect(metricValue(m, 'poa_sieve_budget_suppressions', { distributor_id: '12' })).toBe(1);
    expect(metricValue(m, 'poa_sieve_budget_alerts', { distributor_id: '12' })).toBe(1);
    expect(metricValue(m, 'poa_sieve_budget_exhausted', { distributor_id: '12' })).toBe(0);
    expect(ledger(suppressed)).toEqual([
      ['HELD', 'AWAITING_EVIDENCE', 'INGEST', false],
      ['SUPPRESSED', 'OTA_INDUCED', 'TIMER', false],
    ]);
    const d = suppressed.decision!;
    expect(d).toMatchObject({ revision: 2, activationId: act.id, dueAt: null });
    expect(d.ruleId).toBeTruthy();
    expect(ms(d.windowFrom)).toBe(T - MINUTE);
    expect(ms(d.windowTo)).toBe(T + 4 * MINUTE);
    expect(ms(d.decidedAt)).toBe(dueAt);

    const explained = ok(
      (
        await t.gql<{ explainAlert: { alert: { id: string; outcome: string }; lines: string[] } }>(
          EXPLAIN,
          { id: r.alertId },
          c.operator,
        )
      ).body,
    ).explainAlert;
    expect(explained.alert).toEqual({ id: r.alertId, outcome: 'SUPPRESSED' });
    expect(explained.lines.some((l) => l.includes('OTA_INDUCED'))).toBe(true);

    const stats = ok(
      (await t.gql<{ suppressionStats: unknown[] }>(STATS, { from: iso(T), to: iso(T + HOUR) }, c.operator))
        .body,
    ).suppressionStats;
    expect(stats).toEqual([{ distributorId: '12', outcome: 'SUPPRESSED', reason: 'OTA_INDUCED', count: 1 }]);
    const ed12 = await t.token({ role: 'ED', distributorIds: ['12'] });
    const ed15 = await t.token({ role: 'ED', distributorIds: ['15'] });
    expect(ok((await t.gql(STATS, { from: iso(T), to: iso(T + HOUR) }, ed12)).body)).toEqual({
      suppressionStats: stats,
    });
    expect(ok((await t.gql(STATS, { from: iso(T), to: iso(T + HOUR) }, ed15)).body)).toEqual({
      suppressionStats: [],
    });
  });

  test('2e. explainAlert shows the activation as it was at decision time and as it is now, labelled', async () => {
    const T = begin();
    const p = P.explainNow;
    const act = await c.schedule(p.esme); // no outcome yet: its execution time is not known
    c.at(T + 5 * MINUTE);
    const [r] = await c.ingest([ad1(p, T + 2 * MINUTE)]);
    expect(r.outcome).toBe('HELD');
    c.at(T + 6 * MINUTE);
    await c.ingest([restore(p, T + 2 * MINUTE, T + 4 * MINUTE)]);
    const released = await c.until(r.alertId!, 'RELEASED');
    // The outcome arrives after the (final) release: the activation has moved on since the decision.
    c.at(T + 7 * MINUTE);
    expect((await c.outcome(act.requestId, 'success', T + MINUTE)).status).toBe('SUCCEEDED');
    expect((await c.alert(r.alertId!))!.decisionHistory).toHaveLength(released.decisionHistory.length);

    const { lines } = ok(
      (await t.gql<{ explainAlert: { lines: string[] } }>(EXPLAIN, { id: r.alertId }, c.operator)).body,
    ).explainAlert;
    const about = lines.filter((l) => l.startsWith(`Activation ${act.requestId} `));
    expect(about).toEqual([
      expect.stringMatching(
        new RegExp(
          `^Activation ${act.requestId} at decision time \\(${iso(T + 6 * MINUTE)}\\): [A-Z_]+, requested for .*, execution time not known\\.$`,
        ),
      ),
      expect.stringMatching(
        new RegExp(
          `^Activation ${act.requestId} now: SUCCEEDED \\(success\\), requested for .*, executed at ${iso(T + MINUTE)}\\.$`,
        ),
      ),
    ]);
  });

  test('2a. an overlapping restore while HELD releases the AD1 at once, and the restore follows it', async () => {
    const T = begin();
    const p = P.restoreHeld;
    const act = await c.schedule(p.esme);
    c.at(T + MINUTE);
    await c.outcome(act.requestId, 'success', T + MINUTE);
    c.at(T + 5 * MINUTE);
    const [r] = await c.ingest([ad1(p, T + 2 * MINUTE)]);
    expect(r).toMatchObject({ outcome: 'HELD', reason: 'AWAITING_EVIDENCE' });

    // The meter lost mains from the AD1 start until T+4: a genuine interruption. No clock move.
    c.at(T + 6 * MINUTE);
    const [rr] = await c.ingest([restore(p, T + 2 * MINUTE, T + 4 * MINUTE)]);
    expect(rr).toMatchObject({
      kind: 'SUPPLY_RESTORED',
      duplicate: false,
      outcome: 'RELEASED',
      reason: 'FOLLOWS_OUTAGE_ALERT',
    });

    const released = (await c.alert(r.alertId!))!;
    expect(released.outcome).toBe('RELEASED');
    expect(ledger(released)).toEqual([
      ['HELD', 'AWAITING_EVIDENCE', 'INGEST', false],
      ['RELEASED', 'SUPPLY_RESTORED_OVERLAP', 'EVIDENCE', false],
    ]);
    expect(ms(released.decision!.decidedAt)).toBe(T + 6 * MINUTE);
    expect(released.decision!.dueAt).toBeNull();

    const rest = (await c.alert(rr.alertId!))!;
    expect(rest).toMatchObject({
      kind: 'SUPPLY_RESTORED',
      alertCode: '8F36',
      deviceGuid: p.esme,
      distributorId: '12',
      outcome: 'RELEASED',
      pairedAlert: { id: r.alertId, outcome: 'RELEASED' },
    });
    expect(ms(rest.eventAt)).toBe(T + 2 * MINUTE);
    expect(ms(rest.restoredAt)).toBe(T + 4 * MINUTE);
    expect(ledger(rest)).toEqual([['RELEASED', 'FOLLOWS_OUTAGE_ALERT', 'INGEST', false]]);

    // RELEASED is final: the durable timer is gone with the hold, and so is the restore's.
    expect(await timer(r.alertId!)).toBeNull();
    expect(await timer(rr.alertId!)).toBeNull();
  });

  test('2b. a restore after the suppression releases the AD1 late, and the restore follows it', async () => {
    const T = begin();
    const p = P.restoreLate;
    const act = await c.schedule(p.esme);
    c.at(T + MINUTE);
    await c.outcome(act.requestId, 'success', T + MINUTE);
    c.at(T + 5 * MINUTE);
    const [r] = await c.ingest([ad1(p, T + 2 * MINUTE)]);
    expect(r.outcome).toBe('HELD');
    c.at(T + 10 * MINUTE);
    await c.until(r.alertId!, 'SUPPRESSED');

    c.at(T + 40 * MINUTE);
    const [rr] = await c.ingest([restore(p, T + 2 * MINUTE, T + 35 * MINUTE)]);
    expect(rr).toMatchObject({ outcome: 'RELEASED', reason: 'FOLLOWS_OUTAGE_ALERT' });

    const released = (await c.alert(r.alertId!))!;
    expect(ledger(released)).toEqual([
      ['HELD', 'AWAITING_EVIDENCE', 'INGEST', false],
      ['SUPPRESSED', 'OTA_INDUCED', 'TIMER', false],
      ['RELEASED', 'SUPPLY_RESTORED_OVERLAP', 'EVIDENCE', true],
    ]);
    expect(released.decision!.late).toBe(true);
    const rest = (await c.alert(rr.alertId!))!;
    expect(rest).toMatchObject({ outcome: 'RELEASED', pairedAlert: { id: r.alertId } });
    expect(ledger(rest)).toEqual([['RELEASED', 'FOLLOWS_OUTAGE_ALERT', 'INGEST', false]]);

    const stats = ok(
      (await t.gql<{ suppressionStats: unknown[] }>(STATS, { from: iso(T), to: iso(T + HOUR) }, c.operator))
        .body,
    ).suppressionStats;
    expect(stats).toEqual([
      { distributorId: '12', outcome: 'RELEASED', reason: 'SUPPLY_RESTORED_OVERLAP', count: 1 },
    ]);
  });

  const neighbourAd1s = (list: readonly Premises[], starts: readonly number[]) =>
    list.map((n, i) => ad1(n, starts[i]));

  test('3a. a held candidate is RELEASED (AREA_CLUSTER) when 3 neighbours outside windows lose power', async () => {
    const T = begin();
    const p = P.clusterLate;
    // No outcome yet: the activation's provisional window holds the AD1 (DCC's outcome dating
    // the cut to this very outage would keep it held through a cluster: unit tests).
    await c.schedule(p.esme);
    c.at(T + 4 * MINUTE);
    const [r] = await c.ingest([ad1(p, T + 3 * MINUTE)]);
    expect(r).toMatchObject({ outcome: 'HELD', reason: 'AWAITING_EVIDENCE' });

    c.at(T + 6 * MINUTE);
    const neighbours = await c.ingest(
      neighbourAd1s(P.clusterLateNeighbours, [T - 5 * MINUTE, T + 4 * MINUTE, T + 5 * MINUTE]),
    );
    expect(neighbours.map((n) => [n.outcome, n.reason])).toEqual([
      ['DELIVERED', 'NO_MATCHING_RULE'],
      ['DELIVERED', 'NO_MATCHING_RULE'],
      ['DELIVERED', 'NO_ACTIVATION_WINDOW'],
    ]);
    const released = (await c.alert(r.alertId!))!;
    expect(ledger(released)).toEqual([
      ['HELD', 'AWAITING_EVIDENCE', 'INGEST', false],
      ['RELEASED', 'AREA_CLUSTER', 'EVIDENCE', false],
    ]);
    expect(released.decision!.evidence).toMatchObject({
      cluster: { areaKey: p.area, found: true, weight: 3 },
    });

    // Released for good: no timer is left to suppress it at the old due time.
    expect(await timer(r.alertId!)).toBeNull();
  });

  test('3b. a candidate arriving after 3 neighbours outside windows is DELIVERED (AREA_CLUSTER), never held', async () => {
    const T = begin();
    const p = P.clusterFirst;
    const act = await c.schedule(p.esme);
    c.at(T + 4 * MINUTE);
    await c.ingest(neighbourAd1s(P.clusterFirstNeighbours, [T + 2 * MINUTE, T + 3 * MINUTE, T + 3 * MINUTE]));
    const [r] = await c.ingest([ad1(p, T + 3 * MINUTE)]);
    expect(r).toMatchObject({ outcome: 'DELIVERED', reason: 'AREA_CLUSTER', dueAt: null });

    expect(await timer(r.alertId!)).toBeNull();
    const a = (await c.alert(r.alertId!))!;
    expect(a.outcome).toBe('DELIVERED');
    expect(ledger(a)).toEqual([['DELIVERED', 'AREA_CLUSTER', 'INGEST', false]]);
    expect(a.decision!.activationId).toBe(act.id);
  });

  test('3c. the cluster counts only other CHs outside windows: two neighbours are not enough', async () => {
    const T = begin();
    const p = P.clusterShort;
    const act = await c.schedule(p.esme);
    c.at(T + MINUTE);
    await c.outcome(act.requestId, 'success', T + MINUTE);
    c.at(T + 4 * MINUTE);
    // Two neighbours, plus a second AD1 of the candidate's own CH: no cluster.
    await c.ingest(neighbourAd1s(P.clusterShortNeighbours, [T + 2 * MINUTE, T + 3 * MINUTE]));
    const [r, own] = await c.ingest([ad1(p, T + 3 * MINUTE), ad1(p, T + 2 * MINUTE)]);
    expect(r).toMatchObject({ outcome: 'HELD', reason: 'AWAITING_EVIDENCE' });
    expect(own).toMatchObject({ outcome: 'HELD', reason: 'AWAITING_EVIDENCE' });
    c.at(T + 9 * MINUTE);
    expect(ledger(await c.until(r.alertId!, 'SUPPRESSED'))).toEqual([
      ['HELD', 'AWAITING_EVIDENCE', 'INGEST', false],
      ['SUPPRESSED', 'OTA_INDUCED', 'TIMER', false],
    ]);
  });

  test('4. a failed activation releases its held AD1 and delivers later ones at once', async () => {
    const T = begin();
    const p = P.failed;
    const act = await c.schedule(p.esme);
    c.at(T + 2 * MINUTE);
    // Outcome not in yet: held on the provisional window [T-2, T+30].
    const [r] = await c.ingest([ad1(p, T + MINUTE)]);
    expect(r).toMatchObject({ outcome: 'HELD', reason: 'AWAITING_EVIDENCE' });
    expect(ms(r.dueAt)).toBe(T + 7 * MINUTE);

    c.at(T + 3 * MINUTE);
    const [o] = await c.ingest([
      {
        activationOutcome: {
          esmeGuid: p.esme,
          alertCode: '8F67',
          requestId: act.requestId,
          outcomeCode: 'hashMismatch',
          executedAt: iso(T + MINUTE),
        },
      },
    ]);
    expect(o).toMatchObject({ kind: 'ACTIVATION_OUTCOME', activationId: act.id, alertId: null });
    const released = (await c.alert(r.alertId!))!;
    expect(ledger(released)).toEqual([
      ['HELD', 'AWAITING_EVIDENCE', 'INGEST', false],
      ['RELEASED', 'ACTIVATION_FAILED', 'EVIDENCE', false],
    ]);

    c.at(T + 5 * MINUTE);
    const [after] = await c.ingest([ad1(p, T + 4 * MINUTE)]);
    expect(after).toMatchObject({ outcome: 'DELIVERED', reason: 'ACTIVATION_FAILED', dueAt: null });
    expect(ledger((await c.alert(after.alertId!))!)).toEqual([
      ['DELIVERED', 'ACTIVATION_FAILED', 'INGEST', false],
    ]);
  });

  test('5. a future-dated activation re-anchors on its actual time: inside is suppressed, outside released', async () => {
    const T = begin();
    const inside = P.reanchoredInside;
    const outside = P.reanchoredOutside;
    const a = await c.schedule(inside.esme, T + 2 * HOUR);
    const b = await c.schedule(outside.esme, T + 2 * HOUR);
    for (const x of [a, b]) {
      expect(x.status).toBe('SCHEDULED');
      expect(x.window).toEqual({
        from: iso(T + 118 * MINUTE),
        to: iso(T + 150 * MINUTE),
        anchoredOnActual: false,
      });
    }

    // (b) An AD1 at T+2h05, received (late) at T+2h18 before any outcome: held on the provisional window.
    c.at(T + 138 * MINUTE);
    const [rb] = await c.ingest([ad1(outside, T + 125 * MINUTE)]);
    expect(rb).toMatchObject({ outcome: 'HELD', reason: 'AWAITING_EVIDENCE' });
    expect((await c.alert(rb.alertId!))!.decision).toMatchObject({
      windowFrom: iso(T + 118 * MINUTE),
      windowTo: iso(T + 150 * MINUTE),
    });

    // Both activations executed at T+2h20: the actual (narrow) window is [T+2h18, T+2h23].
    c.at(T + 141 * MINUTE);
    const doneB = await c.outcome(b.requestId, 'success', T + 140 * MINUTE);
    expect(doneB.window).toEqual({
      from: iso(T + 138 * MINUTE),
      to: iso(T + 143 * MINUTE),
      anchoredOnActual: true,
    });
    await c.outcome(a.requestId, 'success', T + 140 * MINUTE);
    const releasedB = (await c.alert(rb.alertId!))!;
    expect(releasedB.outcome).toBe('RELEASED');
    expect(ledger(releasedB)).toEqual([
      ['HELD', 'AWAITING_EVIDENCE', 'INGEST', false],
      ['RELEASED', 'NO_ACTIVATION_WINDOW', 'EVIDENCE', false],
    ]);

    // (a) An AD1 at T+2h21, received after the outcome: inside the actual window.
    c.at(T + 145 * MINUTE);
    const [ra] = await c.ingest([ad1(inside, T + 141 * MINUTE)]);
    expect(ra).toMatchObject({ outcome: 'HELD', reason: 'AWAITING_EVIDENCE' });
    c.at(T + 150 * MINUTE);
    const suppressed = await c.until(ra.alertId!, 'SUPPRESSED');
    expect(ledger(suppressed)).toEqual([
      ['HELD', 'AWAITING_EVIDENCE', 'INGEST', false],
      ['SUPPRESSED', 'OTA_INDUCED', 'TIMER', false],
    ]);
    expect(suppressed.decision).toMatchObject({
      activationId: a.id,
      windowFrom: iso(T + 138 * MINUTE),
      windowTo: iso(T + 143 * MINUTE),
    });
    // (b) never became SUPPRESSED, not even after its own due time passed.
    expect(ledger((await c.alert(rb.alertId!))!).map((e) => e[0])).toEqual(['HELD', 'RELEASED']);
  });

  test('7. a retried batch stores nothing new and returns the same alert IDs', async () => {
    const T = begin();
    const [p1, p2] = P.idempotent;
    const batch = [
      ad1(p1, T - MINUTE, { duisResponseId: 'DUIS-S7-1' }),
      ad1(p2, T - MINUTE, { duisResponseId: 'DUIS-S7-2' }),
    ];
    const first = await c.ingest(batch);
    expect(first.map((r) => [r.duplicate, r.outcome, r.reason])).toEqual([
      [false, 'DELIVERED', 'NO_ACTIVATION_WINDOW'],
      [false, 'DELIVERED', 'NO_ACTIVATION_WINDOW'],
    ]);
    const before = await rowCounts(t, 'alert', 'alert_decision');

    c.at(T + MINUTE);
    const second = await c.ingest(batch);
    expect(second.map((r) => r.duplicate)).toEqual([true, true]);
    expect(second.map((r) => r.alertId)).toEqual(first.map((r) => r.alertId));
    expect(second.map((r) => r.outcome)).toEqual(['DELIVERED', 'DELIVERED']);

    // The same outage (CH, startAt) under another DUIS response ID is the same alert.
    const [third] = await c.ingest([ad1(p1, T - MINUTE, { duisResponseId: 'DUIS-S7-1-RETRY' })]);
    expect(third).toMatchObject({ duplicate: true, alertId: first[0].alertId });
    // The same DUIS response ID is the same alert too.
    const [fourth] = await c.ingest([ad1(p2, T - 2 * MINUTE, { duisResponseId: 'DUIS-S7-2' })]);
    expect(fourth).toMatchObject({ duplicate: true, alertId: first[1].alertId });
    // A duplicate inside one batch is stored once.
    const [x, y] = await c.ingest([ad1(p1, T - MINUTE), ad1(p1, T - MINUTE)]);
    expect(x.alertId).toBe(first[0].alertId);
    expect(y.alertId).toBe(first[0].alertId);

    expect(await rowCounts(t, 'alert', 'alert_decision')).toEqual(before);
    const stored = (await c.alert(first[0].alertId!))!;
    expect(stored.duisResponseId).toBe('DUIS-S7-1');
    expect(ms(stored.receivedAt)).toBe(T);

    // Two copies of one new AD1 in one batch: stored once, and the second copy says it is a duplicate.
    const [n1, n2] = await c.ingest([ad1(p2, T - 3 * MINUTE), ad1(p2, T - 3 * MINUTE)]);
    expect([n1.duplicate, n2.duplicate]).toEqual([false, true]);
    expect(n2.alertId).toBe(n1.alertId);
    expect(n2.outcome).toBe(n1.outcome);
    expect(await rowCounts(t, 'alert')).toEqual({ alert: before.alert + 1 });
  });

  test("8. a bad MPAN is routed by the hub's ESME or its prefix, flagged; only what has no owner is UNROUTED", async () => {
    const T = begin();
    const p = P.unrouted;
    const badCheck = '1200000000009';
    expect(String(mpanCheckDigit(badCheck.slice(0, 12)))).not.toBe(badCheck[12]);
    // In an activation window, so the linked hub's AD1s are candidates like any other of DNO 12.
    const act = await c.schedule(p.esme);
    c.at(T + MINUTE);
    await c.outcome(act.requestId, 'success', T + MINUTE);
    c.at(T + 3 * MINUTE);
    const [byLink, malformedByLink, byPrefix, orphan, unknownPrefix] = await c.ingest([
      ad1(p, T + 2 * MINUTE, { mpan: badCheck }),
      ad1(p, T + 2 * MINUTE + 30_000, { mpan: 'ABC' }),
      ad1({ ch: UNKNOWN_CH, mpan: badCheck }, T + 2 * MINUTE),
      ad1({ ch: UNKNOWN_CH, mpan: 'ABC' }, T + 2 * MINUTE + 10_000),
      ad1({ ch: UNKNOWN_CH, mpan: mpan(99, 1) }, T + 2 * MINUTE + 20_000),
    ]);
    // The ingest result says where each went and, for the unrouted, why.
    expect(
      [byLink, malformedByLink, byPrefix, orphan, unknownPrefix].map((r) => [
        r.distributorId,
        r.routedBy,
        r.unroutedReason,
      ]),
    ).toEqual([
      ['12', 'COMMS_HUB_LINK', null],
      ['12', 'COMMS_HUB_LINK', null],
      ['12', 'MPAN_PREFIX', null],
      [null, null, 'MALFORMED_MPAN'],
      [null, null, 'UNKNOWN_DISTRIBUTOR'],
    ]);
    expect([byLink.outcome, byLink.reason]).toEqual(['HELD', 'AWAITING_EVIDENCE']);
    expect([byPrefix.outcome, byPrefix.reason]).toEqual(['DELIVERED', 'UNKNOWN_DEVICE']);
    const a1 = (await c.alert(byLink.alertId!))!;
    expect(a1).toMatchObject({
      mpan: badCheck,
      mpanCheckDigitValid: false,
      distributorId: '12',
      unroutedReason: null,
    });
    expect(a1.decision!.activationId).toBe(act.id);

    // The DNO's stream holds the routed AD1 that was delivered; the held one follows its decision.
    const outbox = (await t.app.dataSource.query(
      `SELECT alert_id::text AS id FROM dno_outbox WHERE distributor_id = '12' AND alert_id = ANY($1::bigint[])`,
      [[byLink.alertId, byPrefix.alertId, orphan.alertId]],
    )) as { id: string }[];
    expect(outbox.map((r) => r.id)).toEqual([byPrefix.alertId]);

    const queue = ok(
      (await t.gql<{ alerts: { nodes: { id: string }[] } }>(ALERTS, { f: { unrouted: true } }, c.operator))
        .body,
    ).alerts.nodes.map((n) => n.id);
    expect(queue).toEqual(expect.arrayContaining([orphan.alertId, unknownPrefix.alertId]));
    expect(queue).not.toContain(byLink.alertId);
    expect(queue).not.toContain(byPrefix.alertId);

    const ed12 = await t.token({ role: 'ED', distributorIds: ['12'] });
    const seen = ok(
      (await t.gql<{ alerts: { nodes: { id: string }[] } }>(ALERTS, {}, ed12)).body,
    ).alerts.nodes.map((n) => n.id);
    expect(seen).toEqual(expect.arrayContaining([byLink.alertId, malformedByLink.alertId, byPrefix.alertId]));
    expect(seen).not.toContain(orphan.alertId);
    expect(ok((await t.gql<{ alert: null }>(ALERT, { id: orphan.alertId }, ed12)).body).alert).toBeNull();
    expectError((await t.gql(EXPLAIN, { id: orphan.alertId }, ed12)).body, 'NOT_FOUND');

    // Routed by the link, they are decided like any AD1 of DNO 12: confirmed OTA-induced.
    c.at(T + 9 * MINUTE);
    await c.until(byLink.alertId!, 'SUPPRESSED');
    await c.until(malformedByLink.alertId!, 'SUPPRESSED');
  });

  test('9. invalid input rejects the whole batch and writes nothing', async () => {
    const T = begin();
    const p = P.idempotent[0];
    const before = await rowCounts(t, 'alert', 'alert_decision', 'firmware_activation');
    const failures = async () =>
      metricValue(await scrapeMetrics(t), 'poa_sieve_ingest_failures_total', { code: 'BAD_USER_INPUT' }) ?? 0;
    const failedBefore = await failures();
    const rejected = async (alerts: unknown[], reason: string, field?: string) => {
      const ext = expectError(await c.ingestRaw(alerts), 'BAD_USER_INPUT', reason);
      if (field !== undefined) expect(ext.field).toBe(field);
      expect(await rowCounts(t, 'alert', 'alert_decision', 'firmware_activation')).toEqual(before);
    };

    await rejected(
      [
        ad1(p, T - MINUTE),
        { powerOutage: { commsHubGuid: 'not-a-guid', startAt: iso(T), mpan: p.mpan } },
        ad1(p, T),
      ],
      'INVALID_EUI64',
      'alerts[1].commsHubGuid',
    );
    await rejected(
      [ad1(p, T - MINUTE), restore(p, T, T - MINUTE)],
      'RESTORATION_BEFORE_INTERRUPTION',
      'alerts[1].restorationAt',
    );
    await rejected(
      [ad1(p, T - MINUTE), { ...ad1(p, T), ...restore(p, T - MINUTE, T) }],
      'EXACTLY_ONE_ALERT',
      'alerts[1]',
    );
    await rejected([{}], 'EXACTLY_ONE_ALERT', 'alerts[0]');
    await rejected(
      Array.from({ length: 21 }, (_, i) => ad1(p, T - (i + 1) * MINUTE)),
      'BATCH_TOO_LARGE',
      'alerts',
    );
    await rejected([], 'EMPTY_BATCH', 'alerts');
    await rejected([ad1(p, T - MINUTE, { throttledCount: 0 })], 'INVALID_THROTTLED_COUNT');
    await rejected(
      [
        {
          supplyRestored: {
            esmeGuid: p.esme,
            alertCode: '8F99',
            interruptionAt: iso(T - MINUTE),
            restorationAt: iso(T),
          },
        },
      ],
      'INVALID_ALERT_CODE',
      'alerts[0].alertCode',
    );

    // Two of the eight are refused by the schema's scalars before the service sees them.
    expect((await failures()) - failedBefore).toBe(6);

    // The batch limit is inclusive: 20 alerts are accepted.
    const twenty = await c.ingest(Array.from({ length: 20 }, (_, i) => ad1(p, T - (i + 1) * MINUTE)));
    expect(twenty).toHaveLength(20);
    expect((await rowCounts(t, 'alert')).alert).toBe(before.alert + 20);
  });

  test('10. who may ingest and see alerts', async () => {
    const T = begin();
    const p = P.access;
    const ed12 = await t.token({ role: 'ED', distributorIds: ['12'] });
    const ed15 = await t.token({ role: 'ED', distributorIds: ['15'] });
    const [mine, theirs] = await c.ingest([
      ad1(p, T - MINUTE),
      ad1({ ch: UNKNOWN_CH, mpan: mpan(15, 1) }, T - MINUTE),
    ]);
    expect(theirs).toMatchObject({ outcome: 'DELIVERED', reason: 'UNKNOWN_DEVICE' });

    const ids = async (token: string) =>
      ok(
        (
          await t.gql<{ alerts: { nodes: { id: string; distributorId: string | null }[] } }>(
            ALERTS,
            {},
            token,
          )
        ).body,
      ).alerts.nodes;
    const seen12 = await ids(ed12);
    expect(seen12.map((n) => n.id)).toContain(mine.alertId);
    expect(seen12.map((n) => n.id)).not.toContain(theirs.alertId);
    expect(new Set(seen12.map((n) => n.distributorId))).toEqual(new Set(['12']));
    const seen15 = await ids(ed15);
    expect(seen15.map((n) => n.id)).toEqual([theirs.alertId]);
    // Asking for another distributor's alerts by filter does not widen what an ED sees.
    const filtered = ok(
      (await t.gql<{ alerts: { nodes: unknown[] } }>(ALERTS, { f: { distributorId: '15' } }, ed12)).body,
    ).alerts.nodes;
    expect(filtered).toEqual([]);

    expect(ok((await t.gql<{ alert: null }>(ALERT, { id: theirs.alertId }, ed12)).body).alert).toBeNull();
    expect((await c.alert(mine.alertId!, ed12))!.id).toBe(mine.alertId);
    expectError((await t.gql(EXPLAIN, { id: theirs.alertId }, ed12)).body, 'NOT_FOUND');
    expect(ok((await t.gql(EXPLAIN, { id: theirs.alertId }, ed15)).body)).toBeTruthy();

    const before = await rowCounts(t, 'alert', 'alert_decision');
    expectError(await c.ingestRaw([ad1(p, T - 2 * MINUTE)], ed12), 'FORBIDDEN');
    expectError(await c.ingestRaw([ad1(p, T - 2 * MINUTE)], c.supplier), 'FORBIDDEN');
    expectError(await c.ingestRaw([ad1(p, T - 2 * MINUTE)], ''), 'UNAUTHENTICATED');
    expect(await rowCounts(t, 'alert', 'alert_decision')).toEqual(before);

    expectError((await t.gql(ALERTS, {}, c.supplier)).body, 'FORBIDDEN');
    expectError((await t.gql(ALERT, { id: mine.alertId }, c.supplier)).body, 'FORBIDDEN');
    expectError((await t.gql(ALERTS, {})).body, 'UNAUTHENTICATED');
    expectError((await t.gql(EXPLAIN, { id: mine.alertId })).body, 'UNAUTHENTICATED');
    expectError(
      (await t.gql(STATS, { from: iso(T - HOUR), to: iso(T + HOUR) }, c.supplier)).body,
      'FORBIDDEN',
    );
  });

  test('11. the decision ledger is append-only', async () => {
    const T = begin();
    const [r] = await c.ingest([ad1(P.ledger, T - MINUTE)]);
    expect(r.outcome).toBe('DELIVERED');
    const before = await rowCounts(t, 'alert_decision');
    expect(before.alert_decision).toBeGreaterThan(0);
    await expect(t.app.dataSource.query(`UPDATE alert_decision SET outcome = 'DELIVERED'`)).rejects.toThrow();
    await expect(
      t.app.dataSource.query(`UPDATE alert_decision SET outcome = 'SUPPRESSED' WHERE alert_id = $1`, [
        r.alertId,
      ]),
    ).rejects.toThrow();
    await expect(t.app.dataSource.query(`DELETE FROM alert_decision`)).rejects.toThrow();
    expect(await rowCounts(t, 'alert_decision')).toEqual(before);
    expect(ledger((await c.alert(r.alertId!))!)).toEqual([
      ['DELIVERED', 'NO_ACTIVATION_WINDOW', 'INGEST', false],
    ]);
  });

  test('12. an AD1 from a CH not in the inventory fails open', async () => {
    const T = begin();
    const [r] = await c.ingest([ad1({ ch: UNKNOWN_CH, mpan: mpan(12, 999) }, T - MINUTE)]);
    expect(r).toMatchObject({ outcome: 'DELIVERED', reason: 'UNKNOWN_DEVICE', dueAt: null });
    const a = (await c.alert(r.alertId!))!;
    expect(a).toMatchObject({ distributorId: '12', areaKey: null });
    expect(ledger(a)).toEqual([['DELIVERED', 'UNKNOWN_DEVICE', 'INGEST', false]]);
  });

  test('13. a hub firmware activation from a hub not in the inventory is noted, and the batch is kept', async () => {
    const T = begin();
    const results = await c.ingest([
      {
        commsHubFirmwareActivation: {
          commsHubGuid: UNKNOWN_CH,
          firmwareVersion: '00030003',
          activatedAt: new Date(T).toISOString(),
        },
      },
      ad1({ ch: UNKNOWN_CH, mpan: mpan(12, 998) }, T + MINUTE),
    ]);
    expect(results[0]).toMatchObject({
      kind: 'CH_FIRMWARE_ACTIVATION',
      activationId: null,
      reason: 'UNKNOWN_DEVICE',
    });
    expect(results[1]).toMatchObject({ kind: 'AD1', outcome: 'DELIVERED', reason: 'UNKNOWN_DEVICE' });
  });
});

describe('decisions: a restart in the middle of a hold', () => {
  test('6. a second server on the same database decides the held AD1 when its timer is due', async () => {
    const T = Date.parse('2026-03-02T10:00:00Z');
    const clock1 = new TestClock(new Date(T));
    const first = await startTestApp(ENV, clock1);
    let firstRunning = true;
    let second: TestApp | undefined;
    try {
      const c1 = client(first, clock1);
      await c1.init();
      const p = P.ota;
      await c1.seed([p]);
      const act = await c1.schedule(p.esme);
      c1.at(T + MINUTE);
      await c1.outcome(act.requestId, 'success', T + MINUTE);
      c1.at(T + 5 * MINUTE);
      const [r] = await c1.ingest([ad1(p, T + 2 * MINUTE)]);
      expect(r).toMatchObject({ outcome: 'HELD', reason: 'AWAITING_EVIDENCE' });
      expect(ms(r.dueAt)).toBe(T + 10 * MINUTE);
      await first.stopServerOnly();
      firstRunning = false;

      const clock2 = new TestClock(new Date(T + 12 * MINUTE));
      second = await startTestApp(ENV, clock2, first.db);
      const c2 = client(second, clock2);
      await c2.init();
      const suppressed = await c2.until(r.alertId!, 'SUPPRESSED');
      expect(ledger(suppressed)).toEqual([
        ['HELD', 'AWAITING_EVIDENCE', 'INGEST', false],
        ['SUPPRESSED', 'OTA_INDUCED', 'TIMER', false],
      ]);
      expect(ms(suppressed.decision!.decidedAt)).toBe(T + 12 * MINUTE);
    } finally {
      // The second server was handed the database, so it must leave it; the first owns it.
      await second?.stop();
      if (firstRunning) await first.stopServerOnly();
      await first.db.drop();
    }
  });
});

describe('decisions: the safety budget', () => {
  test('14. once a DNO has its maximum of suppressions, its next OTA-induced AD1 is delivered (SAFETY_BUDGET_SPENT)', async () => {
    const T = Date.parse('2026-03-02T10:00:00Z');
    const clock = new TestClock(new Date(T));
    // One suppression per DNO; the share rule out of reach.
    const t = await startTestApp({ ...ENV, BUDGET_MAX_PER_DNO: '1', BUDGET_MIN_SAMPLE: '1000' }, clock);
    try {
      const c = client(t, clock);
      await c.init();
      const first = premises(30, 'FEEDER-B1');
      const second = premises(31, 'FEEDER-B2');
      const plain = premises(32, 'FEEDER-B3', UNAFFECTED_MODEL);
      await c.seed([first, second, plain]);

      const a1 = await c.schedule(first.esme);
      c.at(T + MINUTE);
      await c.outcome(a1.requestId, 'success', T + MINUTE);
      c.at(T + 5 * MINUTE);
      const [held] = await c.ingest([ad1(first, T + 2 * MINUTE)]);
      expect(held).toMatchObject({ outcome: 'HELD', reason: 'AWAITING_EVIDENCE' });
      c.at(T + 10 * MINUTE);
      await c.until(held.alertId!, 'SUPPRESSED');

      // The DNO's budget is spent: the next candidate is not held, and says why.
      const a2 = await c.schedule(second.esme);
      c.at(T + 11 * MINUTE);
      await c.outcome(a2.requestId, 'success', T + 11 * MINUTE);
      c.at(T + 14 * MINUTE);
      const [spent, genuine] = await c.ingest([ad1(second, T + 12 * MINUTE), ad1(plain, T + 12 * MINUTE)]);
      expect(spent).toMatchObject({ outcome: 'DELIVERED', reason: 'SAFETY_BUDGET_SPENT', dueAt: null });
      expect(genuine).toMatchObject({ outcome: 'DELIVERED', reason: 'NO_MATCHING_RULE' });
      const evidence = (await c.alert(spent.alertId!))!.decision!.evidence as {
        budget: { dno: { suppressions: number; alerts: number; spent: string | null } };
      };
      // The first AD1, and both of this batch (counted as received before either is decided).
      expect(evidence.budget.dno).toMatchObject({ suppressions: 1, alerts: 3, spent: 'COUNT' });
      expect(await t.app.dataSource.query(BUDGET_COUNTER_MISMATCHES)).toEqual([]);
    } finally {
      await t.stop();
    }
  });

  test('15. the budget counts AD1s by the minute they were received in, and is restored once that minute leaves the window', async () => {
    const T = Date.parse('2026-03-02T10:00:00Z');
    const clock = new TestClock(new Date(T));
    const t = await startTestApp(
      { ...ENV, BUDGET_MAX_PER_DNO: '1', BUDGET_MIN_SAMPLE: '1000', BUDGET_WINDOW_MINUTES: '30' },
      clock,
    );
    try {
      const c = client(t, clock);
      await c.init();
      const [first, second, third] = [
        premises(40, 'FEEDER-C1'),
        premises(41, 'FEEDER-C2'),
        premises(42, 'FEEDER-C3'),
      ];
      await c.seed([first, second, third]);
      /** A successful activation, executed at `at`: AD1s of its premises soon after are OTA-induced. */
      const activated = async (p: Premises, at: number) => {
        const a = await c.schedule(p.esme);
        c.at(at);
        await c.outcome(a.requestId, 'success', at);
      };
      const receivedAt = async (p: Premises, start: number, at: number) => {
        c.at(at);
        const [r] = await c.ingest([ad1(p, start)]);
        return r;
      };

      // Received at 10:05:30: counted in the 10:05 minute.
      await activated(first, T + 4 * MINUTE);
      const held = await receivedAt(first, T + 5 * MINUTE, T + 5.5 * MINUTE);
      expect(held).toMatchObject({ outcome: 'HELD' });
      c.at(T + 12 * MINUTE);
      await c.until(held.alertId!, 'SUPPRESSED');
      expect(await t.app.dataSource.query(BUDGET_COUNTER_MISMATCHES)).toEqual([]);

      await activated(second, T + 34 * MINUTE);
      await activated(third, T + 34 * MINUTE);
      // Received at 10:35:30: the window starts at 10:05:30, inside the 10:05 minute, which still
      // counts whole.
      const spent = await receivedAt(second, T + 35 * MINUTE, T + 35.5 * MINUTE);
      expect(spent).toMatchObject({ outcome: 'DELIVERED', reason: 'SAFETY_BUDGET_SPENT' });
      // Received at 10:36:00: the 10:05 minute has left the window; the DNO may suppress again.
      const again = await receivedAt(third, T + 35 * MINUTE, T + 36 * MINUTE);
      expect(again).toMatchObject({ outcome: 'HELD', reason: 'AWAITING_EVIDENCE' });
      const m = await scrapeMetrics(t);
      expect(metricValue(m, 'poa_sieve_budget_suppressions', { distributor_id: '12' })).toBe(0);
      expect(metricValue(m, 'poa_sieve_budget_alerts', { distributor_id: '12' })).toBe(2);
      expect(await t.app.dataSource.query(BUDGET_COUNTER_MISMATCHES)).toEqual([]);
    } finally {
      await t.stop();
    }
  });

  test("16. BUDGET_SHARE_EXEMPT=DCC_OUTCOME: a spent share still lets DCC's outcome suppress a campaign's AD1, releases one without it, and NONE delivers at once", async () => {
    const T = Date.parse('2026-03-02T10:00:00Z');
    const clock = new TestClock(new Date(T));
    // Every suppression is over the share from the first AD1 on; the counts out of reach.
    const shareSpent = { ...ENV, HOLD_MINUTES: '30', BUDGET_MAX_SHARE: '0.5', BUDGET_MIN_SAMPLE: '1' };
    const t = await startTestApp({ ...shareSpent, BUDGET_SHARE_EXEMPT: 'DCC_OUTCOME' }, clock);
    try {
      const c = client(t, clock);
      await c.init();
      const [dated, silent] = [premises(50, 'FEEDER-D1'), premises(51, 'FEEDER-D2')];
      await c.seed([dated, silent]);
      const a1 = await c.schedule(dated.esme);
      await c.schedule(silent.esme); // its outcome never comes
      c.at(T + MINUTE);
      await c.outcome(a1.requestId, 'success', T + MINUTE);
      c.at(T + 5 * MINUTE);
      const [first, second] = await c.ingest([ad1(dated, T + 2 * MINUTE), ad1(silent, T + 2 * MINUTE)]);
      expect(first).toMatchObject({ outcome: 'HELD' });
      expect(second).toMatchObject({ outcome: 'HELD' });
      c.at(T + 25 * MINUTE);
      const suppressed = await c.until(first.alertId!, 'SUPPRESSED');
      const released = await c.until(second.alertId!, 'RELEASED');
      expect(suppressed.decision!.reasonCode).toBe('OTA_INDUCED');
      expect(released.decision!.reasonCode).toBe('SAFETY_BUDGET_SPENT');
      // The meter was not asked: its answer could not have lifted the share.
      const reads = await t.app.dataSource.query('SELECT count(*)::int AS n FROM verification_request');
      expect(reads).toEqual([{ n: 0 }]);
    } finally {
      await t.stop();
    }

    const noneClock = new TestClock(new Date(T));
    const none = await startTestApp({ ...shareSpent, BUDGET_SHARE_EXEMPT: 'NONE' }, noneClock);
    try {
      const c = client(none, noneClock);
      await c.init();
      const p = premises(52, 'FEEDER-D3');
      await c.seed([p]);
      const a = await c.schedule(p.esme);
      c.at(T + MINUTE);
      await c.outcome(a.requestId, 'success', T + MINUTE);
      c.at(T + 5 * MINUTE);
      const [r] = await c.ingest([ad1(p, T + 2 * MINUTE)]);
      expect(r).toMatchObject({ outcome: 'DELIVERED', reason: 'SAFETY_BUDGET_SPENT' });
    } finally {
      await none.stop();
    }
  });
});
