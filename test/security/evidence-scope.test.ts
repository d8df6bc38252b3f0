import crypto from 'node:crypto';
import { connected, eventually, startTestApp, subscribe, TestClock } from '../support/app';
import type { TestApp } from '../support/app';
import { guid, mpan, ok } from '../support/integration';

/**
 * A decision's evidence, read by a DNO, names its own devices and a neighbour's only anonymously.
 * The fixture is an IDNO-style crossing: DNO 14's hub (CH14) is powered by a meter with DNO 12's
 * MPAN (ESME12), so the evidence of CH14's AD1s (routed to 14) is about ESME12: its activation,
 * model, firmware, rule and restores. DNO 14 reads the reason and the numbers, never ESME12's ID,
 * model, firmware, request ID, rule or its restore's ID; on every path: `alert`, `explainAlert`,
 * `_entities` and `dnoAlerts`. Its own meter's evidence (OWN14) stays whole, and the operator
 * reads everything.
 */

const SUP = '90-B3-D5-1F-30-0B-00-00'; // supplier of ESME12
const OWN_SUP = '90-B3-D5-1F-30-0C-00-00'; // supplier of DNO 14's own meter
const MINUTE = 60_000;
const T0 = Date.parse('2026-04-01T10:00:00Z');
const LINKED_FROM = '2026-01-01T00:00:00Z';
const HASH = crypto.createHash('sha256').update('evidence-scope-image').digest('hex');
const OWN_HASH = crypto.createHash('sha256').update('evidence-scope-own-image').digest('hex');
const ESME12 = guid('E5-00-00-00-00-12', 1); // MPAN of 12, powers CH14
const CH14 = guid('E5-00-00-00-00-14', 2); // MPAN of 14
const OWN_ESME14 = guid('E5-00-00-00-00-14', 3); // MPAN of 14, powers OWN_CH14
const OWN_CH14 = guid('E5-00-00-00-00-14', 4);
const MPAN_CH14 = mpan(14, 8802);
const MPAN_ESME12 = mpan(12, 8801);
const MPAN_OWN14 = mpan(14, 8803);
const METER_MODEL = '0E0E0E0E';
const OWN_MODEL = '0F0F0F0F';
/** Each meter's model, firmware before and after, image, supplier. */
const METERS = {
  neighbour: {
    esme: ESME12,
    ch: CH14,
    mpan: MPAN_CH14,
    esmeMpan: MPAN_ESME12,
    model: METER_MODEL,
    from: '0002012F',
    to: '00020130',
    hash: HASH,
    sup: SUP,
  },
  own: {
    esme: OWN_ESME14,
    ch: OWN_CH14,
    mpan: MPAN_OWN14,
    esmeMpan: MPAN_OWN14,
    model: OWN_MODEL,
    from: '0003012F',
    to: '00030130',
    hash: OWN_HASH,
    sup: OWN_SUP,
  },
} as const;
const HUB_MODEL = '0C0C0C0C';

