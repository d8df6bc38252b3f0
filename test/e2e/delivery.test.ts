import { TestClock, connected, eventually, startTestApp, subscribe } from '../support/app';
import type { TestApp } from '../support/app';
import { guid, mpan } from '../support/integration';

/**
 * DNO delivery through the real server and graphql-ws clients: what each preference delivers,
 * resuming with `after`, isolation between DNOs, and sequences that stay gap-free under
 * concurrent writers.
 */
const SUPPLIER = '90-B3-D5-1F-30-01-00-00';
const IMAGE_HASH = 'ab'.repeat(32);
const T0 = '2026-03-02T10:00:00Z';

interface DnoAlertEvent {
  dnoAlerts: {
    sequence: string;
    kind: string;
    alert: { id: string; deviceGuid: string };
    decision: { outcome: string; reasonCode: string; late: boolean };
    pairedWith: { id: string } | null;
    otaInduced: {
      activationRequestId: string;
      firmwareBefore: string;
      firmwareAfter: string;
      model: string;
    } | null;
  };
}
const DNO_ALERTS = `subscription ($after: String, $d: String) {
  dnoAlerts(after: $after, distributorId: $d) {
    sequence kind alert { id deviceGuid } decision { outcome reasonCode late } pairedWith { id }
    otaInduced { activationRequestId firmwareBefore firmwareAfter model }
  }
}`;

