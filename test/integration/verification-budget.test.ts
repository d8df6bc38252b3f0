import crypto from 'node:crypto';
import { eventually, startTestApp, TestClock } from '../support/app';
import type { TestApp } from '../support/app';
import { installAffectedRule, installPremises } from '../support/fleet-setup';
import { evidenceDeadline, guid, mpan, ok } from '../support/integration';

/**
 * The verification request budget (VERIFICATION_BUDGET_PER_AREA) refusing a read of the meter,
 * through the real server on a hand-moved clock. A held AD1 whose request is refused is released
 * (VERIFICATION_BUDGET_SPENT) in the transaction that asked, whether that was its timer or ingest,
 * and the DNO gets it; it is never left HELD without a timer.
 */

const SUP = '90-B3-D5-1F-30-01-00-00';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const LINKED_FROM = '2026-01-01T00:00:00Z';
const OLD_VERSION = '0002012F';
const NEW_VERSION = '00020000';
const MODEL = '010A030B';
const FLEET = {
  supplierId: SUP,
  manufacturer: 'AB01',
  model: MODEL,
  firmwareVersion: OLD_VERSION,
  since: LINKED_FROM,
};
const IMAGE_HASH = crypto.createHash('sha256').update(`AB01/${MODEL}/${NEW_VERSION}`).digest('hex');
/** The rule's longest cut, minutes. */
const CUT = 3;
const ENV = {
  SCHEDULER_POLL_MS: '50',
  VERIFICATION_SENDER_ID: '90-B3-D5-1F-30-00-00-01',
  // One read of a meter per area and hour: the second AD1 of an area is refused.
  VERIFICATION_BUDGET_PER_AREA: '1',
};

interface Premises {
  readonly esme: string;
  readonly ch: string;
  readonly mpan: string;
  readonly area: string;
}
const premises = (n: number, area: string): Premises => ({
  esme: guid('DE-00-00-00-00-41', n),
  ch: guid('DE-00-00-00-00-42', n),
  mpan: mpan(12, 8000 + n),
  area,
});
const P = {
  timer: [premises(1, 'VB-TIMER'), premises(2, 'VB-TIMER')],
  ingest: [premises(3, 'VB-INGEST'), premises(4, 'VB-INGEST')],
};
const ALL = [...P.timer, ...P.ingest];

const INGEST = `mutation ($a: [AlertInput!]!) { ingestAlerts(alerts: $a) { alertId outcome reason dueAt } }`;
const ALERT = `query ($id: ID!) { alert(id: $id) { id outcome decision { reasonCode trigger dueAt }
  decisionHistory { outcome reasonCode trigger } } }`;

interface IngestResult {
  alertId: string;
  outcome: string;
  reason: string;
  dueAt: string | null;
}
interface AlertView {
  id: string;
  outcome: string;
  decision: { reasonCode: string; trigger: string; dueAt: string | null };
  decisionHistory: { outcome: string; reasonCode: string; trigger: string }[];
}

const iso = (ms: number) => new Date(ms).toISOString();

