import crypto from 'node:crypto';
import path from 'node:path';
import { connected, eventually, startTestApp, subscribe, TestClock } from '../support/app';
import type { TestApp } from '../support/app';
import { firmwareActivationAlert, powerOutageAlert, supplyRestoredAlert } from '../support/duis-payloads';
import { installAffectedRule, installPremises } from '../support/fleet-setup';
import { guid, mpan, ok } from '../support/integration';

/**
 * Late evidence end to end, through the public API and POST /duis on a hand-moved clock, with
 * the physics of docs/ENGINE.md ("Late evidence"): a genuine outage spans an activation's
 * requested time, so the meter runs it when supply returns and cuts its hub again; its outcome
 * arrives after that second cut, or after the second cut was already delivered (and is then
 * withdrawn, on the DNO's stream, which a subscriber resumes from its cursor); a campaign in one
 * area is not taken for a feeder fault; and a hub and meter whose clocks are 6 minutes apart get
 * the narrow window right once each has sent a message.
 */

const SUP = '90-B3-D5-1F-30-01-00-00';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const SEC = 1000;
const LINKED_FROM = '2026-01-01T00:00:00Z';
const SCHEMA_DIR = path.resolve(__dirname, '../../../shared/reference/duis');
const IMAGE_HASH = crypto.createHash('sha256').update('AB01/010A030B/00020130').digest('hex');
const AFFECTED_MODEL = '010A030B';
const FLEET = {
  supplierId: SUP,
  manufacturer: 'AB01',
  model: AFFECTED_MODEL,
  firmwareVersion: '0002012F',
  since: LINKED_FROM,
};

interface Premises {
  readonly esme: string;
  readonly ch: string;
  readonly mpan: string;
  readonly area: string;
  readonly model: string;
}
const premises = (n: number, area: string, model = AFFECTED_MODEL): Premises => ({
  esme: guid('DE-00-00-00-00-31', n),
  ch: guid('DE-00-00-00-00-32', n),
  mpan: mpan(12, 3100 + n),
  area,
  model,
});

const P = {
  withdrawn: premises(1, 'LATE-A'),
  suppressed: premises(2, 'LATE-B'),
  duis: premises(3, 'LATE-C'),
  clocks: premises(4, 'LATE-D'),
  clocksUnknown: premises(5, 'LATE-E'),
  campaign: [1, 2, 3, 4].map((i) => premises(10 + i, 'LATE-F')),
  feeder: [1, 2, 3].map((i) => premises(20 + i, 'LATE-F', '0F0F0F0F')),
};
const ALL = [P.withdrawn, P.suppressed, P.duis, P.clocks, P.clocksUnknown, ...P.campaign, ...P.feeder];

const INGEST = `mutation ($a: [AlertInput!]!) {
  ingestAlerts(alerts: $a) { index kind alertId activationId outcome reason dueAt }
}`;
const ALERT = `query ($id: ID!) { alert(id: $id) {
  id outcome decision { outcomeReason: reasonCode evidence } decisionHistory { outcome reasonCode trigger } } }`;
const EXPLAIN = `query ($id: ID!) { explainAlert(id: $id) { lines } }`;
const SCHEDULE = `mutation ($a: ScheduleFirmwareActivationInput!) {
  scheduleFirmwareActivation(activation: $a) { id requestId status } }`;
const STREAM = `subscription ($after: String) { dnoAlerts(after: $after) {
  sequence kind alert { id } decision { outcome reasonCode late } otaInduced { activationRequestId actualExecutedAt } } }`;

interface IngestResult {
  kind: string;
  alertId: string | null;
  activationId: string | null;
  outcome: string | null;
  reason: string | null;
}
interface AlertView {
  id: string;
  outcome: string;
  decision: { outcomeReason: string; evidence: { window?: Record<string, unknown> } } | null;
  decisionHistory: { outcome: string; reasonCode: string; trigger: string }[];
}
interface StreamEvent {
  dnoAlerts: {
    sequence: string;
    kind: string;
    alert: { id: string };
    decision: { outcome: string; reasonCode: string; late: boolean };
    otaInduced: { activationRequestId: string | null; actualExecutedAt: string | null } | null;
  };
}