/** The evidence as JSON: the tests read it by path. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- arbitrary JSON, asserted with toMatchObject
type Evidence = Record<string, any>;
const EVIDENCE =
  'decision { reasonCode activationId ruleId ruleVersion evidence } decisionHistory { evidence }';
const iso = (ms: number) => new Date(ms).toISOString();

describe("evidence names a neighbour's devices only anonymously, on every path", () => {
  const clock = new TestClock(new Date(T0));
  let t: TestApp;
  const tok = { op: '', ed12: '', ed14: '', gs: '', own: '' };
  /** Strings that name ESME12 or its activation: none may reach DNO 14. */
  const secrets: string[] = [ESME12, METER_MODEL, '0002012F', '00020130', HASH, SUP];
  const ids = { neighbour: '', own: '', released: '', restore: '' };

  const gql = async <T>(query: string, variables: Record<string, unknown>, token: string) =>
    ok((await t.gql<T>(query, variables, token)).body);
  const leaks = (value: unknown) => secrets.filter((s) => JSON.stringify(value).includes(s));

  beforeAll(async () => {
    t = await startTestApp({ SCHEDULER_POLL_MS: '100', VERIFICATION_ENABLED: 'false' }, clock);
    const ttlSeconds = 7 * 24 * 3600;
    tok.op = await t.token({ role: 'OPERATOR', ttlSeconds });
    tok.ed12 = await t.token({ role: 'ED', distributorIds: ['12'], ttlSeconds });
    tok.ed14 = await t.token({ role: 'ED', distributorIds: ['14'], ttlSeconds });
    tok.gs = await t.token({ role: 'GS', supplierId: SUP, ttlSeconds });
    tok.own = await t.token({ role: 'IS', supplierId: OWN_SUP, ttlSeconds });
    const hub = (g: string, m: string) => ({
      guid: g,
      deviceType: 'CHF',
      manufacturer: 'AB01',
      model: HUB_MODEL,
      mpan: m,
      areaKey: 'AREA-X',
    });
    await gql(
      'mutation ($d: [DeviceInput!]!) { upsertDevices(devices: $d) { inserted } }',
      {
        d: Object.values(METERS).flatMap((m) => [
          {
            guid: m.esme,
            deviceType: 'ESME',
            importSupplierId: m.sup,
            manufacturer: 'AB01',
            model: m.model,
            firmwareVersion: m.from,
            firmwareEffectiveFrom: LINKED_FROM,
            mpan: m.esmeMpan,
            areaKey: 'AREA-X',
          },
          hub(m.ch, m.mpan),
        ]),
      },
      tok.op,
    );
    await gql(
      `mutation { a: linkCommsHub(commsHubGuid: "${CH14}", esmeGuid: "${ESME12}", effectiveFrom: "${LINKED_FROM}") { esmeGuid }
                  b: linkCommsHub(commsHubGuid: "${OWN_CH14}", esmeGuid: "${OWN_ESME14}", effectiveFrom: "${LINKED_FROM}") { esmeGuid } }`,
      {},
      tok.op,
    );
    for (const [key, m] of Object.entries(METERS)) {
      await gql(
        'mutation ($i: FirmwareImageInput!) { registerFirmwareImage(image: $i) { id } }',
        {
          i: { manufacturer: 'AB01', model: m.model, version: m.to, imageHash: m.hash },
        },
        tok.op,
      );
      const rule = await gql<{ upsertAffectedFirmwareRule: { id: string } }>(
        'mutation ($r: AffectedFirmwareRuleInput!) { upsertAffectedFirmwareRule(rule: $r) { id } }',
        {
          r: {
            name: `scope-${key}`,
            manufacturer: 'AB01',
            model: m.model,
            affectedFirmwareVersions: [m.from, m.to],
            windowMinutes: 30,
            skewMinutes: 2,
          },
        },
        tok.op,
      );
      if (key === 'neighbour') secrets.push(rule.upsertAffectedFirmwareRule.id);
    }
    // DNO 14 takes OTA-induced AD1s as companions, so its stream carries `otaInduced` details.
    await gql(
      'mutation { setDeliveryPreference(distributorId: "14", preference: PAIR) { preference } }',
      {},
      tok.op,
    );

    // An activation on each meter, each hub goes dark, DCC's outcome confirms the run: suppressed.
    for (const key of ['neighbour', 'own'] as const) {
      const { esme, ch, mpan: m, sup, hash, to } = METERS[key];
      const requestId = `${sup}:${esme}:1`;
      const activation = await gql<{ scheduleFirmwareActivation: { id: string } }>(
        'mutation ($a: ScheduleFirmwareActivationInput!) { scheduleFirmwareActivation(activation: $a) { id } }',
        { a: { requestId, esmeGuid: esme, imageHash: hash } },
        key === 'neighbour' ? tok.gs : tok.own,
      );
      if (key === 'neighbour') secrets.push(requestId, activation.scheduleFirmwareActivation.id);
      const [outage] = (
        await gql<{ ingestAlerts: { alertId: string }[] }>(
          'mutation ($a: [AlertInput!]!) { ingestAlerts(alerts: $a) { alertId } }',
          {
            a: [
              { powerOutage: { commsHubGuid: ch, startAt: iso(T0 + 10_000), mpan: m } },
              {
                activationOutcome: {
                  esmeGuid: esme,
                  alertCode: '8F66',
                  requestId,
                  outcomeCode: 'success',
                  executedAt: iso(T0),
                  firmwareVersion: to,
                },
              },
            ],
          },
          tok.op,
        )
      ).ingestAlerts;
      ids[key] = outage.alertId;
    }
    clock.set(new Date(T0 + 25 * MINUTE));
    for (const id of [ids.neighbour, ids.own]) {
      await eventually(
        async () => {
          const a = await gql<{ alert: { outcome: string } }>(
            'query ($id: ID!) { alert(id: $id) { outcome } }',
            { id },
            tok.op,
          );
          // PAIRED: DNO 14 takes OTA-induced AD1s as companions.
          return a.alert.outcome === 'PAIRED' ? true : undefined;
        },
        15_000,
        `alert ${id} paired`,
      );
    }
    // Later, a genuine outage behind CH14, and ESME12's restore (routed to 12 by its MPAN): the
    // restore releases DNO 14's AD1 and pairs with it.
    clock.set(new Date(T0 + 170 * MINUTE));
    const second = `${SUP}:${ESME12}:2`;
    const again = await gql<{ scheduleFirmwareActivation: { id: string } }>(
      'mutation ($a: ScheduleFirmwareActivationInput!) { scheduleFirmwareActivation(activation: $a) { id } }',
      { a: { requestId: second, esmeGuid: ESME12, imageHash: HASH } },
      tok.gs,
    );
    secrets.push(second, again.scheduleFirmwareActivation.id);
    clock.set(new Date(T0 + 3 * 60 * MINUTE));
    const [released, restore] = (
      await gql<{ ingestAlerts: { alertId: string }[] }>(
        'mutation ($a: [AlertInput!]!) { ingestAlerts(alerts: $a) { alertId } }',
        {
          a: [
            { powerOutage: { commsHubGuid: CH14, startAt: iso(T0 + 170 * MINUTE), mpan: MPAN_CH14 } },
            {
              supplyRestored: {
                esmeGuid: ESME12,
                alertCode: '8F36',
                interruptionAt: iso(T0 + 170 * MINUTE),
                restorationAt: iso(T0 + 175 * MINUTE),
                mpan: MPAN_ESME12,
              },
            },
          ],
        },
        tok.op,
      )
    ).ingestAlerts;
    ids.released = released.alertId;
    ids.restore = restore.alertId;
    secrets.push(`"${ids.restore}"`);
  });
  afterAll(() => t?.stop());

  test('the operator reads the whole evidence; the fixture does name ESME12', async () => {
    const res = await gql<{ alert: unknown }>(
      `query ($id: ID!) { alert(id: $id) { ${EVIDENCE} } }`,
      { id: ids.neighbour },
      tok.op,
    );
    expect(leaks(res)).toEqual(expect.arrayContaining([ESME12, METER_MODEL, HASH, `${SUP}:${ESME12}:1`]));
    const restored = await gql<{
      alert: { decision: { reasonCode: string; evidence: { supplyRestoredAlertIds: string[] } } };
    }>(`query ($id: ID!) { alert(id: $id) { ${EVIDENCE} } }`, { id: ids.released }, tok.op);
    expect(restored.alert.decision.reasonCode).toBe('SUPPLY_RESTORED_OVERLAP');
    expect(restored.alert.decision.evidence.supplyRestoredAlertIds).toEqual([ids.restore]);
  });

  test('alert and alerts: the reason and the numbers stay, the neighbour is anonymous', async () => {
    const res = await gql<{
      alert: {
        decision: {
          reasonCode: string;
          activationId: string | null;
          ruleId: string | null;
          evidence: Evidence;
        };
      };
    }>(`query ($id: ID!) { alert(id: $id) { ${EVIDENCE} } }`, { id: ids.neighbour }, tok.ed14);
    expect(leaks(res)).toEqual([]);
    const { decision } = res.alert;
    expect(decision).toMatchObject({ reasonCode: 'OTA_INDUCED', activationId: null, ruleId: null });
    const e = decision.evidence;
    expect(e.esme).toMatchObject({ guid: null, model: null, areaKey: 'AREA-X', withheld: true });
    expect(e.association).toMatchObject({ esmeGuid: null, withheld: true });
    expect(e.activation).toMatchObject({
      status: 'SUCCEEDED',
      requestId: null,
      deviceGuid: null,
      withheld: true,
    });
    expect(e.window).toMatchObject({ anchoredOnActual: true });
    expect(e.commsHub).toMatchObject({ guid: CH14 }); // the hub that raised the AD1 is DNO 14's
    const list = await gql<unknown>(`{ alerts(first: 20) { nodes { id ${EVIDENCE} } } }`, {}, tok.ed14);
    expect(leaks(list)).toEqual([]);
    const released = await gql<{
      alert: { decision: { reasonCode: string; evidence: Evidence } };
    }>(`query ($id: ID!) { alert(id: $id) { ${EVIDENCE} } }`, { id: ids.released }, tok.ed14);
    expect(leaks(released)).toEqual([]);
    expect(released.alert.decision.reasonCode).toBe('SUPPLY_RESTORED_OVERLAP');
    expect(released.alert.decision.evidence).toMatchObject({
      supplyRestoredAlertIds: [],
      withheldSupplyRestoredAlertCount: 1,
    });
  });

  test("its own meter stays whole: the rule hides only what is not the reader's", async () => {
    const res = await gql<{
      alert: { decision: { activationId: string | null; evidence: Evidence } };
    }>(`query ($id: ID!) { alert(id: $id) { ${EVIDENCE} } }`, { id: ids.own }, tok.ed14);
    expect(res.alert.decision.activationId).not.toBeNull();
    expect(res.alert.decision.evidence.esme).toMatchObject({ guid: OWN_ESME14, model: OWN_MODEL });
    expect(res.alert.decision.evidence.activation.requestId).toBe(`${OWN_SUP}:${OWN_ESME14}:1`);
  });

  test('the neighbour reads its restore, but not the AD1 of 14 it pairs with', async () => {
    const res = await gql<{ alert: { decision: { evidence: Record<string, unknown> } } }>(
      `query ($id: ID!) { alert(id: $id) { decision { evidence } } }`,
      { id: ids.restore },
      tok.ed12,
    );
    expect(res.alert.decision.evidence).toMatchObject({ pairedAlertId: null, pairedAlertWithheld: true });
    const lines = (
      await gql<{ explainAlert: { lines: string[] } }>(
        'query ($id: ID!) { explainAlert(id: $id) { lines } }',
        { id: ids.restore },
        tok.ed12,
      )
    ).explainAlert.lines;
    expect(lines.join('\n')).toContain('paired with a power outage alert of another network operator');
    expect(lines.join('\n')).not.toContain(`alert ${ids.released}`);
  });

  test('explainAlert: the same account, in words, without the neighbour', async () => {
    const res = await gql<{ explainAlert: { lines: string[] } }>(
      `query ($id: ID!) { explainAlert(id: $id) { lines alert { ${EVIDENCE} } } }`,
      { id: ids.neighbour },
      tok.ed14,
    );
    expect(leaks(res)).toEqual([]);
    const text = res.explainAlert.lines.join('\n');
    expect(text).toContain('[OTA_INDUCED]');
    expect(text).toContain("The activation on another network operator's meter");
    const released = await gql<unknown>(
      'query ($id: ID!) { explainAlert(id: $id) { lines } }',
      { id: ids.released },
      tok.ed14,
    );
    expect(leaks(released)).toEqual([]);
    expect(JSON.stringify(released)).toContain('1 of another network operator');
    // The operator's account names everything.
    const full = await gql<{ explainAlert: { lines: string[] } }>(
      'query ($id: ID!) { explainAlert(id: $id) { lines } }',
      { id: ids.neighbour },
      tok.op,
    );
    expect(full.explainAlert.lines.join('\n')).toContain(ESME12);
  });

  test('_entities: the router reads what the DNO reads', async () => {
    const res = await gql<unknown>(
      `query ($r: [_Any!]!) { _entities(representations: $r) { ... on Alert { id ${EVIDENCE} } } }`,
      { r: [ids.neighbour, ids.released].map((id) => ({ __typename: 'Alert', id })) },
      tok.ed14,
    );
    expect(leaks(res)).toEqual([]);
    expect(JSON.stringify(res)).toContain('"withheld":true');
  });

  test('dnoAlerts: events and their OTA-induced details, without the neighbour', async () => {
    const client = t.ws(tok.ed14);
    await connected(client);
    const sub = subscribe<{ dnoAlerts: { kind: string; otaInduced: Record<string, unknown> | null } }>(
      client,
      `subscription { dnoAlerts(distributorId: "14", after: "0") { kind alert { id ${EVIDENCE} }
         otaInduced { activationRequestId manufacturer model firmwareBefore firmwareAfter ruleId affectedFirmwareRuleId actualExecutedAt windowFrom windowTo } } }`,
    );
    const companionsOf = () => sub.events.filter((e) => e.dnoAlerts.kind === 'OTA_INDUCED');
    await eventually(async () => (companionsOf().length >= 2 ? true : undefined), 15_000, 'two companions');
    sub.dispose();
    expect(leaks(sub.events)).toEqual([]);
    const companions = companionsOf();
    expect(companions.length).toBe(2);
    // One companion is about DNO 14's own meter (named), the other about ESME12 (anonymous, with its window).
    const models = companions.map((e) => e.dnoAlerts.otaInduced?.model).sort();
    expect(models).toEqual([OWN_MODEL, null].sort());
    const anonymous = companions.find((e) => e.dnoAlerts.otaInduced?.model === null)!.dnoAlerts.otaInduced!;
    expect(anonymous).toMatchObject({
      activationRequestId: null,
      ruleId: null,
      affectedFirmwareRuleId: null,
    });
    expect(anonymous.windowFrom).not.toBeNull();
  });
});

