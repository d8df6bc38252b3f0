import crypto from 'node:crypto';
import { eventually, startTestApp, TestClock } from '../support/app';
import type { TestApp } from '../support/app';
import { expectError, guid, mpan, ok, rowCounts } from '../support/integration';

/**
 * A supplier's word is a claim. A supplier reporting its own activation's outcome
 * (recordActivationOutcome as IS/GS) could once move the activation to SUCCEEDED and re-anchor its
 * window on any execution time it liked, and so have a genuine outage withheld from the DNO. Now
 * only DCC's outcome (0x8F66/0x8F67 or the SR11.3 response, ingested by the operator) moves an
 * activation; a supplier's is kept beside it as a claim (`FirmwareActivation.claims`), visible to
 * whoever may see the activation, and decides nothing. Every outcome, evidence or claim, must
 * have an execution time its request could have had (EXECUTED_AT_OUT_OF_RANGE, nothing written).
 */

const SUP = '90-B3-D5-1F-30-01-00-00';
const OTHER_SUP = '90-B3-D5-1F-30-02-00-00';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const LINKED_FROM = '2026-01-01T00:00:00Z';
const T0 = Date.parse('2026-03-02T10:00:00Z');
const IMAGE_HASH = crypto.createHash('sha256').update('AB01/010A030B/00020130').digest('hex');

interface Premises {
  readonly esme: string;
  readonly ch: string;
  readonly mpan: string;
}
const premises = (n: number): Premises => ({
  esme: guid('DF-00-00-00-00-01', n),
  ch: guid('DF-00-00-00-00-02', n),
  mpan: mpan(12, 7700 + n),
});
const P = { scheduled: premises(1), unknown: premises(2), visible: premises(3), range: premises(4) };
const PLAIN = premises(9); // no activation: its AD1s are delivered at once

const CLAIM = 'supplierId outcomeCode executedAt firmwareVersion receivedAt';
const FIELDS = `id requestId status actualExecutedAt outcomeCode resultingFirmwareVersion
  window { from to anchoredOnActual } claims { ${CLAIM} }`;
const SCHEDULE = `mutation ($a: ScheduleFirmwareActivationInput!) { scheduleFirmwareActivation(activation: $a) { ${FIELDS} } }`;
const OUTCOME = `mutation ($o: ActivationOutcomeInput!) { recordActivationOutcome(outcome: $o) { ${FIELDS} } }`;
const ACTIVATION = `query ($id: ID!) { activation(id: $id) { ${FIELDS} } }`;
const INGEST = `mutation ($a: [AlertInput!]!) { ingestAlerts(alerts: $a) { index kind alertId activationId outcome reason } }`;
const ALERT = `query ($id: ID!) { alert(id: $id) { outcome decisionHistory { outcome reasonCode } } }`;
const DEVICE_FW = `query ($g: EUI64!) { device(guid: $g) { firmwareVersion firmwareHistory { firmwareVersion } } }`;

interface Claim {
  supplierId: string;
  outcomeCode: string;
  executedAt: string;
  firmwareVersion: string | null;
  receivedAt: string;
}
interface Activation {
  id: string;
  requestId: string;
  status: string;
  actualExecutedAt: string | null;
  outcomeCode: string | null;
  resultingFirmwareVersion: string | null;
  window: { from: string; to: string; anchoredOnActual: boolean } | null;
  claims: Claim[];
}
interface IngestResult {
  index: number;
  kind: string;
  alertId: string | null;
  activationId: string | null;
  outcome: string | null;
  reason: string | null;
}

const iso = (ms: number) => new Date(ms).toISOString();
const ad1 = (p: Premises, startAt: number) => ({
  powerOutage: { commsHubGuid: p.ch, startAt: iso(startAt), mpan: p.mpan },
});
/** DCC's 0x8F66 for an activation of `p`. */
const dccOutcome = (p: Premises, requestId: string, executedAt: number) => ({
  activationOutcome: {
    esmeGuid: p.esme,
    alertCode: '8F66',
    requestId,
    outcomeCode: 'success',
    executedAt: iso(executedAt),
    firmwareVersion: '00020130',
  },
});