describe('DNO delivery over WebSocket', () => {
  let t: TestApp;
  let clock: TestClock;
  let operator: string;
  let supplier: string;
  let dno12: string;
  let dno15: string;
  let premises = 0;

  const ok = async <T>(query: string, variables: Record<string, unknown>, token: string): Promise<T> => {
    const { body } = await t.gql<T>(query, variables, token);
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data!;
  };

  /** A fresh ESME + hub pair on the affected model, in an area of its own, on distributor `dist`. */
  const newPremises = async (dist: number) => {
    premises += 1;
    const esme = guid('00-DB-E5-00-00-00', premises);
    const ch = guid('00-DB-C4-00-00-00', premises);
    const area = `AREA-${premises}`;
    await ok(
      `mutation ($d: [DeviceInput!]!) { upsertDevices(devices: $d) { inserted } }`,
      {
        d: [
          {
            guid: esme,
            deviceType: 'ESME',
            importSupplierId: SUPPLIER,
            manufacturer: 'AB01',
            model: '010A030B',
            firmwareVersion: '0002012F',
            firmwareEffectiveFrom: '2025-01-01T00:00:00Z',
            mpan: mpan(dist, 5000 + premises),
            areaKey: area,
          },
          { guid: ch, deviceType: 'CHF', manufacturer: 'EF03', model: '0C0A0001', areaKey: area },
        ],
      },
      operator,
    );
    await ok(
      `mutation ($ch: EUI64!, $e: EUI64!) { linkCommsHub(commsHubGuid: $ch, esmeGuid: $e, effectiveFrom: "2025-01-01T00:00:00Z") { effectiveFrom } }`,
      { ch, e: esme },
      operator,
    );
    return { esme, ch, mpan: mpan(dist, 5000 + premises) };
  };

  /** An immediate activation now with a successful outcome a minute later: an OTA window. */
  const activate = async (esme: string) => {
    const requestId = `${SUPPLIER}:${esme}:${premises}`;
    await ok(
      `mutation ($a: ScheduleFirmwareActivationInput!) { scheduleFirmwareActivation(activation: $a) { id } }`,
      { a: { requestId, esmeGuid: esme, imageHash: IMAGE_HASH } },
      supplier,
    );
    // DCC's 0x8F66, as the operator ingests it: the evidence that it ran.
    await ok(
      `mutation ($a: [AlertInput!]!) { ingestAlerts(alerts: $a) { activationId } }`,
      {
        a: [
          {
            activationOutcome: {
              esmeGuid: esme,
              alertCode: '8F66',
              requestId,
              outcomeCode: 'success',
              executedAt: new Date(clock.now().getTime() + 60_000).toISOString(),
              firmwareVersion: '00020130',
            },
          },
        ],
      },
      operator,
    );
    return requestId;
  };

  const ingestAd1 = async (ch: string, mpanValue: string, startAt: Date) =>
    (
      await ok<{ ingestAlerts: { alertId: string; outcome: string }[] }>(
        `mutation ($a: [AlertInput!]!) { ingestAlerts(alerts: $a) { alertId outcome } }`,
        { a: [{ powerOutage: { commsHubGuid: ch, startAt: startAt.toISOString(), mpan: mpanValue } }] },
        operator,
      )
    ).ingestAlerts[0];

  /** Moves the clock past the hold bound and waits for the scheduler to decide the alert. */
  const passHold = async (alertId: string) => {
    clock.advance(6 * 60_000);
    return eventually(
      async () => {
        const { alert } = await ok<{ alert: { outcome: string } }>(
          `query ($id: ID!) { alert(id: $id) { outcome } }`,
          { id: alertId },
          operator,
        );
        return alert.outcome === 'HELD' ? undefined : alert.outcome;
      },
      10_000,
      'the hold to end',
    );
  };

  beforeAll(async () => {
    clock = new TestClock(T0);
    // Each test opens connections of its own with the same DNO tokens and leaves them open until
    // the server stops: more than one token may hold at once (WS_MAX_CONNECTIONS_PER_TOKEN).
    t = await startTestApp(
      { SCHEDULER_POLL_MS: '100', HOLD_MINUTES: '5', WS_MAX_CONNECTIONS_PER_TOKEN: '0' },
      clock,
    );
    operator = await t.token({ role: 'OPERATOR' });
    supplier = await t.token({ role: 'IS', supplierId: SUPPLIER });
    dno12 = await t.token({ role: 'ED', distributorIds: ['12'] });
    dno15 = await t.token({ role: 'ED', distributorIds: ['15'] });
    await ok(
      `mutation { registerFirmwareImage(image: { manufacturer: "AB01", model: "010A030B", version: "00020130", imageHash: "${IMAGE_HASH}" }) { id } }`,
      {},
      operator,
    );
    await ok(
      `mutation { upsertAffectedFirmwareRule(rule: { name: "E470", manufacturer: "AB01", model: "010A030B", affectedFirmwareVersions: ["0002012F"] }) { id } }`,
      {},
      operator,
    );
  });
  afterAll(() => t.stop());

  const status = async (token: string) =>
    (
      await ok<{ dnoDeliveryStatus: { newestSequence: string; acknowledgedSequence: string; lag: string } }>(
        '{ dnoDeliveryStatus { newestSequence acknowledgedSequence lag } }',
        {},
        token,
      )
    ).dnoDeliveryStatus;

  test('FILTER (default): a genuine AD1 arrives, an OTA-induced one never does', async () => {
    const client = t.ws(dno12);
    const start = (await status(dno12)).newestSequence;
    const sub = subscribe<DnoAlertEvent>(client, DNO_ALERTS, { after: start });
    await connected(client);

    const ota = await newPremises(12);
    await activate(ota.esme);
    const otaAlert = await ingestAd1(ota.ch, ota.mpan, new Date(clock.now().getTime() + 90_000));
    expect(otaAlert.outcome).toBe('HELD');
    expect(await passHold(otaAlert.alertId)).toBe('SUPPRESSED');

    const genuine = await newPremises(12); // no activation: not a candidate, delivered at once
    const genuineAlert = await ingestAd1(genuine.ch, genuine.mpan, clock.now());
    expect(genuineAlert.outcome).toBe('DELIVERED');

    const [first] = await sub.waitFor(1);
    expect(first.dnoAlerts).toMatchObject({
      kind: 'AD1',
      alert: { id: genuineAlert.alertId },
      decision: { outcome: 'DELIVERED' },
    });
    expect(sub.events.map((e) => e.dnoAlerts.alert.id)).not.toContain(otaAlert.alertId);
    sub.dispose();
  });

  test('PAIR: the OTA-induced AD1 arrives with its OTA_INDUCED companion; RAW gets the AD1 while held', async () => {
    await ok('mutation { setDeliveryPreference(preference: PAIR) { preference } }', {}, dno12);
    const client = t.ws(dno12);
    const sub = subscribe<DnoAlertEvent>(client, DNO_ALERTS, { after: (await status(dno12)).newestSequence });
    await connected(client);
    const ota = await newPremises(12);
    const requestId = await activate(ota.esme);
    const alert = await ingestAd1(ota.ch, ota.mpan, new Date(clock.now().getTime() + 90_000));
    expect(await passHold(alert.alertId)).toBe('PAIRED');
    const [ad1, companion] = await sub.waitFor(2);
    expect(ad1.dnoAlerts).toMatchObject({
      kind: 'AD1',
      alert: { id: alert.alertId },
      decision: { outcome: 'PAIRED' },
    });
    expect(companion.dnoAlerts).toMatchObject({
      kind: 'OTA_INDUCED',
      pairedWith: { id: alert.alertId },
      otaInduced: {
        activationRequestId: requestId,
        firmwareBefore: '0002012F',
        firmwareAfter: '00020130',
        model: '010A030B',
      },
    });
    expect(BigInt(companion.dnoAlerts.sequence)).toBe(BigInt(ad1.dnoAlerts.sequence) + 1n);

    await ok('mutation { setDeliveryPreference(preference: RAW) { preference } }', {}, dno12);
    const raw = await newPremises(12);
    await activate(raw.esme);
    const held = await ingestAd1(raw.ch, raw.mpan, new Date(clock.now().getTime() + 90_000));
    expect(held.outcome).toBe('HELD');
    const [, , rawAd1] = await sub.waitFor(3);
    expect(rawAd1.dnoAlerts).toMatchObject({
      kind: 'AD1',
      alert: { id: held.alertId },
      decision: { outcome: 'HELD' },
    });
    await ok('mutation { setDeliveryPreference(preference: FILTER) { preference } }', {}, dno12);
    sub.dispose();
  });

  test('an event’s alert has the same field values as the alert(id) query, live and replayed', async () => {
    // A client cache that normalises Alert by id (Apollo's InMemoryCache) merges both into one object.
    const FIELDS = `id kind alertCode deviceGuid raisedByGuid mpan mpanCheckDigitValid distributorId unroutedReason areaKey
      eventAt restoredAt throttledCount duisResponseId receivedAt outcome
      decision { revision outcome reasonCode late decidedAt dueAt trigger activationId ruleId ruleVersion windowFrom windowTo } networkOperator { distributorId }`;
    const EVENTS = `subscription ($after: String) { dnoAlerts(after: $after) { sequence kind
      alert { ${FIELDS} } pairedWith { ${FIELDS} } decision { revision ledgerRevision }
      otaInduced { ruleId affectedFirmwareRuleId } } }`;
    type Fields = Record<string, unknown> & { id: string; outcome: string | null };
    type Event = {
      dnoAlerts: {
        sequence: string;
        kind: string;
        alert: Fields;
        pairedWith: Fields | null;
        decision: { revision: number; ledgerRevision: number };
        otaInduced: { ruleId: string | null; affectedFirmwareRuleId: string | null } | null;
      };
    };
    const query = async (id: string) =>
      (await ok<{ alert: Fields }>(`query ($id: ID!) { alert(id: $id) { ${FIELDS} } }`, { id }, dno12)).alert;

    await ok('mutation { setDeliveryPreference(preference: RAW) { preference } }', {}, dno12);
    const base = (await status(dno12)).newestSequence;
    const live = subscribe<Event>(t.ws(dno12), EVENTS, { after: base });
    const ota = await newPremises(12);
    await activate(ota.esme);
    const held = await ingestAd1(ota.ch, ota.mpan, new Date(clock.now().getTime() + 90_000));
    const [first] = await live.waitFor(1);
    expect(first.dnoAlerts.alert).toEqual(await query(held.alertId));
    expect(first.dnoAlerts.alert.outcome).toBe('HELD');

    // Decided later: a second event for the same alert, and a replay of the first, both show it
    // as the query does now (the earlier subscription's loaders do not serve it stale).
    const decided = await passHold(held.alertId);
    await ok('mutation { setDeliveryPreference(preference: PAIR) { preference } }', {}, dno12);
    const paired = await newPremises(12);
    await activate(paired.esme);
    const pairedAlert = await ingestAd1(paired.ch, paired.mpan, new Date(clock.now().getTime() + 90_000));
    expect(await passHold(pairedAlert.alertId)).toBe('PAIRED');
    const all = await live.waitFor(3);
    const replay = subscribe<Event>(t.ws(dno12), EVENTS, { after: base });
    const replayed = await replay.waitFor(all.length);
    // The first live event showed the alert while it was held (checked above); the rest came after.
    for (const event of [...all.slice(1), ...replayed]) {
      const { alert, pairedWith, decision, otaInduced } = event.dnoAlerts;
      expect(alert).toEqual(await query(alert.id));
      // Deprecated fields and their consistently typed replacements carry the same values.
      expect(alert.raisedByGuid).toBe(alert.deviceGuid);
      expect(decision.ledgerRevision).toBe(decision.revision);
      if (otaInduced) expect(otaInduced.affectedFirmwareRuleId).toBe(otaInduced.ruleId);
      if (pairedWith) expect(pairedWith).toEqual(await query(pairedWith.id));
    }
    expect(replayed[0].dnoAlerts.alert).toMatchObject({ id: held.alertId, outcome: decided });
    expect(replayed.some((e) => e.dnoAlerts.kind === 'OTA_INDUCED')).toBe(true);
    expect(
      replayed.find((e) => e.dnoAlerts.otaInduced)?.dnoAlerts.otaInduced?.affectedFirmwareRuleId,
    ).toMatch(/^[0-9a-f-]{36}$/);
    live.dispose();
    replay.dispose();
    await ok('mutation { setDeliveryPreference(preference: FILTER) { preference } }', {}, dno12);
  });

  test('a subscriber that reconnects with `after` gets exactly what it missed, then live ones', async () => {
    const base = (await status(dno12)).newestSequence;
    const alerts: string[] = [];
    for (let i = 0; i < 3; i++) {
      const p = await newPremises(12);
      alerts.push((await ingestAd1(p.ch, p.mpan, clock.now())).alertId);
    }
    const firstClient = t.ws(dno12);
    const first = subscribe<DnoAlertEvent>(firstClient, DNO_ALERTS, { after: base });
    const got = await first.waitFor(2);
    const resumeAfter = got[1].dnoAlerts.sequence;
    await firstClient.dispose();

    // Missed while disconnected:
    for (let i = 0; i < 2; i++) {
      const p = await newPremises(12);
      alerts.push((await ingestAd1(p.ch, p.mpan, clock.now())).alertId);
    }
    const second = subscribe<DnoAlertEvent>(t.ws(dno12), DNO_ALERTS, { after: resumeAfter });
    const replayed = await second.waitFor(3);
    expect(replayed.map((e) => e.dnoAlerts.alert.id)).toEqual(alerts.slice(2, 5));
    const live = await newPremises(12);
    alerts.push((await ingestAd1(live.ch, live.mpan, clock.now())).alertId);
    const all = await second.waitFor(4);
    expect(all.map((e) => e.dnoAlerts.alert.id)).toEqual(alerts.slice(2, 6));
    const sequences = all.map((e) => BigInt(e.dnoAlerts.sequence));
    sequences.forEach((s, i) => i > 0 && expect(s).toBe(sequences[i - 1] + 1n));
    second.dispose();

    // Acknowledged position: a subscription without `after` starts there.
    await ok(
      'mutation ($u: String!) { acknowledgeDnoAlerts(upTo: $u) { acknowledgedSequence } }',
      { u: all[2].dnoAlerts.sequence },
      dno12,
    );
    const fromAck = subscribe<DnoAlertEvent>(t.ws(dno12), DNO_ALERTS, {});
    expect((await fromAck.waitFor(1))[0].dnoAlerts.sequence).toBe(all[3].dnoAlerts.sequence);
    fromAck.dispose();
    const st = await status(dno12);
    expect(st.acknowledgedSequence).toBe(all[2].dnoAlerts.sequence);
    expect(BigInt(st.lag)).toBe(BigInt(st.newestSequence) - BigInt(st.acknowledgedSequence));
  });

  test('one DNO never sees another DNO’s alerts, nor may it ask for their stream', async () => {
    const sub15 = subscribe<DnoAlertEvent>(t.ws(dno15), DNO_ALERTS, { after: '0' });
    const p12 = await newPremises(12);
    const a12 = await ingestAd1(p12.ch, p12.mpan, clock.now());
    const p15 = await newPremises(15);
    const a15 = await ingestAd1(p15.ch, p15.mpan, clock.now());
    const events = await sub15.waitFor(1);
    expect(events.map((e) => e.dnoAlerts.alert.id)).toEqual([a15.alertId]);
    expect(sub15.events.map((e) => e.dnoAlerts.alert.id)).not.toContain(a12.alertId);
    sub15.dispose();

    const stolen = subscribe<DnoAlertEvent>(t.ws(dno15), DNO_ALERTS, { d: '12', after: '0' });
    await eventually(async () => (stolen.error ? true : undefined), 5000, 'the subscription to be refused');
    expect(JSON.stringify(stolen.error)).toContain('FORBIDDEN');
  });

  test('replay is in numeric order across digit boundaries (9 -> 10)', async () => {
    // Distributor 20 has no messages yet: its stream starts at 1 and crosses from one digit to two.
    const dno20 = await t.token({ role: 'ED', distributorIds: ['20'] });
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const p = await newPremises(20);
      ids.push((await ingestAd1(p.ch, p.mpan, clock.now())).alertId);
    }
    const sub = subscribe<DnoAlertEvent>(t.ws(dno20), DNO_ALERTS, { after: '0' });
    const events = await sub.waitFor(12);
    expect(events.map((e) => e.dnoAlerts.sequence)).toEqual(ids.map((_, i) => String(i + 1)));
    expect(events.map((e) => e.dnoAlerts.alert.id)).toEqual(ids);
    sub.dispose();
  });

  test('subscribers of one DNO at different cursors share its feed and each get exactly their messages', async () => {
    // Distributor 21 is fresh: its stream starts at 1. Three subscribers on this one instance:
    // one replaying from the start, one from the middle, one at the head.
    const dno21 = await t.token({ role: 'ED', distributorIds: ['21'] });
    const ids: string[] = [];
    const ingest = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const p = await newPremises(21);
        ids.push((await ingestAd1(p.ch, p.mpan, clock.now())).alertId);
      }
    };
    await ingest(4);
    const fromStart = subscribe<DnoAlertEvent>(t.ws(dno21), DNO_ALERTS, { after: '0' });
    const fromMiddle = subscribe<DnoAlertEvent>(t.ws(dno21), DNO_ALERTS, { after: '2' });
    const atHead = subscribe<DnoAlertEvent>(t.ws(dno21), DNO_ALERTS, { after: '4' });
    await fromStart.waitFor(4);
    await fromMiddle.waitFor(2);
    await ingest(5);
    const sequences = (events: DnoAlertEvent[]) => events.map((e) => e.dnoAlerts.sequence);
    const alertIds = (events: DnoAlertEvent[]) => events.map((e) => e.dnoAlerts.alert.id);
    const range = (from: number, to: number) =>
      Array.from({ length: to - from + 1 }, (_, i) => String(from + i));
    expect(sequences(await fromStart.waitFor(9))).toEqual(range(1, 9));
    expect(sequences(await fromMiddle.waitFor(7))).toEqual(range(3, 9));
    expect(sequences(await atHead.waitFor(5))).toEqual(range(5, 9));
    expect(alertIds(fromStart.events)).toEqual(ids);
    expect(alertIds(fromMiddle.events)).toEqual(ids.slice(2));
    expect(alertIds(atHead.events)).toEqual(ids.slice(4));

    // One leaves; the others go on, exactly once each.
    fromMiddle.dispose();
    await ingest(2);
    expect(sequences(await fromStart.waitFor(11))).toEqual(range(1, 11));
    expect(sequences(await atHead.waitFor(7))).toEqual(range(5, 11));
    await new Promise((r) => setTimeout(r, 200));
    expect(fromStart.events).toHaveLength(11);
    expect(atHead.events).toHaveLength(7);
    expect(fromMiddle.events).toHaveLength(7);
    fromStart.dispose();
    atHead.dispose();
  });

  test('concurrent writers: sequences are contiguous and every alert is delivered exactly once', async () => {
    const base = (await status(dno12)).newestSequence;
    const sites = await Promise.all(Array.from({ length: 4 }, () => newPremises(12)));
    // 4 writers x 5 batches of 3 AD1s at once, all for DNO 12.
    const ids = (
      await Promise.all(
        sites.map(async (site, w) => {
          const out: string[] = [];
          for (let b = 0; b < 5; b++) {
            const res = await ok<{ ingestAlerts: { alertId: string }[] }>(
              `mutation ($a: [AlertInput!]!) { ingestAlerts(alerts: $a) { alertId } }`,
              {
                a: [0, 1, 2].map((k) => ({
                  powerOutage: {
                    commsHubGuid: site.ch,
                    startAt: new Date(Date.parse(T0) + (w * 100 + b * 10 + k) * 1000).toISOString(),
                    mpan: site.mpan,
                  },
                })),
              },
              operator,
            );
            out.push(...res.ingestAlerts.map((r) => r.alertId));
          }
          return out;
        }),
      )
    ).flat();
    const sub = subscribe<DnoAlertEvent>(t.ws(dno12), DNO_ALERTS, { after: base });
    const events = await sub.waitFor(ids.length);
    const sequences = events.map((e) => BigInt(e.dnoAlerts.sequence));
    expect(sequences).toEqual(sequences.map((_, i) => BigInt(base) + 1n + BigInt(i)));
    expect(new Set(events.map((e) => e.dnoAlerts.alert.id))).toEqual(new Set(ids));
    sub.dispose();
  });
});
