import crypto from 'node:crypto';
import { eventually, startTestApp, TestClock } from '../support/app';
import type { TestApp } from '../support/app';
import { installAffectedRule, installPremises } from '../support/fleet-setup';
import {
  evidenceDeadline,
  expectError,
  guid,
  metricValue,
  mpan,
  ok,
  scrapeMetrics,
} from '../support/integration';

/**
 * The operator's status at a glance, through the real server on a hand-moved clock: operatorStatus
 * per DNO and in total over a window, verificationRequests(status:), dnoDeliveryStatuses with the
 * time since each consumer's last acknowledgement, the same figures at GET /metrics, and the
 * access rule (OPERATOR only).
 */

const SUP = '90-B3-D5-1F-30-01-00-00';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const OLD_VERSION = '0002012F';
const NEW_VERSION = '00020000';
const MODEL = '010A030B';
const FLEET = {
  supplierId: SUP,
  manufacturer: 'AB01',
  model: MODEL,
  firmwareVersion: OLD_VERSION,
  since: '2026-01-01T00:00:00Z',
};
const IMAGE_HASH = crypto.createHash('sha256').update(`AB01/${MODEL}/${NEW_VERSION}`).digest('hex');
const CUT = 3;
const ENV = {
  SCHEDULER_POLL_MS: '50',
  VERIFICATION_SENDER_ID: '90-B3-D5-1F-30-00-00-01',
  // One read per outage: a silent meter releases its AD1 at the first timeout.
  VERIFICATION_ATTEMPTS: '1',
};

const premises = (n: number, distributorId: number) => ({
  esme: guid('0F-00-00-00-00-51', n),
  ch: guid('0F-00-00-00-00-52', n),
  mpan: mpan(distributorId, 9100 + n),
  area: `OS-${n}`,
});
/** 12: one meter that answers, one without an activation; 14: one that stays silent. */
const ANSWERS = premises(1, 12);
const PLAIN = premises(2, 12);
const SILENT = premises(3, 14);

const STATUS = `query ($w: Int) { operatorStatus(windowMinutes: $w) {
  at since windowMinutes
  total { alerts { received held suppressed paired released delivered } heldNow awaitingVerification
          verifications { pending answered timedOut skipped } }
  distributors { distributorId alerts { received held suppressed paired released delivered } heldNow
    awaitingVerification verifications { pending answered timedOut skipped }
    delivery { newestSequence acknowledgedSequence lag acknowledgedAt secondsSinceAcknowledgement } } } }`;
const DELIVERY = `{ dnoDeliveryStatuses { distributorId newestSequence acknowledgedSequence lag acknowledgedAt
  secondsSinceAcknowledgement } }`;
const PENDING = `{ verificationRequests(status: PENDING) { requestId deviceGuid status } }`;
const INGEST = `mutation ($a: [AlertInput!]!) { ingestAlerts(alerts: $a) { alertId outcome reason } }`;

interface Counts {
  received: number;
  held: number;
  suppressed: number;
  paired: number;
  released: number;
  delivered: number;
}
interface Figures {
  alerts: Counts;
  heldNow: number;
  awaitingVerification: number;
  verifications: { pending: number; answered: number; timedOut: number; skipped: number };
}
interface Delivery {
  distributorId?: string;
  newestSequence: string;
  acknowledgedSequence: string;
  lag: string;
  acknowledgedAt: string | null;
  secondsSinceAcknowledgement: number | null;
}
interface Status {
  at: string;
  since: string;
  windowMinutes: number;
  total: Figures;
  distributors: (Figures & { distributorId: string; delivery: Delivery | null })[];
}

const counts = (c: Partial<Counts>): Counts => ({
  received: 0,
  held: 0,
  suppressed: 0,
  paired: 0,
  released: 0,
  delivered: 0,
  ...c,
});
const iso = (ms: number) => new Date(ms).toISOString();