describe("a hub's links name a neighbour's meter to nobody but the operator", () => {
  let t: TestApp;
  const tok = { op: '', ed12: '', ed14: '' };
  const gql = async <T>(query: string, variables: Record<string, unknown>, token: string) =>
    ok((await t.gql<T>(query, variables, token)).body);
  const LINKS = 'commsHubLinks { commsHubGuid esmeGuid effectiveFrom effectiveTo }';
  const HUB_NO_MPAN = guid('E5-00-00-00-00-14', 5);
  beforeAll(async () => {
    t = await startTestApp({ VERIFICATION_ENABLED: 'false' });
    tok.op = await t.token({ role: 'OPERATOR' });
    tok.ed12 = await t.token({ role: 'ED', distributorIds: ['12'] });
    tok.ed14 = await t.token({ role: 'ED', distributorIds: ['14'] });
    const device = (g: string, deviceType: string, m: string | null) => ({
      guid: g,
      deviceType,
      manufacturer: 'AB01',
      model: deviceType === 'ESME' ? METER_MODEL : HUB_MODEL,
      ...(m ? { mpan: m } : {}),
      areaKey: 'AREA-X',
    });
    await gql(
      'mutation ($d: [DeviceInput!]!) { upsertDevices(devices: $d) { inserted } }',
      {
        d: [
          device(ESME12, 'ESME', MPAN_ESME12),
          device(CH14, 'CHF', MPAN_CH14),
          device(OWN_ESME14, 'ESME', MPAN_OWN14),
          device(HUB_NO_MPAN, 'CHF', null),
        ],
      },
      tok.op,
    );
    // CH14 was powered by ESME12 (DNO 12), then swapped to DNO 14's own meter; that meter's
    // previous hub carried no MPAN (nobody's).
    await gql(
      `mutation {
         a: linkCommsHub(commsHubGuid: "${HUB_NO_MPAN}", esmeGuid: "${OWN_ESME14}", effectiveFrom: "2026-01-01T00:00:00Z") { esmeGuid }
         b: linkCommsHub(commsHubGuid: "${CH14}", esmeGuid: "${ESME12}", effectiveFrom: "2026-02-01T00:00:00Z") { esmeGuid }
         c: linkCommsHub(commsHubGuid: "${CH14}", esmeGuid: "${OWN_ESME14}", effectiveFrom: "2026-03-01T00:00:00Z") { esmeGuid } }`,
      {},
      tok.op,
    );
  });
  afterAll(() => t?.stop());

  test('DNO 14 reads its hub and meter with their own links only, on every path', async () => {
    const direct = await gql<{ device: { commsHubLinks: { esmeGuid: string; commsHubGuid: string }[] } }>(
      `query ($g: EUI64!) { device(guid: $g) { ${LINKS} } }`,
      { g: CH14 },
      tok.ed14,
    );
    expect(direct.device.commsHubLinks.map((l) => l.esmeGuid)).toEqual([OWN_ESME14]);
    const meter = await gql<{ device: { commsHubLinks: { commsHubGuid: string }[] } }>(
      `query ($g: EUI64!) { device(guid: $g) { ${LINKS} } }`,
      { g: OWN_ESME14 },
      tok.ed14,
    );
    // A hub without an MPAN is nobody's: naming it tells nothing of another DNO.
    expect(meter.device.commsHubLinks.map((l) => l.commsHubGuid).sort()).toEqual([CH14, HUB_NO_MPAN].sort());
    const paths = await Promise.all([
      gql<unknown>(`{ devices(first: 50) { nodes { guid ${LINKS} esme { guid } } } }`, {}, tok.ed14),
      gql<unknown>(
        `query ($r: [_Any!]!) { _entities(representations: $r) { ... on Device { guid ${LINKS} } } }`,
        { r: [{ __typename: 'Device', guid: CH14 }] },
        tok.ed14,
      ),
    ]);
    for (const body of [direct, meter, ...paths]) expect(JSON.stringify(body)).not.toContain(ESME12);
  });

  test('DNO 12 reads its meter without the hub of 14 it powered; the operator reads every link', async () => {
    const res = await gql<{ device: { commsHubLinks: unknown[] } }>(
      `query ($g: EUI64!) { device(guid: $g) { ${LINKS} } }`,
      { g: ESME12 },
      tok.ed12,
    );
    expect(res.device.commsHubLinks).toEqual([]);
    const op = await gql<{ device: { commsHubLinks: { esmeGuid: string }[] } }>(
      `query ($g: EUI64!) { device(guid: $g) { ${LINKS} } }`,
      { g: CH14 },
      tok.op,
    );
    expect(op.device.commsHubLinks.map((l) => l.esmeGuid).sort()).toEqual([ESME12, OWN_ESME14].sort());
  });
});
