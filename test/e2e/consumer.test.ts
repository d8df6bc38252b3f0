import { gql } from '@apollo/client';
import type { ApolloClient } from '@apollo/client';
import type { Client } from 'graphql-ws';
import { TestClock, eventually, startTestApp } from '../support/app';
import type { TestApp } from '../support/app';
import {
  acknowledge,
  applyCorrectionToCache,
  applyToOpenOutages,
  connectDno,
  createDnoApolloClient,
  followDnoAlerts,
  subscribeDnoAlerts,
} from '../support/dno-client';
import type { DnoAlertMessage } from '../support/dno-client';
import { DNO_ALERTS } from '../support/dno-client';
import { guid, mpan, ok as data } from '../support/integration';

/**
 * A DNO's consumer as docs/CONSUMERS.md shows it (test/support/dno-client.ts), against the real
 * server: the graphql-ws stream with resume and acknowledgement, and Apollo Client whose
 * normalised cache stays right while subscription events arrive.
 */
const SUPPLIER = '90-B3-D5-1F-30-01-00-00';
const IMAGE_HASH = 'cd'.repeat(32);
const T0 = '2026-03-02T10:00:00Z';

describe('a DNO consumer', () => {
  let t: TestApp;
  let clock: TestClock;
  let operator: string;
  let supplier: string;
  let dno: string;
  let premises = 0;
  const wsClients: Client[] = [];

  const ok = async <T>(query: string, variables: Record<string, unknown>, token: string): Promise<T> =>
    data((await t.gql<T>(query, variables, token)).body);

  /** An ESME and its hub on the affected model, on distributor 14, in an area of their own. */
  const newPremises = async (area?: string) => {
    premises += 1;
    const esme = guid('00-DB-E5-00-00-14', premises);
    const ch = guid('00-DB-C4-00-00-14', premises);
    const m = mpan(14, 7000 + premises);
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
            mpan: m,
            areaKey: area ?? `C-AREA-${premises}`,
          },
          {
            guid: ch,
            deviceType: 'CHF',
            manufacturer: 'EF03',
            model: '0C0A0001',
            areaKey: area ?? `C-AREA-${premises}`,
          },
        ],
      },
      operator,
    );
    await ok(
      `mutation ($ch: EUI64!, $e: EUI64!) { linkCommsHub(commsHubGuid: $ch, esmeGuid: $e, effectiveFrom: "2025-01-01T00:00:00Z") { effectiveFrom } }`,
      { ch, e: esme },
      operator,
    );
    return { esme, ch, mpan: m };
  };

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
  };

  const ingest = async (alert: Record<string, unknown>) =>
    (
      await ok<{ ingestAlerts: { alertId: string; outcome: string }[] }>(
        `mutation ($a: [AlertInput!]!) { ingestAlerts(alerts: $a) { alertId outcome } }`,
        { a: [alert] },
        operator,
      )
    ).ingestAlerts[0];

  const newestSequence = async () =>
    (
      await ok<{ dnoDeliveryStatus: { newestSequence: string } }>(
        '{ dnoDeliveryStatus { newestSequence } }',
        {},
        dno,
      )
    ).dnoDeliveryStatus.newestSequence;

  const connect = () => {
    const client = connectDno(t.wsUrl, dno);
    wsClients.push(client);
    return client;
  };

  beforeAll(async () => {
    clock = new TestClock(T0);
    t = await startTestApp({ SCHEDULER_POLL_MS: '100', HOLD_MINUTES: '5' }, clock);
    operator = await t.token({ role: 'OPERATOR' });
    supplier = await t.token({ role: 'IS', supplierId: SUPPLIER });
    dno = await t.token({ role: 'ED', distributorIds: ['14'] });
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
  afterAll(async () => {
    await Promise.all(wsClients.map((c) => c.dispose()));
    await t.stop();
  });

  test('graphql-ws: follows the stream, acknowledges, and resumes with `after` after a restart', async () => {
    const cursor = { after: await newestSequence() };
    const handled: DnoAlertMessage[] = [];
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const p = await newPremises();
      ids.push((await ingest({ powerOutage: { commsHubGuid: p.ch, startAt: T0, mpan: p.mpan } })).alertId);
    }
    const stop = new AbortController();
    const client = connect();
    const running = followDnoAlerts(client, cursor, async (m) => void handled.push(m), stop.signal);
    await eventually(async () => (handled.length >= 2 ? true : undefined), 10_000, 'two messages');
    stop.abort();
    await running;
    await client.dispose();
    expect(await acknowledge(connect(), cursor.after)).toBe(cursor.after);
    const processed = handled.length;

    // "Restarted" with the saved cursor: the rest, then live ones, each once.
    const p = await newPremises();
    ids.push((await ingest({ powerOutage: { commsHubGuid: p.ch, startAt: T0, mpan: p.mpan } })).alertId);
    const again = new AbortController();
    const resumed = followDnoAlerts(connect(), cursor, async (m) => void handled.push(m), again.signal);
    await eventually(async () => (handled.length >= 4 ? true : undefined), 10_000, 'the rest');
    again.abort();
    await resumed;
    expect(handled.map((m) => m.alert.id)).toEqual(ids);
    expect(handled.map((m) => m.kind)).toEqual(['AD1', 'AD1', 'AD1', 'AD1']);
    const sequences = handled.map((m) => BigInt(m.sequence));
    sequences.forEach((s, i) => i > 0 && expect(s).toBe(sequences[i - 1] + 1n));
    expect(processed).toBeGreaterThanOrEqual(2);
  });

  test('graphql-ws: a dropped socket resubscribes from the last message handled, not from where it started', async () => {
    const cursor = { after: await newestSequence() };
    const received: bigint[] = []; // every message as it reaches the client, repeats included
    let socket: { terminate(): void } | undefined;
    const client = t.ws(dno, {
      retryAttempts: 5,
      retryWait: () => new Promise((r) => setTimeout(r, 50)),
      on: {
        connected: (s) => void (socket = s as { terminate(): void }),
        message: (m) => {
          if (m.type === 'next')
            received.push(BigInt((m.payload.data as { dnoAlerts: DnoAlertMessage }).dnoAlerts.sequence));
        },
      },
    });
    const handled: DnoAlertMessage[] = [];
    const stop = new AbortController();
    const running = followDnoAlerts(client, cursor, async (m) => void handled.push(m), stop.signal);
    const ingestOne = async () => {
      const p = await newPremises();
      return (await ingest({ powerOutage: { commsHubGuid: p.ch, startAt: T0, mpan: p.mpan } })).alertId;
    };
    const ids = [await ingestOne(), await ingestOne()];
    await eventually(async () => (handled.length >= 2 ? true : undefined), 10_000, 'two messages');
    socket!.terminate(); // the network drops the connection; graphql-ws reconnects on its own
    ids.push(await ingestOne());
    await eventually(
      async () => (handled.length >= 3 ? true : undefined),
      10_000,
      'the third after the drop',
    );
    stop.abort();
    await running;
    expect(handled.map((m) => m.alert.id)).toEqual(ids);
    // No message came twice: the resubscription asked for what followed the second.
    expect(new Set(received).size).toBe(received.length);
  });

  test('Apollo Client: a watched alerts query keeps the right outcomes while events arrive', async () => {
    const wsClient = connect();
    const apollo: ApolloClient = createDnoApolloClient(`${t.url}/graphql`, wsClient, dno);
    const base = await newestSequence();

    const genuine = await newPremises();
    const delivered = await ingest({
      powerOutage: { commsHubGuid: genuine.ch, startAt: T0, mpan: genuine.mpan },
    });
    const ota = await newPremises();
    await activate(ota.esme);
    const outageAt = new Date(clock.now().getTime() + 90_000);
    const held = await ingest({
      powerOutage: { commsHubGuid: ota.ch, startAt: outageAt.toISOString(), mpan: ota.mpan },
    });
    expect([delivered.outcome, held.outcome]).toEqual(['DELIVERED', 'HELD']);

    type Alerts = { alerts: { nodes: { id: string; outcome: string | null; raisedByGuid: string }[] } };
    const ALERTS = gql`
      query {
        alerts(filter: { kind: AD1 }) {
          nodes {
            id
            outcome
            raisedByGuid
          }
        }
      }
    `;
    const seen: Alerts[] = [];
    const watching = apollo
      .watchQuery<Alerts>({ query: ALERTS })
      .subscribe((result) => result.data && seen.push(result.data as Alerts));
    const outcomes = () =>
      Object.fromEntries((seen.at(-1)?.alerts.nodes ?? []).map((a) => [a.id, a.outcome]));
    await eventually(async () => (seen.length ? true : undefined), 10_000, 'the watched query');
    expect(outcomes()).toMatchObject({ [delivered.alertId]: 'DELIVERED', [held.alertId]: 'HELD' });

    type Event = { dnoAlerts: DnoAlertMessage };
    const DNO_ALERTS = gql`
      subscription ($after: String) {
        dnoAlerts(after: $after) {
          distributorId
          sequence
          kind
          alert {
            id
            outcome
            raisedByGuid
          }
          decision {
            outcome
            reasonCode
          }
          pairedWith {
            id
            outcome
          }
        }
      }
    `;
    const received: Event[] = [];
    const listen = (after: string) =>
      apollo
        .subscribe<Event>({ query: DNO_ALERTS, variables: { after } })
        .subscribe((result) => result.data && received.push(result.data));
    let subscription = listen(base);
    await eventually(async () => (received.length >= 1 ? true : undefined), 10_000, 'the first event');

    // Genuine after all: the ESME's own supply-restored alert releases the held AD1.
    await ingest({
      supplyRestored: {
        esmeGuid: ota.esme,
        alertCode: '8F35',
        interruptionAt: outageAt.toISOString(),
        restorationAt: new Date(outageAt.getTime() + 60_000).toISOString(),
        mpan: ota.mpan,
      },
    });
    await eventually(async () => (received.length >= 3 ? true : undefined), 10_000, 'the release');
    // A release before any suppression is not late: the held AD1 arrives as an AD1.
    expect(
      received.map((e) => [e.dnoAlerts.kind, e.dnoAlerts.alert.id, e.dnoAlerts.decision.outcome]),
    ).toEqual([
      ['AD1', delivered.alertId, 'DELIVERED'],
      ['AD1', held.alertId, 'RELEASED'],
      ['SUPPLY_RESTORED', expect.any(String), expect.any(String)],
    ]);
    expect(received[2].dnoAlerts.pairedWith).toMatchObject({ id: held.alertId, outcome: 'RELEASED' });
    // The events carry the alerts as they are: the cache (and so the watched list) follows them.
    await eventually(
      async () => (outcomes()[held.alertId] === 'RELEASED' ? true : undefined),
      10_000,
      'the watched list to show the release',
    );
    expect(outcomes()).toMatchObject({ [delivered.alertId]: 'DELIVERED', [held.alertId]: 'RELEASED' });

    // Resume after the last processed sequence: only what came after, and the cache stays right.
    subscription.unsubscribe();
    const last = received.at(-1)!.dnoAlerts.sequence;
    const later = await newPremises();
    const third = await ingest({ powerOutage: { commsHubGuid: later.ch, startAt: T0, mpan: later.mpan } });
    const before = received.length;
    subscription = listen(last);
    await eventually(async () => (received.length > before ? true : undefined), 10_000, 'the resumed event');
    expect(received[before].dnoAlerts).toMatchObject({
      sequence: String(BigInt(last) + 1n),
      alert: { id: third.alertId, outcome: 'DELIVERED' },
    });
    subscription.unsubscribe();

    // A replay of old messages (a consumer starting over) does not take the cache back in time.
    received.length = 0;
    subscription = listen(base);
    await eventually(async () => (received.length >= 4 ? true : undefined), 10_000, 'the replay');
    subscription.unsubscribe();
    const cached = apollo.readQuery<Alerts>({ query: ALERTS })!;
    expect(Object.fromEntries(cached.alerts.nodes.map((a) => [a.id, a.outcome]))).toMatchObject({
      [delivered.alertId]: 'DELIVERED',
      [held.alertId]: 'RELEASED',
    });
    expect(seen.flatMap((s) => s.alerts.nodes).every((a) => a.outcome !== null)).toBe(true);
    watching.unsubscribe();
    apollo.stop();
  });

  test('Apollo Client: two subscriptions from one cursor each get the whole replay only with deduplication off', async () => {
    const wsClient = connect();
    const apollo: ApolloClient = createDnoApolloClient(`${t.url}/graphql`, wsClient, dno);
    const base = await newestSequence();
    const genuine = async () => {
      const p = await newPremises();
      return (await ingest({ powerOutage: { commsHubGuid: p.ch, startAt: T0, mpan: p.mpan } })).alertId;
    };
    const replayed = [await genuine(), await genuine(), await genuine()];
    type Event = { dnoAlerts: DnoAlertMessage };
    /** A subscription from `base` and the alert IDs of the AD1s it has received. */
    const listen = (subscribe: () => ReturnType<typeof subscribeDnoAlerts>) => {
      const ids: string[] = [];
      const subscription = subscribe().subscribe((result) => {
        const message = (result.data as Event | undefined)?.dnoAlerts;
        if (message?.kind === 'AD1') ids.push(message.alert.id);
      });
      return { ids, stop: () => subscription.unsubscribe() };
    };
    const has = (ids: string[], n: number, what: string) =>
      eventually(async () => (ids.length >= n ? true : undefined), 10_000, what);
    const plain = () => apollo.subscribe<Event>({ query: gql(DNO_ALERTS), variables: { after: base } });

    // Apollo's default: the second joins the first's stream where it is and misses the replay.
    const first = listen(plain);
    await has(first.ids, 3, "the first plain subscription's replay");
    const second = listen(plain);
    // Deduplication off: each has a stream of its own.
    const own = listen(() => subscribeDnoAlerts(apollo, base));
    await has(own.ids, 3, "the first own subscription's replay");
    const ownToo = listen(() => subscribeDnoAlerts(apollo, base));
    await has(ownToo.ids, 3, "the second own subscription's replay");

    const later = await genuine();
    for (const [name, listener] of Object.entries({ first, second, own, ownToo })) {
      await has(listener.ids, listener === second ? 1 : 4, `${name}: the later AD1`);
    }
    expect(first.ids).toEqual([...replayed, later]);
    expect(second.ids).toEqual([later]);
    expect(own.ids).toEqual([...replayed, later]);
    expect(ownToo.ids).toEqual([...replayed, later]);
    for (const listener of [first, second, own, ownToo]) listener.stop();
    apollo.stop();
  });

  test("a correction: an AD1 released at its ceiling, then placed in its meter's narrow window by DCC, is withdrawn on the stream and in the cache", async () => {
    const wsClient = connect();
    const apollo: ApolloClient = createDnoApolloClient(`${t.url}/graphql`, wsClient, dno);
    const base = await newestSequence();
    const ota = await newPremises();
    const requestId = `${SUPPLIER}:${ota.esme}:${premises}`;
    await ok(
      `mutation ($a: ScheduleFirmwareActivationInput!) { scheduleFirmwareActivation(activation: $a) { id } }`,
      { a: { requestId, esmeGuid: ota.esme, imageHash: IMAGE_HASH } },
      supplier,
    );
    const cut = clock.now().getTime() + 90_000;
    const held = await ingest({
      powerOutage: { commsHubGuid: ota.ch, startAt: new Date(cut).toISOString(), mpan: ota.mpan },
    });
    expect(held.outcome).toBe('HELD');
    // No outcome by the hold ceiling (HOLD_MINUTES 5 here): released as genuine, fail open.
    clock.advance(6 * 60_000);

    type Alerts = { alerts: { nodes: { id: string; outcome: string | null }[] } };
    const RELEASED = gql`
      query {
        alerts(filter: { kind: AD1, outcome: RELEASED }) {
          nodes {
            id
            outcome
          }
        }
      }
    `;
    const released = () => apollo.readQuery<Alerts>({ query: RELEASED })?.alerts.nodes.map((a) => a.id) ?? [];
    await eventually(
      async () => {
        await apollo.query<Alerts>({ query: RELEASED, fetchPolicy: 'network-only' });
        return released().includes(held.alertId) ? true : undefined;
      },
      10_000,
      'the release at the ceiling',
    );

    const open = new Map<string, DnoAlertMessage>();
    const received: DnoAlertMessage[] = [];
    const DNO_ALERTS = gql`
      subscription ($after: String) {
        dnoAlerts(after: $after) {
          distributorId
          sequence
          kind
          alert {
            id
            outcome
          }
          decision {
            outcome
            reasonCode
          }
          pairedWith {
            id
          }
        }
      }
    `;
    const subscription = apollo
      .subscribe<{ dnoAlerts: DnoAlertMessage }>({ query: DNO_ALERTS, variables: { after: base } })
      .subscribe((result) => {
        if (!result.data) return;
        received.push(result.data.dnoAlerts);
        applyToOpenOutages(open, result.data.dnoAlerts);
        applyCorrectionToCache(apollo.cache, result.data.dnoAlerts);
      });
    await eventually(async () => (open.has(held.alertId) ? true : undefined), 10_000, 'the released AD1');

    // DCC's outcome, late: the meter executed 10 s before its hub went dark.
    await ingest({
      activationOutcome: {
        esmeGuid: ota.esme,
        alertCode: '8F66',
        requestId,
        outcomeCode: 'success',
        executedAt: new Date(cut - 10_000).toISOString(),
        firmwareVersion: '00020130',
      },
    });
    await eventually(
      async () => (received.some((m) => m.kind === 'WITHDRAWN') ? true : undefined),
      10_000,
      'the withdrawal',
    );
    const withdrawn = received.find((m) => m.kind === 'WITHDRAWN')!;
    expect(withdrawn).toMatchObject({
      alert: { id: held.alertId, outcome: 'SUPPRESSED' },
      decision: { outcome: 'SUPPRESSED', reasonCode: 'OTA_INDUCED' },
    });
    expect(open.has(held.alertId)).toBe(false);
    // The cached list of released AD1s no longer holds it, without a refetch.
    expect(released()).not.toContain(held.alertId);
    subscription.unsubscribe();
    apollo.stop();
  });
});
