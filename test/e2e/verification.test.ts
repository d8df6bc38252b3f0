import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createSchemaValidator } from '../../src/ingest/schema-validator';
import { connected, eventually, startTestApp, subscribe, TestClock } from '../support/app';
import type { TestApp } from '../support/app';
import { evidenceDeadline, expectError, guid, mpan, ok } from '../support/integration';

/**
 * Active verification end to end, through the real HTTP and WebSocket server on a hand-moved
 * clock: a held AD1 whose activation outcome is lost makes the sieve ask the meter (SR 11.2);
 * the DSP adapter reads the request (query and subscription, with its DUIS XML) and brings the
 * answer back (GraphQL mutation or POST /duis with the DUIS response). The target version
 * suppresses, the old version or silence releases. Then the timeline cases that need no
 * question at all: a long cut whose outcome arrives late, and a fault after a cut-free
 * activation. Each scenario has premises of its own and starts three hours after the last.
 */

const SUP = '90-B3-D5-1F-30-01-00-00';
const SENDER = '90-B3-D5-1F-30-00-00-01';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const POLL_MS = 100;
const ENV = { SCHEDULER_POLL_MS: String(POLL_MS), VERIFICATION_SENDER_ID: SENDER };
const LINKED_FROM = '2026-01-01T00:00:00Z';
const OLD_VERSION = '0002012F';
/** The version the GBCS payload of DCC's SR 11.2 sample response reports: our images install it. */
const NEW_VERSION = '00020000';
const SCHEMA_DIR = path.resolve(__dirname, '../../../shared/reference/duis');
const SAMPLE_RESPONSE = fs.readFileSync(
  path.join(SCHEMA_DIR, 'ECS52_11.2_SUCCESS_RESPONSE_DUIS.XML'),
  'utf8',
);

/** A model whose OTA cut lasts at most 3 minutes, and one whose cut may last 15. */
const SHORT_CUT = { model: '010A030B', maxCommsHubOffMinutes: 3 };
const LONG_CUT = { model: '010A030C', maxCommsHubOffMinutes: 15 };
const hashOf = (model: string) =>
  crypto.createHash('sha256').update(`AB01/${model}/${NEW_VERSION}`).digest('hex');
/** Skew (2) + the rule's longest cut + transit (1): when evidence from the premises can first arrive. */

interface Premises {
  readonly esme: string;
  readonly ch: string;
  readonly mpan: string;
  readonly area: string;
  readonly model: string;
}
const premises = (n: number, model = SHORT_CUT.model, esme = guid('DE-00-00-00-00-31', n)): Premises => ({
  esme,
  ch: guid('DE-00-00-00-00-32', n),
  mpan: mpan(12, 7000 + n),
  area: `VERIFY-${n}`,
  model,
});

const P = {
  answered: premises(1),
  // The ESME of DCC's sample response, so its GBCS payload comes from the device asked.
  duis: premises(2, SHORT_CUT.model, 'BC-33-AC-00-FE-FA-55-3C'),
  unanswered: premises(3),
  oldVersion: premises(4),
  stream: Array.from({ length: 12 }, (_, i) => premises(10 + i)),
  longCut: premises(30, LONG_CUT.model),
  narrow: premises(31),
  shutdown: premises(32),
};
const ALL = [P.answered, P.duis, P.unanswered, P.oldVersion, ...P.stream, P.longCut, P.narrow, P.shutdown];

const REQUEST_FIELDS = `sequence requestId serviceRequest deviceGuid alertId attempt status requestedAt timeoutAt
  answeredAt firmwareVersion duisRequest`;
const REQUESTS = `query ($after: String, $first: Int) { verificationRequests(after: $after, first: $first) { ${REQUEST_FIELDS} } }`;
const STREAM = `subscription ($after: String) { verificationRequests(after: $after) { ${REQUEST_FIELDS} } }`;
const ANSWER = `mutation ($i: VerificationAnswerInput!) { recordVerificationAnswer(input: $i) { ${REQUEST_FIELDS} } }`;
const ALERT = `query ($id: ID!) { alert(id: $id) { id outcome decision { reasonCode trigger dueAt evidence }
  decisionHistory { outcome reasonCode trigger } } }`;