describe("a supplier's outcome is a claim; only DCC's outcome is evidence", () => {
  const clock = new TestClock(new Date(T0));
  let t: TestApp;
  const tokens = { operator: '', supplier: '', other: '', ed12: '', ed14: '' };
  let counter = 1;
  let scenario = 0;
  /** The start of the next scenario: three hours after the previous one (the clock only moves on). */
  const begin = () => {
    scenario += 1;
    const start = T0 + scenario * 3 * HOUR;
    clock.set(new Date(start));
    return start;
  };

  const gql = async <T>(query: string, variables: Record<string, unknown>, token = tokens.operator) =>
    ok((await t.gql<T>(query, variables, token)).body);
  const schedule = async (p: Premises, executeAt?: number) =>
    (
      await gql<{ scheduleFirmwareActivation: Activation }>(
        SCHEDULE,
        {
          a: {
            requestId: `${SUP}:${p.esme}:${counter++}`,
            esmeGuid: p.esme,
            imageHash: IMAGE_HASH,
            ...(executeAt === undefined ? {} : { executeAt: iso(executeAt) }),
          },
        },
        tokens.supplier,
      )
    ).scheduleFirmwareActivation;
  const claimRaw = (requestId: string, executedAt: number, firmwareVersion: string | null = '00020130') =>
    t.gql<{ recordActivationOutcome: Activation }>(
      OUTCOME,
      { o: { requestId, outcomeCode: 'success', executedAt: iso(executedAt), firmwareVersion } },
      tokens.supplier,
    );
  const claim = async (requestId: string, executedAt: number, firmwareVersion?: string | null) =>
    ok((await claimRaw(requestId, executedAt, firmwareVersion)).body).recordActivationOutcome;
  const activation = async (id: string, token = tokens.operator) =>
    (await gql<{ activation: Activation | null }>(ACTIVATION, { id }, token)).activation;
  const ingest = async (alerts: unknown[]) =>
    (await gql<{ ingestAlerts: IngestResult[] }>(INGEST, { a: alerts })).ingestAlerts;
  const alert = async (id: string) =>
    (
      await gql<{ alert: { outcome: string; decisionHistory: { outcome: string; reasonCode: string }[] } }>(
        ALERT,
        { id },
      )
    ).alert;
  const explain = async (id: string) =>
    (
      await gql<{ explainAlert: { lines: string[] } }>(
        `query ($id: ID!) { explainAlert(id: $id) { lines } }`,
        { id },
      )
    ).explainAlert.lines;
  /** Polls until the alert's current outcome is `outcome` (the hold timer runs on the server). */
  const until = (id: string, outcome: string) =>
    eventually(
      async () => {
        const a = await alert(id);
        return a.outcome === outcome ? a : undefined;
      },
      10_000,
      `alert ${id} to become ${outcome}`,
    );
  const firmware = async (p: Premises) =>
    (
      await gql<{ device: { firmwareVersion: string; firmwareHistory: { firmwareVersion: string }[] } }>(
        DEVICE_FW,
        { g: p.esme },
      )
    ).device;
  /** The activation as it stands, without its claims (what evidence decides). */
  const withoutClaims = ({ claims: _claims, ...rest }: Activation) => rest;

  beforeAll(async () => {
    // Without verification reads, a held AD1 no evidence confirms is released at its evidence bound.
    t = await startTestApp({ SCHEDULER_POLL_MS: '100', VERIFICATION_ENABLED: 'false' }, clock);
    const ttlSeconds = 7 * 24 * 3600;
    tokens.operator = await t.token({ role: 'OPERATOR', ttlSeconds });
    tokens.supplier = await t.token({ role: 'IS', supplierId: SUP, ttlSeconds });
    tokens.other = await t.token({ role: 'GS', supplierId: OTHER_SUP, ttlSeconds });
    tokens.ed12 = await t.token({ role: 'ED', distributorIds: ['12'], ttlSeconds });
    tokens.ed14 = await t.token({ role: 'ED', distributorIds: ['14'], ttlSeconds });
    const all = [...Object.values(P), PLAIN];
    await gql(`mutation ($d: [DeviceInput!]!) { upsertDevices(devices: $d) { inserted } }`, {
      d: all.flatMap((p) => [
        {
          guid: p.esme,
          deviceType: 'ESME',
          importSupplierId: SUP,
          manufacturer: 'AB01',
          model: '010A030B',
          firmwareVersion: '0002012F',
          firmwareEffectiveFrom: LINKED_FROM,
          mpan: p.mpan,
          areaKey: `CLAIMS-${p.esme}`,
        },
        {
          guid: p.ch,
          deviceType: 'CHF',
          manufacturer: 'AB01',
          model: '0C0C0C0C',
          areaKey: `CLAIMS-${p.esme}`,
        },
      ]),
    });
    await gql(
      `mutation { ${all
        .map(
          (p, i) =>
            `l${i}: linkCommsHub(commsHubGuid: "${p.ch}", esmeGuid: "${p.esme}", effectiveFrom: "${LINKED_FROM}") { esmeGuid }`,
        )
        .join('\n')} }`,
      {},
    );
    await gql(`mutation ($i: FirmwareImageInput!) { registerFirmwareImage(image: $i) { id } }`, {
      i: { manufacturer: 'AB01', model: '010A030B', version: '00020130', imageHash: IMAGE_HASH },
    });
    await gql(`mutation ($r: AffectedFirmwareRuleInput!) { upsertAffectedFirmwareRule(rule: $r) { id } }`, {
      r: {
        name: 'claims',
        manufacturer: 'AB01',
        model: '010A030B',
        affectedFirmwareVersions: ['0002012F'],
        windowMinutes: 30,
        skewMinutes: 2,
      },
    });
  });
  afterAll(() => t?.stop());

  test('a claim leaves a SCHEDULED activation as it was, and the AD1 in its claimed window is released; DCC then withdraws it', async () => {
    const T = begin();
    const a = await schedule(P.scheduled);
    expect(a.window).toEqual({
      from: iso(T - 2 * MINUTE),
      to: iso(T + 30 * MINUTE),
      anchoredOnActual: false,
    });
    // Forty minutes on, past the wide window, the supplier says it ran just now.
    clock.set(new Date(T + 41 * MINUTE));
    const before = await rowCounts(t, 'alert_decision', 'device_firmware');
    const claimed = await claim(a.requestId, T + 40 * MINUTE);
    expect(withoutClaims(claimed)).toEqual(withoutClaims(a));
    expect(claimed.claims).toEqual([
      {
        supplierId: SUP,
        outcomeCode: 'success',
        executedAt: iso(T + 40 * MINUTE),
        firmwareVersion: '00020130',
        receivedAt: iso(T + 41 * MINUTE),
      },
    ]);
    // Nothing was decided again, and the device's firmware did not move on the claim's word.
    expect(await rowCounts(t, 'alert_decision', 'device_firmware')).toEqual(before);
    expect(await firmware(P.scheduled)).toEqual({
      firmwareVersion: '0002012F',
      firmwareHistory: [{ firmwareVersion: '0002012F' }],
    });
    // An outage inside the window the claim would have opened is held, as for any activation
    // whose outcome is pending, and released when no evidence came: the claim confirms nothing.
    const [outage] = await ingest([ad1(P.scheduled, T + 40 * MINUTE + 30_000)]);
    expect(outage).toMatchObject({ outcome: 'HELD', reason: 'AWAITING_EVIDENCE' });
    clock.set(new Date(T + 60 * MINUTE));
    expect(await until(outage.alertId!, 'RELEASED')).toEqual({
      outcome: 'RELEASED',
      decisionHistory: [
        { outcome: 'HELD', reasonCode: 'AWAITING_EVIDENCE' },
        { outcome: 'RELEASED', reasonCode: 'HOLD_EXPIRED' },
      ],
    });

    const claimLine = `Its supplier claims success at ${iso(T + 40 * MINUTE)} (received ${iso(T + 41 * MINUTE)}): a claim, not evidence, so no decision uses it`;
    expect(await explain(outage.alertId!)).toContain(`${claimLine}.`);

    // DCC's outcome is the evidence: the activation moves, the claim stays beside it, and the
    // AD1 it now dates is withdrawn from the DNO.
    clock.set(new Date(T + 62 * MINUTE));
    const executedAt = T + 40 * MINUTE + 10_000;
    const [fact] = await ingest([dccOutcome(P.scheduled, a.requestId, executedAt)]);
    expect(fact).toMatchObject({ kind: 'ACTIVATION_OUTCOME', activationId: a.id, reason: null });
    const moved = (await activation(a.id))!;
    expect(moved).toMatchObject({
      status: 'SUCCEEDED',
      actualExecutedAt: iso(executedAt),
      outcomeCode: 'success',
      window: {
        from: iso(executedAt - 2 * MINUTE),
        to: iso(executedAt + 3 * MINUTE),
        anchoredOnActual: true,
      },
      claims: claimed.claims,
    });
    expect((await firmware(P.scheduled)).firmwareVersion).toBe('00020130');
    expect((await until(outage.alertId!, 'SUPPRESSED')).decisionHistory.at(-1)).toEqual({
      outcome: 'SUPPRESSED',
      reasonCode: 'OTA_INDUCED',
    });
    // explainAlert still shows the claim, and where DCC's outcome says otherwise.
    expect(await explain(outage.alertId!)).toContain(
      `${claimLine}; DCC's outcome says success at ${iso(executedAt)}.`,
    );
  });

  test('a claim leaves an OUTCOME_UNKNOWN activation without a window, and the AD1 it would explain is released', async () => {
    const T = begin();
    const a = await schedule(P.unknown);
    clock.set(new Date(T + 61 * MINUTE));
    await t.app.services.activations.expireOverdueOutcomes();
    const unknown = (await activation(a.id))!;
    expect(unknown).toMatchObject({ status: 'OUTCOME_UNKNOWN', window: null });

    clock.set(new Date(T + 70 * MINUTE));
    const [outage] = await ingest([ad1(P.unknown, T + 69 * MINUTE)]);
    expect(outage).toMatchObject({ outcome: 'HELD', reason: 'AWAITING_EVIDENCE' });
    // A success just before the outage would have re-anchored a window on it and confirmed it.
    const claimed = await claim(a.requestId, T + 69 * MINUTE - 30_000);
    expect(withoutClaims(claimed)).toEqual(withoutClaims(unknown));
    expect(claimed.claims).toHaveLength(1);
    expect((await alert(outage.alertId!)).decisionHistory).toHaveLength(1);
    clock.set(new Date(T + 90 * MINUTE));
    expect(await until(outage.alertId!, 'RELEASED')).toEqual({
      outcome: 'RELEASED',
      decisionHistory: [
        { outcome: 'HELD', reasonCode: 'AWAITING_EVIDENCE' },
        { outcome: 'RELEASED', reasonCode: 'HOLD_EXPIRED' },
      ],
    });
  });

  test('the same claim again is the same claim; a different one is another', async () => {
    const T = begin();
    const a = await schedule(P.visible);
    clock.set(new Date(T + 5 * MINUTE));
    await claim(a.requestId, T + MINUTE, null);
    clock.set(new Date(T + 6 * MINUTE));
    await claim(a.requestId, T + MINUTE, null);
    const claims = (await claim(a.requestId, T + 2 * MINUTE)).claims;
    expect(claims.map((c) => [c.executedAt, c.firmwareVersion, c.receivedAt])).toEqual([
      [iso(T + MINUTE), null, iso(T + 5 * MINUTE)],
      [iso(T + 2 * MINUTE), '00020130', iso(T + 6 * MINUTE)],
    ]);
    expect((await activation(a.id))!.status).toBe('SCHEDULED');
  });

  test('claims are seen by whoever may see the activation, and by no one else', async () => {
    const [a] = (
      await gql<{ activations: { nodes: Activation[] } }>(
        `query ($g: String) { activations(filter: { deviceGuid: $g }) { nodes { ${FIELDS} } } }`,
        { g: P.visible.esme },
      )
    ).activations.nodes;
    expect(a.claims).toHaveLength(2);
    // The operator, the supplier that made them, and the DNO of the meter's MPAN.
    for (const token of [tokens.operator, tokens.supplier, tokens.ed12]) {
      expect((await activation(a.id, token))!.claims).toEqual(a.claims);
    }
    // Another supplier and another DNO see neither the activation nor its claims, by any path.
    for (const token of [tokens.other, tokens.ed14]) {
      expect(await activation(a.id, token)).toBeNull();
      const refs = await gql<{ _entities: unknown[] }>(
        `query ($r: [_Any!]!) { _entities(representations: $r) { ... on FirmwareActivation { id claims { ${CLAIM} } } } }`,
        { r: [{ __typename: 'FirmwareActivation', id: a.id }] },
        token,
      );
      expect(refs._entities).toEqual([null]);
      const listed = await gql<{ activations: { nodes: unknown[] } }>(
        `{ activations(first: 500) { nodes { id claims { ${CLAIM} } } } }`,
        {},
        token,
      );
      expect(listed.activations.nodes).not.toContainEqual(expect.objectContaining({ id: a.id }));
    }
    // Nor may another supplier claim on it: it is told the activation does not exist.
    const before = await rowCounts(t, 'activation_outcome_claim');
    expectError(
      (
        await t.gql(
          OUTCOME,
          { o: { requestId: a.requestId, outcomeCode: 'success', executedAt: iso(clock.now().getTime()) } },
          tokens.other,
        )
      ).body,
      'NOT_FOUND',
    );
    expect(await rowCounts(t, 'activation_outcome_claim')).toEqual(before);
  });

  test('an executedAt before the requested time (less the device clock allowance) is refused for claims, for the operator and in a batch, with nothing written', async () => {
    const T = begin();
    const a = await schedule(P.range, T + 2 * HOUR);
    clock.set(new Date(T + 31 * MINUTE));
    const before = await rowCounts(t, 'activation_outcome_claim', 'firmware_activation', 'alert_decision');
    // Received at T, asked for T + 2 h: an execution at T + 30 min (or hours ahead) is not this request's.
    // The allowance is MAX_CLOCK_SKEW_MINUTES (5): a meter's clock may be that far off.
    for (const executedAt of [T + 30 * MINUTE, T + 2 * HOUR - 6 * MINUTE, T + 5 * HOUR]) {
      for (const token of [tokens.supplier, tokens.operator]) {
        const res = await t.gql(
          OUTCOME,
          { o: { requestId: a.requestId, outcomeCode: 'success', executedAt: iso(executedAt) } },
          token,
        );
        const error = expectError(res.body, 'BAD_USER_INPUT', 'EXECUTED_AT_OUT_OF_RANGE');
        expect(error).toMatchObject({ field: 'executedAt', earliest: iso(T + 2 * HOUR - 5 * MINUTE) });
      }
    }
    expect(await activation(a.id)).toEqual(a);
    expect(await rowCounts(t, 'activation_outcome_claim', 'firmware_activation', 'alert_decision')).toEqual(
      before,
    );

    // DCC's outcome in a batch is refused alone: the batch keeps its other alerts.
    // So is an outcome for a request nobody sent.
    const unknown = a.requestId.replace(/:\d+$/, ':999999');
    const [outage, fact, stranger] = await ingest([
      ad1(PLAIN, T + 30 * MINUTE),
      dccOutcome(P.range, a.requestId, T + 30 * MINUTE),
      dccOutcome(P.range, unknown, T + 30 * MINUTE),
    ]);
    expect(stranger).toMatchObject({ index: 2, activationId: null, reason: 'UNKNOWN_ACTIVATION' });
    expect(outage).toMatchObject({ kind: 'AD1', outcome: 'DELIVERED', reason: 'NO_ACTIVATION_WINDOW' });
    expect(outage.alertId).not.toBeNull();
    expect(fact).toEqual({
      index: 1,
      kind: 'ACTIVATION_OUTCOME',
      alertId: null,
      activationId: null,
      outcome: null,
      reason: 'EXECUTED_AT_OUT_OF_RANGE',
    });
    expect(await activation(a.id)).toEqual(a);

    clock.set(new Date(T + 2 * HOUR + MINUTE));
    // At its requested time, by a meter whose clock is 4 minutes slow, DCC's outcome is taken.
    const [taken] = await ingest([dccOutcome(P.range, a.requestId, T + 2 * HOUR - 4 * MINUTE)]);
    expect(taken).toMatchObject({ activationId: a.id, reason: null });
    expect((await activation(a.id))!.status).toBe('SUCCEEDED');
  });
});
