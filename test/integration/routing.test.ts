import fs from 'node:fs';
import path from 'node:path';
import { startTestApp, subscribe, TestClock } from '../support/app';
import type { TestApp } from '../support/app';
import { guid, mpan, ok } from '../support/integration';

/**
 * Routing fallbacks end to end (src/domain/routing.ts): an AD1 whose MPAN has a bad check digit
 * reaches the DNO of the ESME its hub was linked to at the outage start, flagged, through
 * ingestAlerts and POST /duis alike; a well-formed MPAN of a known prefix routes by the prefix;
 * what has no owner stays in the UNROUTED queue and ingestAlerts says why.
 */

const SCHEMA_DIR = path.resolve(__dirname, '../../../shared/reference/duis');
const AD1_XML = fs.readFileSync(path.resolve(__dirname, '../fixtures/duis/ad1-power-outage.xml'), 'utf8');

const ESME = (n: number) => guid('DE-00-00-00-00-51', n);
const CH = (n: number) => guid('DE-00-00-00-00-52', n);
const LINKED_FROM = '2029-01-01T00:00:00Z';
const RELINKED_AT = '2030-01-05T00:00:00Z';

/** The same MPAN with its check digit off by one. */
const badCheckDigit = (m: string) => `${m.slice(0, 12)}${(Number(m[12]) + 1) % 10}`;

const INGEST = `mutation ($a: [AlertInput!]!) {
  ingestAlerts(alerts: $a) { alertId duplicate outcome unroutedReason routedBy } }`;
const ALERT = `query ($id: ID!) { alert(id: $id) {
  id mpan mpanCheckDigitValid distributorId unroutedReason routedBy } }`;
const DNO_ALERTS = `subscription ($d: String) {
  dnoAlerts(distributorId: $d) { kind alert { id mpan mpanCheckDigitValid distributorId routedBy } } }`;

interface IngestAnswer {
  alertId: string;
  duplicate: boolean;
  outcome: string | null;
  unroutedReason: string | null;
  routedBy: string | null;
}
interface DnoAlertEvent {
  dnoAlerts: {
    kind: string;
    alert: {
      id: string;
      mpan: string;
      mpanCheckDigitValid: boolean;
      distributorId: string | null;
      routedBy: string | null;
    };
  };
}