interface VerificationRequest {
  sequence: string | null;
  requestId: string;
  serviceRequest: string;
  deviceGuid: string;
  alertId: string;
  attempt: number;
  status: string;
  requestedAt: string;
  timeoutAt: string;
  answeredAt: string | null;
  firmwareVersion: string | null;
  duisRequest: string;
}
interface AlertView {
  id: string;
  outcome: string;
  decision: { reasonCode: string; trigger: string; dueAt: string | null; evidence: Record<string, unknown> };
  decisionHistory: { outcome: string; reasonCode: string; trigger: string }[];
}

const iso = (ms: number) => new Date(ms).toISOString();

describe('active verification: SR 11.2 requests, answers and the timeline', () => {
  const T0 = Date.parse('2026-05-04T10:00:00Z');
  const clock = new TestClock(new Date(T0));
  let t: TestApp;
  let operator: string;
  let supplier: string;
  let counter = 100;
  let scenario = 0;
  const validator = createSchemaValidator(SCHEMA_DIR);

  const at = (instant: number) => {
    expect(instant).toBeGreaterThanOrEqual(clock.now().getTime());
    clock.set(new Date(instant));
  };
  const begin = () => {
    scenario += 1;
    const start = T0 + scenario * 3 * HOUR;
    at(start);
    return start;
  };
  const gql = async <T>(query: string, variables: Record<string, unknown> = {}, token = operator) =>
    ok((await t.gql<T>(query, variables, token)).body);
  const schedule = async (p: Premises, executeAt?: number) =>
    (
      await gql<{ scheduleFirmwareActivation: { requestId: string } }>(
        `mutation ($a: ScheduleFirmwareActivationInput!) { scheduleFirmwareActivation(activation: $a) { requestId } }`,
        {
          a: {
            requestId: `${SUP}:${p.esme}:${counter++}`,
            esmeGuid: p.esme,
            imageHash: hashOf(p.model),
            ...(executeAt === undefined ? {} : { executeAt: iso(executeAt) }),
          },
        },
        supplier,
      )
    ).scheduleFirmwareActivation;
  /** DCC's 0x8F66, as the operator ingests it: the evidence that the activation ran. */
  const outcome = (requestId: string, executedAt: number) =>
    gql(`mutation ($a: [AlertInput!]!) { ingestAlerts(alerts: $a) { activationId } }`, {
      a: [
        {
          activationOutcome: {
            esmeGuid: requestId.split(':')[1],
            alertCode: '8F66',
            requestId,
            outcomeCode: 'success',
            executedAt: iso(executedAt),
            firmwareVersion: NEW_VERSION,
          },
        },
      ],
    });
  const ingest = async (list: { p: Premises; startAt: number }[]) =>
    (
      await gql<{
        ingestAlerts: { alertId: string; outcome: string; reason: string; dueAt: string | null }[];
      }>(`mutation ($a: [AlertInput!]!) { ingestAlerts(alerts: $a) { alertId outcome reason dueAt } }`, {
        a: list.map(({ p, startAt }) => ({
          powerOutage: { commsHubGuid: p.ch, startAt: iso(startAt), mpan: p.mpan },
        })),
      })
    ).ingestAlerts;
  const alert = async (id: string) => (await gql<{ alert: AlertView }>(ALERT, { id })).alert;
  const until = (id: string, outcome: string) =>
    eventually(
      async () => {
        const a = await alert(id);
        return a.outcome === outcome ? a : undefined;
      },
      10_000,
      `alert ${id} to become ${outcome}`,
    );
  const requests = async (after?: string, first = 500) =>
    (await gql<{ verificationRequests: VerificationRequest[] }>(REQUESTS, { after, first }))
      .verificationRequests;
  /** The alert's requests, once there are `count` of them. */
  const requestsOf = (alertId: string, count: number) =>
    eventually(
      async () => {
        const mine = (await requests()).filter((r) => r.alertId === alertId);
        return mine.length >= count ? mine : undefined;
      },
      10_000,
      `${count} verification request(s) for alert ${alertId}`,
    );
  const answer = (requestId: string, answeredAt: number, firmwareVersion: string | null, token = operator) =>
    t.gql<{ recordVerificationAnswer: VerificationRequest }>(
      ANSWER,
      { i: { requestId, answeredAt: iso(answeredAt), firmwareVersion } },
      token,
    );
  /** An activation whose outcome is lost, and its CH's AD1 held until the hub must be back. */
  const lostOutcome = async (p: Premises) => {
    const T = begin();
    await schedule(p);
    at(T + 4 * MINUTE);
    const [held] = await ingest([{ p, startAt: T + MINUTE }]);
    expect(held).toMatchObject({ outcome: 'HELD', reason: 'AWAITING_EVIDENCE' });
    const evidenceAt = evidenceDeadline(T + MINUTE, T + 4 * MINUTE, SHORT_CUT.maxCommsHubOffMinutes);
    expect(Date.parse(held.dueAt!)).toBe(evidenceAt);
    return { T, alertId: held.alertId, evidenceAt };
  };

  beforeAll(async () => {
    t = await startTestApp(ENV, clock);
    operator = await t.token({ role: 'OPERATOR', ttlSeconds: 7 * 24 * 3600 });
    supplier = await t.token({ role: 'IS', supplierId: SUP, ttlSeconds: 7 * 24 * 3600 });
    await gql(`mutation ($d: [DeviceInput!]!) { upsertDevices(devices: $d) { inserted } }`, {
      d: ALL.flatMap((p) => [
        {
          guid: p.esme,
          deviceType: 'ESME',
          importSupplierId: SUP,
          manufacturer: 'AB01',
          model: p.model,
          firmwareVersion: OLD_VERSION,
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
      ]),
    });
    await gql(
      `mutation { ${ALL.map(
        (p, i) =>
          `l${i}: linkCommsHub(commsHubGuid: "${p.ch}", esmeGuid: "${p.esme}", effectiveFrom: "${LINKED_FROM}") { esmeGuid }`,
      ).join('\n')} }`,
    );
    for (const cut of [SHORT_CUT, LONG_CUT]) {
      await gql(`mutation ($i: FirmwareImageInput!) { registerFirmwareImage(image: $i) { id } }`, {
        i: { manufacturer: 'AB01', model: cut.model, version: NEW_VERSION, imageHash: hashOf(cut.model) },
      });
      await gql(`mutation ($r: AffectedFirmwareRuleInput!) { upsertAffectedFirmwareRule(rule: $r) { id } }`, {
        r: {
          name: `cut ${cut.maxCommsHubOffMinutes} min`,
          manufacturer: 'AB01',
          model: cut.model,
          affectedFirmwareVersions: [OLD_VERSION],
          maxCommsHubOffMinutes: cut.maxCommsHubOffMinutes,
        },
      });
    }
  });
  afterAll(() => t?.stop());

  test('a. a lost outcome, answered with the target version through the mutation, is SUPPRESSED', async () => {
    const { alertId, evidenceAt } = await lostOutcome(P.answered);
    at(evidenceAt);
    const [request] = await requestsOf(alertId, 1);
    expect(request).toMatchObject({
      serviceRequest: '11.2',
      deviceGuid: P.answered.esme,
      attempt: 1,
      status: 'PENDING',
      requestedAt: iso(evidenceAt),
      timeoutAt: iso(evidenceAt + 2 * MINUTE),
      answeredAt: null,
      firmwareVersion: null,
    });
    expect(request.sequence).toMatch(/^[1-9][0-9]*$/);
    expect(request.requestId).toMatch(new RegExp(`^${SENDER}:${P.answered.esme}:[0-9]+$`));
    expect((await alert(alertId)).decision.reasonCode).toBe('AWAITING_VERIFICATION');

    // The DUIS document the adapter sends: DCC's SR 11.2 shape, valid against the DUIS schema.
    expect(request.duisRequest).toContain(`<sr:RequestID>${request.requestId}</sr:RequestID>`);
    expect(request.duisRequest).toContain('<sr:ServiceReferenceVariant>11.2</sr:ServiceReferenceVariant>');
    expect(request.duisRequest).toContain('<sr:ReadFirmwareVersion/>');
    expect(await validator.validate(request.duisRequest, 'DUIS')).toEqual({ valid: true, violations: [] });

    at(evidenceAt + MINUTE);
    const answered = ok((await answer(request.requestId, evidenceAt + 30_000, NEW_VERSION)).body);
    expect(answered.recordVerificationAnswer).toMatchObject({
      sequence: request.sequence,
      status: 'ANSWERED',
      answeredAt: iso(evidenceAt + 30_000),
      firmwareVersion: NEW_VERSION,
    });
    // The answer re-decides at once, as evidence.
    const a = await alert(alertId);
    expect(a.outcome).toBe('SUPPRESSED');
    expect(a.decision).toMatchObject({ reasonCode: 'OTA_INDUCED', trigger: 'EVIDENCE' });
    expect(a.decisionHistory.map((d) => d.reasonCode)).toEqual([
      'AWAITING_EVIDENCE',
      'AWAITING_VERIFICATION',
      'OTA_INDUCED',
    ]);

    // The same answer again changes nothing; another answer is a conflict; nobody else may answer.
    ok((await answer(request.requestId, evidenceAt + 30_000, NEW_VERSION)).body);
    expectError((await answer(request.requestId, evidenceAt + 30_000, OLD_VERSION)).body, 'CONFLICT');
    expectError(
      (await answer(`${SENDER}:${P.answered.esme}:999999`, evidenceAt, NEW_VERSION)).body,
      'NOT_FOUND',
    );
    expect((await alert(alertId)).decisionHistory).toHaveLength(3);
  });

  test('a. the same, answered by POST /duis with the DUIS SR 11.2 response', async () => {
    const { alertId, evidenceAt } = await lostOutcome(P.duis);
    at(evidenceAt);
    const [request] = await requestsOf(alertId, 1);
    at(evidenceAt + MINUTE);
    const response = (requestId: string) =>
      SAMPLE_RESPONSE.replace(
        /<sr:RequestID>[^<]*<\/sr:RequestID>/,
        `<sr:RequestID>${requestId}</sr:RequestID>`,
      ).replace(/<sr:ResponseDateTime>[^<]*</, `<sr:ResponseDateTime>${iso(evidenceAt + 40_000)}<`);
    const post = async (body: string, token = operator) => {
      const res = await fetch(`${t.url}/duis`, {
        method: 'POST',
        headers: { 'content-type': 'application/xml', authorization: `Bearer ${token}` },
        body,
      });
      return { status: res.status, body: (await res.json()) as { results?: unknown[]; errors?: unknown[] } };
    };

    // Refused, writing nothing: a malformed payload, a payload from another meter, an unknown
    // request, a supplier.
    const truncated = response(request.requestId).replace(/(<sr:GBCSPayload>)[^<]{20}/, '$1');
    expect(await post(truncated)).toMatchObject({
      status: 400,
      body: { errors: [{ code: 'BAD_USER_INPUT' }] },
    });
    const otherMeter = request.requestId.replace(P.duis.esme, P.answered.esme);
    expect(await post(response(otherMeter))).toMatchObject({
      status: 400,
      body: { errors: [{ code: 'BAD_USER_INPUT', reason: 'DEVICE_MISMATCH' }] },
    });
    const unknown = request.requestId.replace(/:[0-9]+$/, ':999999');
    expect(await post(response(unknown))).toMatchObject({
      status: 404,
      body: { errors: [{ code: 'NOT_FOUND' }] },
    });
    expect(await post(response(request.requestId), supplier)).toMatchObject({
      status: 403,
      body: { errors: [{ code: 'FORBIDDEN' }] },
    });
    expect((await alert(alertId)).outcome).toBe('HELD');

    const accepted = await post(response(request.requestId));
    expect(accepted).toMatchObject({
      status: 200,
      body: {
        results: [
          {
            document: 'SR11.2_RESPONSE',
            kind: 'VERIFICATION_ANSWER',
            requestId: request.requestId,
            status: 'ANSWERED',
            firmwareVersion: NEW_VERSION,
            answeredAt: iso(evidenceAt + 40_000),
          },
        ],
      },
    });
    const a = await alert(alertId);
    expect(a.outcome).toBe('SUPPRESSED');
    expect(a.decision.reasonCode).toBe('OTA_INDUCED');
    // A retry of the same document is safe.
    expect((await post(response(request.requestId))).status).toBe(200);
  });

  test('b. an unanswered verification releases at the bound after three requests (VERIFICATION_UNANSWERED)', async () => {
    const { alertId, evidenceAt } = await lostOutcome(P.unanswered);
    at(evidenceAt);
    const [first] = await requestsOf(alertId, 1);
    expect(first).toMatchObject({ attempt: 1, status: 'PENDING' });

    at(evidenceAt + 2 * MINUTE);
    const both = await requestsOf(alertId, 2);
    expect(both.map((r) => [r.attempt, r.status, r.requestedAt])).toEqual([
      [1, 'TIMED_OUT', iso(evidenceAt)],
      [2, 'PENDING', iso(evidenceAt + 2 * MINUTE)],
    ]);
    expect(BigInt(both[1].sequence!)).toBeGreaterThan(BigInt(both[0].sequence!));
    expect((await alert(alertId)).outcome).toBe('HELD');

    at(evidenceAt + 4 * MINUTE);
    const three = await requestsOf(alertId, 3);
    expect(three.map((r) => [r.attempt, r.status])).toEqual([
      [1, 'TIMED_OUT'],
      [2, 'TIMED_OUT'],
      [3, 'PENDING'],
    ]);
    expect((await alert(alertId)).outcome).toBe('HELD');

    at(evidenceAt + 6 * MINUTE);
    const released = await until(alertId, 'RELEASED');
    expect(released.decision).toMatchObject({ reasonCode: 'VERIFICATION_UNANSWERED', trigger: 'TIMER' });
    expect((await requests()).filter((r) => r.alertId === alertId)).toHaveLength(3);
  });

  test('c. an answer with the old version releases (VERIFICATION_NOT_ACTIVATED)', async () => {
    const { alertId, evidenceAt } = await lostOutcome(P.oldVersion);
    at(evidenceAt);
    const [request] = await requestsOf(alertId, 1);
    at(evidenceAt + MINUTE);
    ok((await answer(request.requestId, evidenceAt + MINUTE, OLD_VERSION)).body);
    const a = await alert(alertId);
    expect(a.outcome).toBe('RELEASED');
    expect(a.decision).toMatchObject({ reasonCode: 'VERIFICATION_NOT_ACTIVATED', trigger: 'EVIDENCE' });
  });

  test('d. the stream replays from a cursor, then follows, with no gap and no duplicate', async () => {
    const [first, second] = [P.stream.slice(0, 5), P.stream.slice(5)];
    /** Lost outcomes whose AD1s arrive after their hub must be back: asked at ingest. */
    const ask = async (list: readonly Premises[]) => {
      const T = begin();
      for (const p of list) await schedule(p);
      // Received once the hubs must be back (the skew no longer counts by then).
      at(T + MINUTE + (2 + SHORT_CUT.maxCommsHubOffMinutes + 1) * MINUTE);
      const held = await ingest(list.map((p) => ({ p, startAt: T + MINUTE })));
      expect(held.map((h) => h.reason)).toEqual(list.map(() => 'AWAITING_VERIFICATION'));
      return held;
    };

    const client = t.ws(operator);
    await connected(client);
    // No `after`: from the current head, so only requests made from now on.
    const live = subscribe<{ verificationRequests: VerificationRequest }>(client, STREAM);
    // The subscription reads its head before the first ingest below: wait until it is open.
    await eventually(async () => (t.app.services.verificationFeed.openStreams > 0 ? true : undefined));
    await ask(first);
    const got = (await live.waitFor(5)).map((e) => e.verificationRequests);
    expect(got.map((r) => r.deviceGuid).sort()).toEqual(first.map((p) => p.esme).sort());
    const last = got[got.length - 1].sequence!;
    for (let i = 1; i < got.length; i++) {
      expect(BigInt(got[i].sequence!)).toBe(BigInt(got[i - 1].sequence!) + 1n);
    }
    live.dispose();
    await client.dispose();
    // Unsubscribing ends the reader at once, without waiting for a poll.
    await eventually(
      async () => (t.app.services.verificationFeed.openStreams === 0 ? true : undefined),
      2000,
    );

    // Answer them, so none is asked again while the clock moves on.
    for (const r of got) ok((await answer(r.requestId, clock.now().getTime(), NEW_VERSION)).body);
    await ask(second);
    const expected = await requests(last);
    expect(expected.map((r) => r.deviceGuid).sort()).toEqual(second.map((p) => p.esme).sort());

    const again = t.ws(operator);
    const resumed = subscribe<{ verificationRequests: VerificationRequest }>(again, STREAM, { after: last });
    const rest = (await resumed.waitFor(expected.length)).map((e) => e.verificationRequests);
    expect(rest.map((r) => r.sequence)).toEqual(expected.map((r) => r.sequence));
    expect(BigInt(rest[0].sequence!)).toBe(BigInt(last) + 1n);
    for (let i = 1; i < rest.length; i++)
      expect(BigInt(rest[i].sequence!)).toBe(BigInt(rest[i - 1].sequence!) + 1n);
    // Nothing more: a few polls later the stream still holds exactly those.
    await new Promise((r) => setTimeout(r, 5 * POLL_MS));
    expect(resumed.events).toHaveLength(expected.length);
    resumed.dispose();

    // Paging the query crosses every sequence in order (9 before 10), a page at a time.
    const all = await requests();
    const paged: VerificationRequest[] = [];
    for (let cursor = '0'; ;) {
      const page = await requests(cursor, 4);
      if (page.length === 0) break;
      paged.push(...page);
      cursor = page[page.length - 1].sequence!;
    }
    expect(all.length).toBeGreaterThanOrEqual(12);
    expect(paged.map((r) => r.sequence)).toEqual(all.map((r) => r.sequence));
    expect(all.map((r) => Number(r.sequence))).toEqual(all.map((_, i) => i + 1));
  });

  test('cursors and page sizes are checked: BAD_USER_INPUT over HTTP and WebSocket', async () => {
    for (const after of ['abc', '-1', '01', '1.5', '12345678901234567890', '9223372036854775808']) {
      expectError((await t.gql(REQUESTS, { after }, operator)).body, 'BAD_USER_INPUT');
    }
    expect((await requests('9223372036854775807')).length).toBe(0);
    expectError((await t.gql(REQUESTS, { first: 501 }, operator)).body, 'BAD_USER_INPUT');
    expectError((await t.gql(REQUESTS, { first: 0 }, operator)).body, 'BAD_USER_INPUT');
    const sub = subscribe(t.ws(operator), STREAM, { after: 'x' });
    await eventually(async () => (sub.error ? true : undefined));
    expect((sub.error as { extensions?: { code?: string } }[])[0].extensions?.code).toBe('BAD_USER_INPUT');
  });

  test('ED, IS, GS and anonymous callers may not read, follow or answer verification requests', async () => {
    const tokens = {
      ED: await t.token({ role: 'ED', distributorIds: ['12'] }),
      IS: await t.token({ role: 'IS', supplierId: SUP }),
      GS: await t.token({ role: 'GS', supplierId: '90-B3-D5-1F-30-0B-00-00' }),
    };
    const [request] = await requests(undefined, 1);
    for (const [role, token] of [...Object.entries(tokens), ['ANON', undefined] as const]) {
      const code = role === 'ANON' ? 'UNAUTHENTICATED' : 'FORBIDDEN';
      expectError((await t.gql(REQUESTS, {}, token)).body, code);
      const input = {
        requestId: request.requestId,
        answeredAt: request.requestedAt,
        firmwareVersion: NEW_VERSION,
      };
      expectError((await t.gql(ANSWER, { i: input }, token)).body, code);
      if (token) {
        const sub = subscribe(t.ws(token), STREAM);
        await eventually(async () => (sub.error ? true : undefined));
        expect((sub.error as { extensions?: { code?: string } }[])[0].extensions?.code).toBe('FORBIDDEN');
      }
    }
  });

  test('e. a long OTA cut whose outcome arrives 12 minutes after the AD1 start is SUPPRESSED', async () => {
    const T = begin();
    const p = P.longCut;
    const act = await schedule(p, T + MINUTE);
    const startAt = T + MINUTE + 30_000;
    at(T + 5 * MINUTE);
    const [held] = await ingest([{ p, startAt }]);
    const evidenceAt = evidenceDeadline(startAt, T + 5 * MINUTE, LONG_CUT.maxCommsHubOffMinutes);
    expect(held).toMatchObject({ outcome: 'HELD', reason: 'AWAITING_EVIDENCE', dueAt: iso(evidenceAt) });

    at(startAt + 12 * MINUTE);
    await outcome(act.requestId, T + MINUTE);
    // Confirmed, but held until the bound so a restore or a cluster could still release it.
    expect((await alert(held.alertId)).outcome).toBe('HELD');

    at(evidenceAt);
    const a = await until(held.alertId, 'SUPPRESSED');
    expect(a.decision.reasonCode).toBe('OTA_INDUCED');
    // The outcome answered the question: the meter was never asked.
    expect((await requests()).filter((r) => r.alertId === held.alertId)).toEqual([]);
  });

  test('f. a genuine fault 15 minutes after a cut-free activation with a known outcome is DELIVERED at once', async () => {
    const T = begin();
    const p = P.narrow;
    const act = await schedule(p);
    at(T + MINUTE);
    await outcome(act.requestId, T);
    at(T + 18 * MINUTE);
    const [r] = await ingest([{ p, startAt: T + 15 * MINUTE }]);
    expect(r).toMatchObject({ outcome: 'DELIVERED', reason: 'NO_ACTIVATION_WINDOW', dueAt: null });
  });

  test('server shutdown ends open verification streams', async () => {
    const client = t.ws(operator);
    await connected(client);
    const sub = subscribe(client, STREAM);
    await eventually(async () => (t.app.services.verificationFeed.openStreams > 0 ? true : undefined));
    await t.app.stop();
    expect(t.app.services.verificationFeed.openStreams).toBe(0);
    expect(sub.events).toEqual([]);
  });
});