const iso = (ms: number) => new Date(ms).toISOString();
const ad1 = (p: Premises, startAt: number) => ({
  powerOutage: { commsHubGuid: p.ch, startAt: iso(startAt), mpan: p.mpan },
});
const restore = (p: Premises, interruptionAt: number, restorationAt: number) => ({
  supplyRestored: {
    esmeGuid: p.esme,
    alertCode: '8F36',
    interruptionAt: iso(interruptionAt),
    restorationAt: iso(restorationAt),
  },
});
const outcome = (p: Premises, requestId: string, executedAt: number) => ({
  activationOutcome: {
    esmeGuid: p.esme,
    alertCode: '8F66',
    requestId,
    outcomeCode: 'success',
    executedAt: iso(executedAt),
    firmwareVersion: '00020130',
  },
});

describe('late evidence: deferred runs, corrections on the stream, clusters and clocks', () => {
  const T0 = Date.parse('2026-03-02T10:00:00Z');
  const clock = new TestClock(new Date(T0));
  let t: TestApp;
  let operator: string;
  let supplier: string;
  let dno: string;
  let counter = 7000;
  let scenario = 0;

  /** The start of the next scenario: a day after the previous one, so none reaches another. */
  const begin = () => {
    scenario += 1;
    const start = T0 + scenario * 24 * HOUR;
    at(start);
    return start;
  };
  const at = (instant: number) => {
    expect(instant).toBeGreaterThanOrEqual(clock.now().getTime());
    clock.set(new Date(instant));
  };
  const ingest = async (alerts: unknown[]) =>
    ok((await t.gql<{ ingestAlerts: IngestResult[] }>(INGEST, { a: alerts }, operator)).body).ingestAlerts;
  const alert = async (id: string) =>
    ok((await t.gql<{ alert: AlertView }>(ALERT, { id }, operator)).body).alert;
  const until = (id: string, outcome: string, reason?: string) =>
    eventually(
      async () => {
        const a = await alert(id);
        return a.outcome === outcome && (!reason || a.decision?.outcomeReason === reason) ? a : undefined;
      },
      10_000,
      `alert ${id} to become ${outcome} ${reason ?? ''}`,
    );
  const schedule = async (p: Premises, executeAt: number) => {
    const a = {
      requestId: `${SUP}:${p.esme}:${counter++}`,
      esmeGuid: p.esme,
      imageHash: IMAGE_HASH,
      executeAt: iso(executeAt),
    };
    const done = ok(
      (await t.gql<{ scheduleFirmwareActivation: { requestId: string } }>(SCHEDULE, { a }, supplier)).body,
    ).scheduleFirmwareActivation;
    return { requestId: done.requestId };
  };
  const postDuis = async (xml: string) => {
    const res = await fetch(`${t.url}/duis`, {
      method: 'POST',
      headers: { 'content-type': 'application/xml', authorization: `Bearer ${operator}` },
      body: xml,
    });
    const body = (await res.json()) as {
      results?: { alertId?: string | null; outcome?: string | null }[];
      errors?: unknown;
    };
    expect({ status: res.status, errors: body.errors }).toEqual({ status: 200, errors: undefined });
    return body.results![0];
  };
  /** Lets the scheduler run the timers due by `instant`, then waits for the alert to settle there. */
  /** Waits until the meter behind an alert has been asked `attempts` times (SR 11.2). */
  const asked = (alertId: string, attempts: number) =>
    eventually(
      async () => {
        const { verificationRequests } = ok(
          (
            await t.gql<{ verificationRequests: { alertId: string; attempt: number }[] }>(
              '{ verificationRequests { alertId attempt } }',
              {},
              operator,
            )
          ).body,
        );
        return verificationRequests.some((r) => r.alertId === alertId && r.attempt === attempts) || undefined;
      },
      10_000,
      `attempt ${attempts} to read the meter of alert ${alertId}`,
    );
  const runTo = async (instant: number, id: string, outcome: string, reason?: string) => {
    at(instant);
    return until(id, outcome, reason);
  };
  const newest = async () =>
    ok(
      (
        await t.gql<{ dnoDeliveryStatus: { newestSequence: string } }>(
          '{ dnoDeliveryStatus { newestSequence } }',
          {},
          dno,
        )
      ).body,
    ).dnoDeliveryStatus.newestSequence;

  beforeAll(async () => {
    t = await startTestApp({ SCHEDULER_POLL_MS: '50', DUIS_SCHEMA_DIR: SCHEMA_DIR }, clock);
    const ttlSeconds = 30 * 24 * 3600;
    operator = await t.token({ role: 'OPERATOR', ttlSeconds });
    supplier = await t.token({ role: 'IS', supplierId: SUP, ttlSeconds });
    dno = await t.token({ role: 'ED', distributorIds: ['12'], ttlSeconds });
    await installPremises(t, operator, FLEET, ALL);
    await installAffectedRule(
      t,
      operator,
      FLEET,
      { version: '00020130', imageHash: IMAGE_HASH },
      { name: 'E470' },
    );
  });
  afterAll(() => t?.stop());

  test('a second cut delivered before its late outcome is withdrawn, and a subscriber that resumes from its cursor gets the withdrawal', async () => {
    const T = begin();
    const p = P.withdrawn;
    const act = await schedule(p, T + HOUR);
    const client = t.ws(dno);
    const first = subscribe<StreamEvent>(client, STREAM, { after: await newest() });
    await connected(client);

    // A genuine outage from T+30 min: the meter has no mains at its requested time (T+60).
    at(T + 33.5 * MINUTE);
    const [genuine] = await ingest([ad1(p, T + 30 * MINUTE)]);
    expect(genuine).toMatchObject({ outcome: 'DELIVERED', reason: 'NO_ACTIVATION_WINDOW' });

    // Supply returns at T+3 h; the meter runs the activation and its hub is dark again at +15 s.
    // The hub's second AD1 is a candidate on the outage it followed, and is held.
    const cut = T + 3 * HOUR + 15 * SEC;
    at(cut + 3.5 * MINUTE);
    const [second] = await ingest([ad1(p, cut)]);
    expect(second).toMatchObject({ outcome: 'HELD', reason: 'AWAITING_EVIDENCE' });
    expect((await alert(second.alertId!)).decision!.evidence.window).toMatchObject({
      timing: 'DEFERRED_OUTAGE',
    });

    // The hub is back after 11 min; the meter's restore arrives, but its outcome is lost, and so
    // are all three reads of the meter: the second cut is released as a genuine outage.
    at(cut + 12 * MINUTE);
    await ingest([restore(p, T + 30 * MINUTE, T + 3 * HOUR)]);
    expect((await alert(second.alertId!)).decision!.evidence.window).toMatchObject({
      timing: 'DEFERRED_RESTORE',
    });
    await runTo(cut + 18 * MINUTE, second.alertId!, 'HELD', 'AWAITING_VERIFICATION');
    await asked(second.alertId!, 1);
    at(cut + 20 * MINUTE);
    await asked(second.alertId!, 2);
    at(cut + 22 * MINUTE);
    await asked(second.alertId!, 3);
    await runTo(cut + 24 * MINUTE, second.alertId!, 'RELEASED', 'VERIFICATION_UNANSWERED');

    const seen = await first.waitFor(3);
    expect(seen.map((e) => [e.dnoAlerts.kind, e.dnoAlerts.alert.id])).toEqual([
      ['AD1', genuine.alertId],
      ['SUPPLY_RESTORED', expect.any(String)],
      ['AD1', second.alertId],
    ]);
    const cursor = seen[2].dnoAlerts.sequence;
    first.dispose();

    // DCC's outcome arrives late: executed at restoration + 5 s, which puts the second cut in
    // its narrow window. The delivery is withdrawn while the DNO is away.
    at(cut + 40 * MINUTE);
    const [o] = await ingest([outcome(p, act.requestId, T + 3 * HOUR + 5 * SEC)]);
    expect(o).toMatchObject({ kind: 'ACTIVATION_OUTCOME' });
    const withdrawn = await until(second.alertId!, 'SUPPRESSED', 'OTA_INDUCED');
    expect(withdrawn.decisionHistory.at(-1)).toMatchObject({ outcome: 'SUPPRESSED', trigger: 'EVIDENCE' });
    expect((await alert(genuine.alertId!)).outcome).toBe('DELIVERED');

    const resumed = subscribe<StreamEvent>(t.ws(dno), STREAM, { after: cursor });
    const [correction] = await resumed.waitFor(1);
    expect(correction.dnoAlerts).toMatchObject({
      kind: 'WITHDRAWN',
      alert: { id: second.alertId },
      decision: { outcome: 'SUPPRESSED', reasonCode: 'OTA_INDUCED' },
      otaInduced: { activationRequestId: act.requestId, actualExecutedAt: iso(T + 3 * HOUR + 5 * SEC) },
    });
    expect(BigInt(correction.dnoAlerts.sequence)).toBeGreaterThan(BigInt(cursor));
    resumed.dispose();
  });

  test('the same deferred run whose outcome arrives during the hold is suppressed, never delivered', async () => {
    const T = begin();
    const p = P.suppressed;
    const act = await schedule(p, T + HOUR);
    at(T + 33.5 * MINUTE);
    await ingest([ad1(p, T + 30 * MINUTE)]);
    const cut = T + 3 * HOUR + 15 * SEC;
    at(cut + 3.5 * MINUTE);
    const [second] = await ingest([ad1(p, cut)]);
    expect(second.outcome).toBe('HELD');
    at(cut + 11 * MINUTE);
    await ingest([
      restore(p, T + 30 * MINUTE, T + 3 * HOUR),
      outcome(p, act.requestId, T + 3 * HOUR + 5 * SEC),
    ]);
    const done = await runTo(cut + 18 * MINUTE, second.alertId!, 'SUPPRESSED', 'OTA_INDUCED');
    expect(done.decisionHistory.map((d) => d.outcome)).not.toContain('DELIVERED');
    const lines = ok(
      (await t.gql<{ explainAlert: { lines: string[] } }>(EXPLAIN, { id: second.alertId }, operator)).body,
    ).explainAlert.lines.join('\n');
    expect(lines).toContain('actual execution time');
  });

  test('over POST /duis: AD1s, the 0x8F36 and the late 0x8F66 as DCC sends them end suppressed', async () => {
    const T = begin();
    const p = P.duis;
    const act = await schedule(p, T + HOUR);
    at(T + 33 * MINUTE);
    // DCC's documents as the DSP adapter posts them (test/support/duis-payloads.ts).
    const ad1Xml = (startAt: number) =>
      powerOutageAlert({ commsHubGuid: p.ch, mpan: p.mpan, startAt: new Date(startAt) });
    const genuine = await postDuis(ad1Xml(T + 30 * MINUTE));
    expect(genuine.outcome).toBe('DELIVERED');
    const cut = T + 3 * HOUR + 15 * SEC;
    at(cut + 3 * MINUTE);
    const second = await postDuis(ad1Xml(cut));
    expect(second.outcome).toBe('HELD');
    at(cut + 11 * MINUTE);
    await postDuis(
      supplyRestoredAlert({
        esmeGuid: p.esme,
        interruptionAt: new Date(T + 30 * MINUTE),
        restorationAt: new Date(T + 3 * HOUR),
      }),
    );
    await postDuis(
      firmwareActivationAlert({
        requestId: act.requestId,
        alertCode: '8F66',
        executedAt: new Date(T + 3 * HOUR + 5 * SEC),
        firmwareVersion: '00020130',
      }),
    );
    await runTo(cut + 18 * MINUTE, second.alertId!, 'SUPPRESSED', 'OTA_INDUCED');
    expect((await alert(genuine.alertId!)).outcome).toBe('DELIVERED');
  });

  test('a campaign that cuts several hubs of one area at once is not released as a feeder fault', async () => {
    const T = begin();
    const acts: { requestId: string }[] = [];
    for (const p of P.campaign) acts.push(await schedule(p, T + HOUR));
    const cut = T + HOUR + 10 * SEC;
    at(cut + 3.5 * MINUTE);
    // Three other premises of the area (a model no rule covers) go dark in the same minutes.
    const all = await ingest([
      ...P.campaign.map((p) => ad1(p, cut)),
      ...P.feeder.map((p, i) => ad1(p, cut + i * 20 * SEC)),
    ]);
    const campaign = all.slice(0, P.campaign.length);
    expect(all.slice(P.campaign.length).map((r) => r.outcome)).toEqual([
      'DELIVERED',
      'DELIVERED',
      'DELIVERED',
    ]);
    expect(campaign.map((r) => r.outcome)).toEqual(['HELD', 'HELD', 'HELD', 'HELD']);
    at(cut + 12 * MINUTE);
    await ingest(P.campaign.map((p, i) => outcome(p, acts[i].requestId, T + HOUR)));
    for (const r of campaign) {
      const done = await runTo(cut + 18 * MINUTE, r.alertId!, 'SUPPRESSED', 'OTA_INDUCED');
      expect(done.decision!.evidence).toMatchObject({ cluster: { found: true } });
    }
  });

  test('a hub and meter whose clocks are 6 minutes apart get the narrow window right once each has sent a message', async () => {
    const T = begin() + 2 * HOUR;
    const HUB = -3 * MINUTE; // the hub runs 3 minutes slow
    const METER = 3 * MINUTE; // the meter 3 minutes fast
    const history = async (p: Premises) => {
      // A short genuine outage an hour before: the hub's AD1 and the meter's restore.
      const start = T - HOUR;
      await ingest([ad1(p, start + HUB), restore(p, start + METER, start + 8 * MINUTE + METER)]);
    };
    at(T - HOUR + 9 * MINUTE);
    await history(P.clocks);
    const known = await schedule(P.clocks, T + HOUR);
    const unknown = await schedule(P.clocksUnknown, T + HOUR);

    // Each meter runs the activation when its own clock reads T+60 (true T+58); the hub goes dark
    // 10 s later and stamps the outage with its slow clock: 5 min 50 s before the requested time.
    const trueCut = T + HOUR - METER + 10 * SEC;
    at(trueCut + 3.5 * MINUTE);
    const [a, b] = await ingest([ad1(P.clocks, trueCut + HUB), ad1(P.clocksUnknown, trueCut + HUB)]);
    expect(a.outcome).toBe('HELD');
    expect(b.outcome).toBe('HELD');
    at(trueCut + 12 * MINUTE);
    await ingest([
      outcome(P.clocks, known.requestId, T + HOUR + 2 * SEC),
      outcome(P.clocksUnknown, unknown.requestId, T + HOUR + 2 * SEC),
    ]);
    const evidenceAt = trueCut + HUB + 18 * MINUTE;
    const done = await runTo(evidenceAt + MINUTE, a.alertId!, 'SUPPRESSED', 'OTA_INDUCED');
    expect(done.decision!.evidence.window).toMatchObject({ timing: 'EXECUTED', clockUnsure: false });
    const lines = ok(
      (await t.gql<{ explainAlert: { lines: string[] } }>(EXPLAIN, { id: a.alertId }, operator)).body,
    ).explainAlert.lines.join('\n');
    expect(lines).toMatch(/Clock offsets used: hub -1\d\d s/);

    // The meter with no history: only an unknown clock puts the outage in the window, so it is
    // asked rather than trusted.
    const asked = await until(b.alertId!, 'HELD', 'AWAITING_VERIFICATION');
    expect(asked.decision!.evidence.window).toMatchObject({ clockUnsure: true });
  });
});