describe('verification budget: a refused read of the meter releases the AD1 at once', () => {
  const T0 = Date.parse('2026-05-04T10:00:00Z');
  const clock = new TestClock(new Date(T0));
  let t: TestApp;
  let operator: string;
  let supplier: string;
  let counter = 100;
  let scenario = 0;

  const at = (instant: number) => clock.set(new Date(instant));
  const begin = () => {
    scenario += 1;
    const start = T0 + scenario * 3 * HOUR;
    at(start);
    return start;
  };
  const gql = async <T>(query: string, variables: Record<string, unknown> = {}, token = operator) =>
    ok((await t.gql<T>(query, variables, token)).body);
  /** An activation requested now whose outcome never arrives. */
  const schedule = (p: Premises) =>
    gql(
      `mutation ($a: ScheduleFirmwareActivationInput!) { scheduleFirmwareActivation(activation: $a) { requestId } }`,
      { a: { requestId: `${SUP}:${p.esme}:${counter++}`, esmeGuid: p.esme, imageHash: IMAGE_HASH } },
      supplier,
    );
  const ingest = async (list: readonly Premises[], startAt: number) =>
    (
      await gql<{ ingestAlerts: IngestResult[] }>(INGEST, {
        a: list.map((p) => ({ powerOutage: { commsHubGuid: p.ch, startAt: iso(startAt), mpan: p.mpan } })),
      })
    ).ingestAlerts;
  const alert = async (id: string) => (await gql<{ alert: AlertView }>(ALERT, { id })).alert;
  const timer = async (id: string): Promise<string | null> => {
    const [row] = (await t.app.dataSource.query(`SELECT due_at FROM alert WHERE id = $1`, [id])) as {
      due_at: Date | string | null;
    }[];
    return row.due_at === null ? null : new Date(row.due_at).toISOString();
  };
  const requestsOf = async (alertIds: readonly string[]) =>
    (await t.app.dataSource.query(
      `SELECT alert_id::text AS "alertId", status FROM verification_request WHERE alert_id = ANY($1::bigint[])`,
      [alertIds],
    )) as { alertId: string; status: string }[];
  /** The DNO's messages about these alerts, as written to its outbox. */
  const outbox = async (alertIds: readonly string[]) =>
    (
      (await t.app.dataSource.query(
        `SELECT kind, alert_id::text AS "alertId", payload FROM dno_outbox
          WHERE distributor_id = '12' AND alert_id = ANY($1::bigint[]) ORDER BY sequence`,
        [alertIds],
      )) as {
        kind: string;
        alertId: string;
        payload: { decision: { outcome: string; reasonCode: string } };
      }[]
    ).map(({ kind, alertId, payload: { decision } }) => ({
      kind,
      alertId,
      outcome: decision.outcome,
      reasonCode: decision.reasonCode,
    }));

  beforeAll(async () => {
    t = await startTestApp(ENV, clock);
    operator = await t.token({ role: 'OPERATOR', ttlSeconds: 7 * 24 * 3600 });
    supplier = await t.token({ role: 'IS', supplierId: SUP, ttlSeconds: 7 * 24 * 3600 });
    await installPremises(t, operator, FLEET, ALL);
    await installAffectedRule(
      t,
      operator,
      FLEET,
      { version: NEW_VERSION, imageHash: IMAGE_HASH },
      {
        name: 'cut 3 min',
        maxCommsHubOffMinutes: CUT,
      },
    );
  });
  afterAll(() => t?.stop());

  test('refused by the timer that asked: released in the same pass, not left HELD without a timer', async () => {
    const T = begin();
    for (const p of P.timer) await schedule(p);
    at(T + 4 * MINUTE);
    const held = await ingest(P.timer, T + MINUTE);
    const evidenceAt = evidenceDeadline(T + MINUTE, T + 4 * MINUTE, CUT);
    expect(held.map((h) => [h.outcome, h.reason, h.dueAt])).toEqual([
      ['HELD', 'AWAITING_EVIDENCE', iso(evidenceAt)],
      ['HELD', 'AWAITING_EVIDENCE', iso(evidenceAt)],
    ]);
    const ids = held.map((h) => h.alertId);

    // Both timers fire in one pass: both AD1s ask their meter; the area's budget takes one.
    at(evidenceAt);
    const requests = await eventually(async () => {
      const rows = await requestsOf(ids);
      return rows.length === 2 ? rows : undefined;
    });
    const asked = requests.find((r) => r.status === 'PENDING')!.alertId;
    const refused = requests.find((r) => r.status === 'SKIPPED')!.alertId;

    const released = await eventually(
      async () => {
        const a = await alert(refused);
        return a.outcome === 'HELD' ? undefined : a;
      },
      5_000,
      `alert ${refused} to leave HELD (is HELD with timer ${await timer(refused)})`,
    );
    expect(released.outcome).toBe('RELEASED');
    expect(released.decision).toMatchObject({ reasonCode: 'VERIFICATION_BUDGET_SPENT', trigger: 'TIMER' });
    expect(released.decisionHistory.map((d) => [d.outcome, d.reasonCode, d.trigger])).toEqual([
      ['HELD', 'AWAITING_EVIDENCE', 'INGEST'],
      ['HELD', 'AWAITING_VERIFICATION', 'TIMER'],
      ['RELEASED', 'VERIFICATION_BUDGET_SPENT', 'TIMER'],
    ]);
    expect(await timer(refused)).toBeNull();

    // The other waits for its meter's answer, on a timer.
    const waiting = await alert(asked);
    expect(waiting).toMatchObject({ outcome: 'HELD', decision: { reasonCode: 'AWAITING_VERIFICATION' } });
    expect(await timer(asked)).toBe(iso(evidenceAt + 2 * MINUTE));

    // The DNO gets the released AD1 like any other, and nothing of the held one.
    expect(await outbox(ids)).toEqual([
      { kind: 'AD1', alertId: refused, outcome: 'RELEASED', reasonCode: 'VERIFICATION_BUDGET_SPENT' },
    ]);
  });

  test('refused at ingest: the ingest result is already the release', async () => {
    const T = begin();
    for (const p of P.ingest) await schedule(p);
    // The AD1s arrive once their hubs must be back: they ask their meters at once.
    at(T + 8 * MINUTE);
    expect(evidenceDeadline(T + MINUTE, T + 8 * MINUTE, CUT)).toBeLessThanOrEqual(T + 8 * MINUTE);
    const results = await ingest(P.ingest, T + MINUTE);
    const ids = results.map((r) => r.alertId);
    const requests = await requestsOf(ids);
    const refused = requests.find((r) => r.status === 'SKIPPED')!.alertId;
    const asked = requests.find((r) => r.status === 'PENDING')!.alertId;
    expect(results.find((r) => r.alertId === refused)).toMatchObject({
      outcome: 'RELEASED',
      reason: 'VERIFICATION_BUDGET_SPENT',
      dueAt: null,
    });
    expect(results.find((r) => r.alertId === asked)).toMatchObject({
      outcome: 'HELD',
      reason: 'AWAITING_VERIFICATION',
    });
    expect((await alert(refused)).decisionHistory.map((d) => [d.outcome, d.reasonCode, d.trigger])).toEqual([
      ['HELD', 'AWAITING_VERIFICATION', 'INGEST'],
      ['RELEASED', 'VERIFICATION_BUDGET_SPENT', 'INGEST'],
    ]);
    expect(await outbox(ids)).toEqual([
      { kind: 'AD1', alertId: refused, outcome: 'RELEASED', reasonCode: 'VERIFICATION_BUDGET_SPENT' },
    ]);
  });
});
