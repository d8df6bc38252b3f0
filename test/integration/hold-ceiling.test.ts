import crypto from 'node:crypto';
import { createMetrics } from '../../src/metrics';
import { DecisionScheduler } from '../../src/services/alerts/decision-scheduler';
import type { DecisionService } from '../../src/services/alerts/decision.service';
import { silentObserver } from '../../src/services/shared/observer';
import { startTestApp, TestClock } from '../support/app';
import type { TestApp } from '../support/app';
import { installAffectedRule, installPremises } from '../support/fleet-setup';
import { evidenceDeadline, guid, metricValue, mpan, ok, scrapeMetrics } from '../support/integration';

/**
 * The liveness guarantee behind the timers: no AD1 stays HELD past its hold ceiling, whatever
 * happened to its timer. Timers are broken here by hand, as a defect would break them, and the
 * scheduler is driven pass by pass (the server's own polls once an hour). With the real engine
 * the sweep decides a stranded AD1 again (and gives a valid hold its timer back); with an engine
 * that decides nothing, the AD1 is released with HOLD_CEILING_ENFORCED, counted and delivered.
 */

const SUP = '90-B3-D5-1F-30-01-00-00';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const HOLD = 30 * MINUTE;
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

const premises = (n: number) => ({
  esme: guid('DE-00-00-00-00-51', n),
  ch: guid('DE-00-00-00-00-52', n),
  mpan: mpan(12, 9000 + n),
  area: `CEILING-${n}`,
});
type Premises = ReturnType<typeof premises>;
const P = { rearmed: premises(1), overdue: premises(2), guard: premises(3), forced: premises(4) };
const ALL = Object.values(P);

const ALERT = `query ($id: ID!) { alert(id: $id) { id outcome decision { reasonCode reasonText trigger dueAt }
  decisionHistory { outcome reasonCode trigger } } }`;
interface AlertView {
  id: string;
  outcome: string;
  decision: { reasonCode: string; reasonText: string; trigger: string; dueAt: string | null };
  decisionHistory: { outcome: string; reasonCode: string; trigger: string }[];
}

const iso = (ms: number) => new Date(ms).toISOString();