describe('routing an AD1 its own MPAN cannot route', () => {
  const clock = new TestClock('2030-01-10T08:00:00Z');
  let t: TestApp;
  let operator: string;

  const ingest = async (alerts: Record<string, unknown>[]): Promise<IngestAnswer[]> =>
    ok((await t.gql<{ ingestAlerts: IngestAnswer[] }>(INGEST, { a: alerts }, operator)).body).ingestAlerts;
  const ad1 = (ch: string, startAt: string, m: string) => ({
    powerOutage: { commsHubGuid: ch, startAt, mpan: m },
  });
  const alert = async (id: string) =>
    ok((await t.gql<{ alert: Record<string, unknown> }>(ALERT, { id }, operator)).body).alert;

  beforeAll(async () => {
    t = await startTestApp({ DUIS_SCHEMA_DIR: SCHEMA_DIR, SCHEDULER_POLL_MS: '100' }, clock);
    operator = await t.token({ role: 'OPERATOR', ttlSeconds: 30 * 24 * 3600 });
    // 1: CH 1 powered by ESME 1 (Eastern). 2: CH 2 powered by ESME 2 (London) until RELINKED_AT,
    // then by ESME 3 (Yorkshire).
    const devices = [
      { guid: ESME(1), deviceType: 'ESME', mpan: mpan(10, 501) },
      { guid: ESME(2), deviceType: 'ESME', mpan: mpan(12, 502) },
      { guid: ESME(3), deviceType: 'ESME', mpan: mpan(23, 503) },
      { guid: CH(1), deviceType: 'CHF' },
      { guid: CH(2), deviceType: 'CHF' },
      { guid: CH(3), deviceType: 'CHF' },
    ].map((d) => ({
      ...d,
      manufacturer: 'AB01',
      model: '0C0C0C0C',
      firmwareVersion: '00010001',
      firmwareEffectiveFrom: LINKED_FROM,
      areaKey: 'ROUTING-1',
    }));
    ok(
      (
        await t.gql(
          `mutation ($d: [DeviceInput!]!) { upsertDevices(devices: $d) { inserted } }`,
          { d: devices },
          operator,
        )
      ).body,
    );
    const link = async (ch: string, esme: string, from: string) =>
      ok(
        (
          await t.gql(
            `mutation { linkCommsHub(commsHubGuid: "${ch}", esmeGuid: "${esme}", effectiveFrom: "${from}") { esmeGuid } }`,
            {},
            operator,
          )
        ).body,
      );
    await link(CH(1), ESME(1), LINKED_FROM);
    await link(CH(2), ESME(2), LINKED_FROM);
    await link(CH(2), ESME(3), RELINKED_AT);
  });
  afterAll(() => t?.stop());

  test('a bad check digit from a linked hub reaches the linked ESME’s DNO, flagged', async () => {
    const sent = badCheckDigit(mpan(12, 901)); // names London; the linked ESME is Eastern
    const dno10 = subscribe<DnoAlertEvent>(t.ws(operator), DNO_ALERTS, { d: '10' });
    const [r] = await ingest([ad1(CH(1), '2030-01-10T07:50:00Z', sent)]);
    expect(r).toMatchObject({ duplicate: false, unroutedReason: null, routedBy: 'COMMS_HUB_LINK' });
    expect(await alert(r.alertId)).toEqual({
      id: r.alertId,
      mpan: sent,
      mpanCheckDigitValid: false,
      distributorId: '10',
      unroutedReason: null,
      routedBy: 'COMMS_HUB_LINK',
    });
    const [event] = await dno10.waitFor(1);
    expect(event.dnoAlerts).toEqual({
      kind: 'AD1',
      alert: {
        id: r.alertId,
        mpan: sent,
        mpanCheckDigitValid: false,
        distributorId: '10',
        routedBy: 'COMMS_HUB_LINK',
      },
    });
    dno10.dispose();
  });

  test('the link valid at the outage start routes it, not the one valid now', async () => {
    const sent = badCheckDigit(mpan(99, 902)); // an unknown prefix: only the link can route it
    const [before, after] = await ingest([
      ad1(CH(2), '2030-01-04T23:59:59Z', sent),
      ad1(CH(2), RELINKED_AT, sent),
    ]);
    expect(before).toMatchObject({ routedBy: 'COMMS_HUB_LINK', unroutedReason: null });
    expect(await alert(before.alertId)).toMatchObject({ distributorId: '12' });
    expect(await alert(after.alertId)).toMatchObject({ distributorId: '23' });
  });

  test('without a link, a well-formed MPAN of a known prefix routes by the prefix', async () => {
    const sent = badCheckDigit(mpan(15, 903));
    const [r] = await ingest([ad1(CH(3), '2030-01-10T07:51:00Z', sent)]);
    expect(r).toMatchObject({ unroutedReason: null, routedBy: 'MPAN_PREFIX' });
    expect(await alert(r.alertId)).toMatchObject({
      mpan: sent,
      mpanCheckDigitValid: false,
      distributorId: '15',
    });
  });

  test('what has no owner stays UNROUTED, and ingestAlerts says why', async () => {
    const [unknown, malformed, valid] = await ingest([
      ad1(CH(3), '2030-01-10T07:52:00Z', mpan(99, 904)),
      ad1(CH(3), '2030-01-10T07:53:00Z', '12345'),
      ad1(CH(3), '2030-01-10T07:54:00Z', mpan(12, 905)),
    ]);
    expect(unknown).toMatchObject({ unroutedReason: 'UNKNOWN_DISTRIBUTOR', routedBy: null });
    expect(malformed).toMatchObject({ unroutedReason: 'MALFORMED_MPAN', routedBy: null });
    expect(valid).toMatchObject({ unroutedReason: null, routedBy: 'MPAN' });
    expect(await alert(unknown.alertId)).toMatchObject({
      distributorId: null,
      unroutedReason: 'UNKNOWN_DISTRIBUTOR',
    });
    expect(await alert(valid.alertId)).toMatchObject({ distributorId: '12', routedBy: 'MPAN' });
  });

  test('a restore with a bad MPAN is routed by its ESME’s inventory MPAN', async () => {
    const sent = badCheckDigit(mpan(12, 907));
    const [r] = await ingest([
      {
        supplyRestored: {
          esmeGuid: ESME(1),
          alertCode: '8F36',
          interruptionAt: '2030-01-10T06:00:00Z',
          restorationAt: '2030-01-10T06:30:00Z',
          mpan: sent,
        },
      },
    ]);
    expect(r).toMatchObject({ unroutedReason: null, routedBy: 'ESME_INVENTORY' });
    expect(await alert(r.alertId)).toMatchObject({
      mpan: sent,
      mpanCheckDigitValid: false,
      distributorId: '10',
    });
  });

  test('POST /duis routes a bad-check-digit AD1 by the hub link the same way', async () => {
    const sent = badCheckDigit(mpan(12, 906));
    const xml = AD1_XML.replace(/00-DB-12-34-56-78-90-C0/g, CH(1))
      .replace(/<sr:ResponseID>[^<]*</, `<sr:ResponseID>${CH(1)}:90-B3-D5-1F-30-02-00-00:906<`)
      .replace(/<sr:StartDateTime>[^<]*</, '<sr:StartDateTime>2030-01-10T07:55:00.00Z<')
      .replace(/<sr:MPxN>[^<]*</, `<sr:MPxN>${sent}<`);
    const res = await fetch(`${t.url}/duis`, {
      method: 'POST',
      headers: { 'content-type': 'application/xml', authorization: `Bearer ${operator}` },
      body: xml,
    });
    const body = (await res.json()) as { results?: Record<string, unknown>[]; errors?: unknown };
    expect({ status: res.status, errors: body.errors }).toEqual({ status: 200, errors: undefined });
    expect(body.results?.[0]).toMatchObject({
      kind: 'AD1',
      unroutedReason: null,
      routedBy: 'COMMS_HUB_LINK',
    });
    expect(await alert(body.results![0].alertId as string)).toMatchObject({
      mpan: sent,
      mpanCheckDigitValid: false,
      distributorId: '10',
      routedBy: 'COMMS_HUB_LINK',
    });
  });
});