describe('operatorStatus, verificationRequests(status:) and dnoDeliveryStatuses', () => {
  const T0 = Date.parse('2026-05-04T10:00:00Z');
  const clock = new TestClock(new Date(T0 - 2 * HOUR));
  let t: TestApp;
  let operator: string;

  const gql = async <T>(query: string, variables: Record<string, unknown> = {}, token = operator) =>
    ok((await t.gql<T>(query, variables, token)).body);
  const status = async (w?: number) => (await gql<{ operatorStatus: Status }>(STATUS, { w })).operatorStatus;
  const dno = (s: Status, id: string) => s.distributors.find((d) => d.distributorId === id)!;
  const ingest = async (p: ReturnType<typeof premises>, startAt: number) =>
    (
      await gql<{ ingestAlerts: { alertId: string; outcome: string; reason: string }[] }>(INGEST, {
        a: [{ powerOutage: { commsHubGuid: p.ch, startAt: iso(startAt), mpan: p.mpan } }],
      })
    ).ingestAlerts[0];
  const pending = async () =>
    (
      await gql<{ verificationRequests: { requestId: string; deviceGuid: string; status: string }[] }>(
        PENDING,
      )
    ).verificationRequests;

  beforeAll(async () => {
    t = await startTestApp(ENV, clock);
    operator = await t.token({ role: 'OPERATOR', ttlSeconds: 7 * 24 * 3600 });
    await installPremises(t, operator, FLEET, [ANSWERS, PLAIN, SILENT]);
    await installAffectedRule(
      t,
      operator,
      FLEET,
      { version: NEW_VERSION, imageHash: IMAGE_HASH },
      { name: 'cut 3 min', maxCommsHubOffMinutes: CUT },
    );
  });
  afterAll(() => t?.stop());

  test('counts each DNO’s AD1s of the window by outcome, what is held, the reads and the consumer lag', async () => {
    // Two hours before: an AD1 that a 60-minute window leaves out.
    expect((await ingest(PLAIN, T0 - 2 * HOUR)).outcome).toBe('DELIVERED');

    clock.set(new Date(T0));
    const supplier = await t.token({ role: 'IS', supplierId: SUP, ttlSeconds: 7 * 24 * 3600 });
    for (const [i, p] of [ANSWERS, SILENT].entries()) {
      await gql(
        `mutation ($a: ScheduleFirmwareActivationInput!) { scheduleFirmwareActivation(activation: $a) { requestId } }`,
        { a: { requestId: `${SUP}:${p.esme}:${10 + i}`, esmeGuid: p.esme, imageHash: IMAGE_HASH } },
        supplier,
      );
    }
    clock.set(new Date(T0 + 4 * MINUTE));
    expect((await ingest(PLAIN, T0 + 2 * MINUTE)).outcome).toBe('DELIVERED');
    expect(await ingest(ANSWERS, T0 + MINUTE)).toMatchObject({
      outcome: 'HELD',
      reason: 'AWAITING_EVIDENCE',
    });
    expect(await ingest(SILENT, T0 + MINUTE)).toMatchObject({ outcome: 'HELD', reason: 'AWAITING_EVIDENCE' });

    let s = await status();
    expect(s).toMatchObject({ windowMinutes: 60, at: iso(T0 + 4 * MINUTE), since: iso(T0 - 56 * MINUTE) });
    expect(s.total).toMatchObject({ alerts: counts({ received: 3, held: 2, delivered: 1 }), heldNow: 2 });
    expect(s.distributors.map((d) => d.distributorId)).toEqual(['12', '14']);
    expect(dno(s, '12').alerts).toEqual(counts({ received: 2, held: 1, delivered: 1 }));
    expect(dno(s, '14').alerts).toEqual(counts({ received: 1, held: 1 }));
    expect((await status(180)).total.alerts).toEqual(counts({ received: 4, held: 2, delivered: 2 }));

    // When the hubs must be back and no outcome came: each meter is asked.
    clock.set(new Date(evidenceDeadline(T0 + MINUTE, T0 + 4 * MINUTE, CUT)));
    const reads = await eventually(async () => {
      const rows = await pending();
      return rows.length === 2 ? rows : undefined;
    });
    expect(reads.map((r) => r.status)).toEqual(['PENDING', 'PENDING']);
    s = await status();
    expect(s.total).toMatchObject({ heldNow: 2, awaitingVerification: 2 });
    expect(dno(s, '12')).toMatchObject({ awaitingVerification: 1, verifications: { pending: 1 } });
    expect(dno(s, '14')).toMatchObject({ awaitingVerification: 1, verifications: { pending: 1 } });
    const held = await scrapeMetrics(t);
    expect(
      metricValue(held, 'poa_sieve_held_alerts', { distributor_id: '14', reason: 'AWAITING_VERIFICATION' }),
    ).toBe(1);

    // One meter answers with the new firmware (an OTA cut); the other stays silent past its timeout.
    const asked = reads.find((r) => r.deviceGuid === ANSWERS.esme)!;
    await gql(`mutation ($i: VerificationAnswerInput!) { recordVerificationAnswer(input: $i) { status } }`, {
      i: { requestId: asked.requestId, answeredAt: clock.now().toISOString(), firmwareVersion: NEW_VERSION },
    });
    clock.advance(2 * MINUTE);
    s = await eventually(async () => {
      const now = await status();
      return now.total.heldNow === 0 ? now : undefined;
    });
    expect(dno(s, '12').alerts).toEqual(counts({ received: 2, suppressed: 1, delivered: 1 }));
    expect(dno(s, '14').alerts).toEqual(counts({ received: 1, released: 1 }));
    expect(s.total.verifications).toEqual({ pending: 0, answered: 1, timedOut: 1, skipped: 0 });
    expect(await pending()).toEqual([]);

    // DNO 12's consumer acknowledges everything; 90 s later it is 90 s since, and 14 never has.
    const ed12 = await t.token({ role: 'ED', distributorIds: ['12'] });
    const newest12 = dno(s, '12').delivery!.newestSequence;
    await gql(`mutation ($u: String!) { acknowledgeDnoAlerts(upTo: $u) { lag } }`, { u: newest12 }, ed12);
    const ackedAt = clock.now().toISOString();
    clock.advance(90_000);
    const { dnoDeliveryStatuses } = await gql<{ dnoDeliveryStatuses: Delivery[] }>(DELIVERY);
    expect(dnoDeliveryStatuses).toEqual([
      {
        distributorId: '12',
        newestSequence: newest12,
        acknowledgedSequence: newest12,
        lag: '0',
        acknowledgedAt: ackedAt,
        secondsSinceAcknowledgement: 90,
      },
      {
        distributorId: '14',
        newestSequence: '1',
        acknowledgedSequence: '0',
        lag: '1',
        acknowledgedAt: null,
        secondsSinceAcknowledgement: null,
      },
    ]);
    expect(dno(await status(), '14').delivery).toMatchObject({ lag: '1', secondsSinceAcknowledgement: null });

    const samples = await scrapeMetrics(t);
    expect(metricValue(samples, 'poa_sieve_dno_ack_age_seconds', { distributor_id: '12' })).toBe(90);
    expect(metricValue(samples, 'poa_sieve_dno_ack_age_seconds', { distributor_id: '14' })).toBeUndefined();
    expect(metricValue(samples, 'poa_sieve_dno_outbox_lag', { distributor_id: '14' })).toBe(1);
    expect(metricValue(samples, 'poa_sieve_held_alerts')).toBeUndefined();
    expect(metricValue(samples, 'poa_sieve_verification_requests_last_hour', { status: 'TIMED_OUT' })).toBe(
      1,
    );
  });

  test('a window outside 1 minute to a week, and SKIPPED in verificationRequests, are BAD_USER_INPUT', async () => {
    for (const w of [0, 7 * 24 * 60 + 1]) {
      expectError((await t.gql(STATUS, { w }, operator)).body, 'BAD_USER_INPUT', 'INVALID_WINDOW');
    }
    expectError(
      (await t.gql('{ verificationRequests(status: SKIPPED) { requestId } }', {}, operator)).body,
      'BAD_USER_INPUT',
      'SKIPPED_NOT_IN_STREAM',
    );
  });

  test('only operators: a DNO or a supplier gets FORBIDDEN, no token UNAUTHENTICATED', async () => {
    const ed = await t.token({ role: 'ED', distributorIds: ['12'] });
    const is = await t.token({ role: 'IS', supplierId: SUP });
    for (const query of [STATUS, DELIVERY, PENDING]) {
      for (const token of [ed, is]) {
        const { body } = await t.gql(query, {}, token);
        expectError(body, 'FORBIDDEN');
        expect(body.data ?? null).toBeNull();
      }
      expectError((await t.gql(query, {})).body, 'UNAUTHENTICATED');
    }
  });
});