describe('hold ceiling: no AD1 stays HELD past it', () => {
  const T0 = Date.parse('2026-06-01T10:00:00Z');
  const clock = new TestClock(new Date(T0));
  let t: TestApp;
  let operator: string;
  let supplier: string;
  let counter = 100;
  let scenario = 0;

  const at = (instant: number) => clock.set(new Date(instant));
  const gql = async <T>(query: string, variables: Record<string, unknown> = {}, token = operator) =>
    ok((await t.gql<T>(query, variables, token)).body);
  const alert = async (id: string) => (await gql<{ alert: AlertView }>(ALERT, { id })).alert;
  const sql = (text: string, params: unknown[]) => t.app.dataSource.query(text, params);
  const timer = async (id: string): Promise<string | null> => {
    const [row] = (await sql(`SELECT due_at FROM alert WHERE id = $1`, [id])) as {
      due_at: Date | string | null;
    }[];
    return row.due_at === null ? null : new Date(row.due_at).toISOString();
  };
  const outbox = async (id: string) =>
    (
      (await sql(`SELECT kind, payload FROM dno_outbox WHERE alert_id = $1 ORDER BY sequence`, [id])) as {
        kind: string;
        payload: { decision: { outcome: string; reasonCode: string } };
      }[]
    ).map((m) => [m.kind, m.payload.decision.outcome, m.payload.decision.reasonCode]);
  /** A scheduler over the server's database and services, driven by hand. */
  const scheduler = (decisions: DecisionService, observer = silentObserver) =>
    new DecisionScheduler(
      t.app.dataSource,
      decisions,
      t.app.services.delivery,
      clock,
      t.app.log,
      { pollMs: 3_600_000, batchSize: 50, holdMinutes: HOLD / MINUTE },
      observer,
    );
  /** The server's decision service, except that deciding AD1s again changes nothing. */
  const stubborn = () => {
    const decisions = Object.create(t.app.services.decisions) as DecisionService;
    decisions.evaluateOutageAlerts = async () => [];
    return decisions;
  };
  /** An AD1 held (AWAITING_EVIDENCE) after an activation whose outcome never arrives. */
  const held = async (p: Premises) => {
    scenario += 1;
    const T = T0 + scenario * 3 * HOUR;
    at(T);
    await gql(
      `mutation ($a: ScheduleFirmwareActivationInput!) { scheduleFirmwareActivation(activation: $a) { requestId } }`,
      { a: { requestId: `${SUP}:${p.esme}:${counter++}`, esmeGuid: p.esme, imageHash: IMAGE_HASH } },
      supplier,
    );
    at(T + 4 * MINUTE);
    const [r] = (
      await gql<{ ingestAlerts: { alertId: string; outcome: string; reason: string; dueAt: string }[] }>(
        `mutation ($a: [AlertInput!]!) { ingestAlerts(alerts: $a) { alertId outcome reason dueAt } }`,
        { a: [{ powerOutage: { commsHubGuid: p.ch, startAt: iso(T + MINUTE), mpan: p.mpan } }] },
      )
    ).ingestAlerts;
    const evidenceAt = evidenceDeadline(T + MINUTE, T + 4 * MINUTE, CUT);
    expect(r).toMatchObject({ outcome: 'HELD', reason: 'AWAITING_EVIDENCE', dueAt: iso(evidenceAt) });
    return { id: r.alertId, evidenceAt, ceiling: T + 4 * MINUTE + HOLD };
  };

  beforeAll(async () => {
    // The server's scheduler makes one pass at start, then waits an hour: the tests drive theirs.
    t = await startTestApp({ SCHEDULER_POLL_MS: '3600000' }, clock);
    operator = await t.token({ role: 'OPERATOR', ttlSeconds: 7 * 24 * 3600 });
    supplier = await t.token({ role: 'IS', supplierId: SUP, ttlSeconds: 7 * 24 * 3600 });
    await installPremises(t, operator, FLEET, ALL);
    await installAffectedRule(
      t,
      operator,
      FLEET,
      { version: NEW_VERSION, imageHash: IMAGE_HASH },
      {
        name: 'cut 3',
        maxCommsHubOffMinutes: CUT,
      },
    );
  });
  afterAll(() => t?.stop());

  test('a hold that lost its timer gets it back; nothing is released early', async () => {
    const { id, evidenceAt } = await held(P.rearmed);
    await sql(`UPDATE alert SET due_at = NULL WHERE id = $1`, [id]);
    at(evidenceAt - MINUTE);
    const s = scheduler(t.app.services.decisions);
    expect(await s.sweepHeld()).toBe(1);
    expect(await timer(id)).toBe(iso(evidenceAt));
    expect((await alert(id)).decisionHistory).toHaveLength(1);
    // Found once: the sweep has nothing more to do, and the timer decides on time.
    expect(await s.sweepHeld()).toBe(0);
    at(evidenceAt);
    expect(await s.runDue()).toBe(1);
    expect((await alert(id)).decision.reasonCode).toBe('AWAITING_VERIFICATION');
    // The meter never answers: released by its timers, before the ceiling.
    for (const step of [2, 4, 6]) {
      at(evidenceAt + step * MINUTE);
      expect(await s.runDue()).toBe(1);
    }
    expect((await alert(id)).decision.reasonCode).toBe('VERIFICATION_UNANSWERED');
    expect(await timer(id)).toBeNull();
  });

  test('past the ceiling with a timer beyond it: decided by the sweep, with the engine’s own reason', async () => {
    const { id, ceiling } = await held(P.overdue);
    await sql(`UPDATE alert SET due_at = $2 WHERE id = $1`, [id, new Date(ceiling + HOUR)]);
    const s = scheduler(t.app.services.decisions);
    at(ceiling - 1);
    expect(await s.sweepHeld()).toBe(0);
    at(ceiling);
    expect(await s.sweepHeld()).toBe(1);
    const a = await alert(id);
    expect(a).toMatchObject({
      outcome: 'RELEASED',
      decision: { reasonCode: 'HOLD_EXPIRED', trigger: 'TIMER' },
    });
    expect(await timer(id)).toBeNull();
    expect(await outbox(id)).toEqual([['AD1', 'RELEASED', 'HOLD_EXPIRED']]);
  });

  test('still HELD when its timer came and went: released by the timer pass (HOLD_CEILING_ENFORCED)', async () => {
    const { id, evidenceAt } = await held(P.guard);
    const released: number[] = [];
    const s = scheduler(stubborn(), { ...silentObserver, heldPastCeiling: (n) => released.push(n) });
    at(evidenceAt);
    expect(await s.runDue()).toBe(1);
    expect(released).toEqual([1]);
    const a = await alert(id);
    expect(a.outcome).toBe('RELEASED');
    expect(a.decision).toMatchObject({ reasonCode: 'HOLD_CEILING_ENFORCED', trigger: 'TIMER', dueAt: null });
    expect(a.decision.reasonText).toMatch(/hold ceiling/);
    expect(await timer(id)).toBeNull();
    expect(await outbox(id)).toEqual([['AD1', 'RELEASED', 'HOLD_CEILING_ENFORCED']]);
  });

  test('still HELD past the ceiling: released by the sweep (HOLD_CEILING_ENFORCED), counted', async () => {
    const { id, ceiling } = await held(P.forced);
    await sql(`UPDATE alert SET due_at = $2 WHERE id = $1`, [id, new Date(ceiling + HOUR)]);
    const released: number[] = [];
    const s = scheduler(stubborn(), { ...silentObserver, heldPastCeiling: (n) => released.push(n) });
    at(ceiling + MINUTE);
    expect(await s.sweepHeld()).toBe(1);
    expect(released).toEqual([1]);
    expect(await alert(id)).toMatchObject({
      outcome: 'RELEASED',
      decisionHistory: [
        { outcome: 'HELD', reasonCode: 'AWAITING_EVIDENCE', trigger: 'INGEST' },
        { outcome: 'RELEASED', reasonCode: 'HOLD_CEILING_ENFORCED', trigger: 'TIMER' },
      ],
    });
    expect(await outbox(id)).toEqual([['AD1', 'RELEASED', 'HOLD_CEILING_ENFORCED']]);
    expect(await s.sweepHeld()).toBe(0);
  });

  test('poa_sieve_held_past_ceiling_total is exposed, and counts what the scheduler reports', async () => {
    expect(metricValue(await scrapeMetrics(t), 'poa_sieve_held_past_ceiling_total')).toBe(0);
    const metrics = createMetrics();
    metrics.observer.heldPastCeiling(2);
    const text = await metrics.scrape();
    expect(text).toMatch(/^poa_sieve_held_past_ceiling_total 2$/m);
  });
});
