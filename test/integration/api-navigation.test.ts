import { TestClock, startTestApp } from '../support/app';
import type { TestApp } from '../support/app';
import { expectError, guid, mpan, ok } from '../support/integration';

/**
 * Navigating the graph: `totalCount` and `orderBy` on the paged connections, an alert's links to
 * the devices behind it (`raisedBy`, `esme`, across a hub swap), and global IDs (`nodeId`,
 * `node(id:)`) read with the same rules as each type's own query.
 */
const ESME = (n: number) => guid('C7-00-00-00-00-E0', n);
const CH = (n: number) => guid('C7-00-00-00-00-C0', n);
const LINKED_FROM = '2030-01-01T00:00:00Z';
const SWAPPED_AT = '2030-01-05T00:00:00Z';

const INGEST = `mutation ($a: [AlertInput!]!) { ingestAlerts(alerts: $a) { alertId } }`;
const PAGE = `query ($first: Int, $after: String, $orderBy: AlertOrder, $filter: AlertFilterInput) {
  alerts(first: $first, after: $after, orderBy: $orderBy, filter: $filter) {
    totalCount nodes { id receivedAt } pageInfo { endCursor hasNextPage } } }`;
const LINKS = `query ($id: ID!) { alert(id: $id) { nodeId raisedBy { guid } esme { guid mpan } } }`;
const NODE = `query ($id: ID!) { node(id: $id) {
  __typename nodeId ... on Alert { id } ... on Device { guid } ... on FirmwareActivation { id } } }`;

interface AlertPage {
  alerts: {
    totalCount: number;
    nodes: { id: string; receivedAt: string }[];
    pageInfo: { endCursor: string | null; hasNextPage: boolean };
  };
}

describe('connections, device links and global IDs', () => {
  const clock = new TestClock('2030-01-10T08:00:00Z');
  let t: TestApp;
  let operator: string;
  let ed12: string;
  let ed14: string;
  /** AD1 IDs by hub: CH 1 (ESME 1, DNO 12) three, CH 2 (ESME 2 then ESME 3, DNO 14) two. */
  const ids: string[] = [];

  const ad1 = async (ch: string, startAt: string, m: string) => {
    clock.advance(1000);
    const body = (
      await t.gql<{ ingestAlerts: { alertId: string }[] }>(
        INGEST,
        { a: [{ powerOutage: { commsHubGuid: ch, startAt, mpan: m } }] },
        operator,
      )
    ).body;
    ids.push(ok(body).ingestAlerts[0].alertId);
  };
  const page = async (token: string, variables: Record<string, unknown>) =>
    (await t.gql<AlertPage>(PAGE, variables, token)).body;

  beforeAll(async () => {
    t = await startTestApp({}, clock);
    operator = await t.token({ role: 'OPERATOR' });
    ed12 = await t.token({ role: 'ED', distributorIds: ['12'] });
    ed14 = await t.token({ role: 'ED', distributorIds: ['14'] });
    const devices = [
      { guid: ESME(1), deviceType: 'ESME', mpan: mpan(12, 701) },
      { guid: ESME(2), deviceType: 'ESME', mpan: mpan(14, 702) },
      { guid: ESME(3), deviceType: 'ESME', mpan: mpan(14, 703) },
      { guid: CH(1), deviceType: 'CHF' },
      { guid: CH(2), deviceType: 'CHF' },
    ].map((d) => ({ ...d, manufacturer: 'AB01', model: '0C0C0C0C', firmwareVersion: '00010001' }));
    ok(
      (
        await t.gql(
          `mutation ($d: [DeviceInput!]!) { upsertDevices(devices: $d) { inserted } }`,
          { d: devices },
          operator,
        )
      ).body,
    );
    for (const [ch, esme, from] of [
      [CH(1), ESME(1), LINKED_FROM],
      [CH(2), ESME(2), LINKED_FROM],
      [CH(2), ESME(3), SWAPPED_AT],
    ]) {
      ok(
        (
          await t.gql(
            `mutation ($ch: EUI64!, $e: EUI64!, $f: DateTime) { linkCommsHub(commsHubGuid: $ch, esmeGuid: $e, effectiveFrom: $f) { esmeGuid } }`,
            { ch, e: esme, f: from },
            operator,
          )
        ).body,
      );
    }
    await ad1(CH(1), '2030-01-10T07:00:00Z', mpan(12, 701));
    await ad1(CH(1), '2030-01-10T07:10:00Z', mpan(12, 701));
    await ad1(CH(1), '2030-01-10T07:20:00Z', mpan(12, 701));
    await ad1(CH(2), '2030-01-03T07:00:00Z', mpan(14, 702)); // before the swap: ESME 2
    await ad1(CH(2), '2030-01-10T07:30:00Z', mpan(14, 703)); // after it: ESME 3
  });
  afterAll(() => t?.stop());

  test('totalCount counts every match in the caller’s scope, whatever the page', async () => {
    expect(ok(await page(operator, { first: 2 })).alerts.totalCount).toBe(5);
    expect(ok(await page(ed12, { first: 1 })).alerts.totalCount).toBe(3);
    expect(ok(await page(ed14, {})).alerts.totalCount).toBe(2);
    expect(ok(await page(operator, { filter: { deviceGuid: CH(2) } })).alerts.totalCount).toBe(2);
    const first = ok(await page(ed12, { first: 2 })).alerts;
    const second = ok(await page(ed12, { first: 2, after: first.pageInfo.endCursor })).alerts;
    expect(second.totalCount).toBe(3);
    expect(second.nodes.map((n) => n.id)).toEqual([ids[0]]);
  });

  test('orderBy walks the alerts oldest first, page by page, with nothing skipped or repeated', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (let i = 0; i < 5; i++) {
      const p: AlertPage['alerts'] = ok(
        await page(operator, { first: 2, after, orderBy: { field: 'RECEIVED_AT', direction: 'ASC' } }),
      ).alerts;
      seen.push(...p.nodes.map((n) => n.id));
      after = p.pageInfo.endCursor;
      if (!p.pageInfo.hasNextPage) break;
    }
    expect(seen).toEqual(ids);
    const newest = ok(await page(operator, { orderBy: { direction: 'DESC' } })).alerts.nodes.map((n) => n.id);
    expect(newest).toEqual([...ids].reverse());
  });

  test('a cursor is a place in one order: under the other direction it is INVALID_CURSOR', async () => {
    const asc = ok(await page(operator, { first: 1, orderBy: { direction: 'ASC' } })).alerts.pageInfo
      .endCursor;
    const desc = ok(await page(operator, { first: 1 })).alerts.pageInfo.endCursor;
    expectError(await page(operator, { after: asc }), 'BAD_USER_INPUT', 'INVALID_CURSOR');
    expectError(
      await page(operator, { after: desc, orderBy: { direction: 'ASC' } }),
      'BAD_USER_INPUT',
      'INVALID_CURSOR',
    );
  });

  test('devices and activations page in either direction too, with their totals', async () => {
    const q = `query ($o: DeviceOrder) { devices(first: 2, orderBy: $o, filter: { model: "0C0C0C0C" }) {
      totalCount nodes { guid } } }`;
    const asc = ok(
      (await t.gql<{ devices: { totalCount: number; nodes: { guid: string }[] } }>(q, {}, operator)).body,
    );
    const desc = ok(
      (
        await t.gql<{ devices: { totalCount: number; nodes: { guid: string }[] } }>(
          q,
          { o: { direction: 'DESC' } },
          operator,
        )
      ).body,
    );
    expect(asc.devices.totalCount).toBe(5);
    const all = [CH(1), CH(2), ESME(1), ESME(2), ESME(3)].sort();
    expect(asc.devices.nodes.map((d) => d.guid)).toEqual(all.slice(0, 2));
    expect(desc.devices.nodes.map((d) => d.guid)).toEqual([...all].reverse().slice(0, 2));
    const activations = ok(
      (
        await t.gql<{ activations: { totalCount: number } }>(
          `{ activations(orderBy: { direction: ASC }) { totalCount nodes { id } } }`,
          {},
          operator,
        )
      ).body,
    );
    expect(activations.activations.totalCount).toBe(0);
  });

  test('an AD1 links to its hub and to the meter that powered it then, across a hub swap', async () => {
    type Links = {
      alert: {
        nodeId: string;
        raisedBy: { guid: string } | null;
        esme: { guid: string; mpan: string } | null;
      };
    };
    const before = ok((await t.gql<Links>(LINKS, { id: ids[3] }, operator)).body).alert;
    const after = ok((await t.gql<Links>(LINKS, { id: ids[4] }, operator)).body).alert;
    expect(before.raisedBy).toEqual({ guid: CH(2) });
    expect(before.esme).toEqual({ guid: ESME(2), mpan: mpan(14, 702) });
    expect(after.esme).toEqual({ guid: ESME(3), mpan: mpan(14, 703) });
    // A DNO reads its meter, not the hub (hubs carry no MPAN).
    const dno = ok((await t.gql<Links>(LINKS, { id: ids[4] }, ed14)).body).alert;
    expect(dno.raisedBy).toBeNull();
    expect(dno.esme).toEqual({ guid: ESME(3), mpan: mpan(14, 703) });
  });

  test('node(id:) fetches each type again by its global ID, within the reader’s scope', async () => {
    type NodeAnswer = { node: { __typename: string; nodeId: string; id?: string; guid?: string } | null };
    const alert = ok(
      (await t.gql<{ alert: { nodeId: string } }>(LINKS, { id: ids[0] }, operator)).body,
    ).alert;
    const device = ok(
      (
        await t.gql<{ device: { nodeId: string } }>(
          `query ($g: EUI64!) { device(guid: $g) { nodeId } }`,
          { g: ESME(1) },
          operator,
        )
      ).body,
    ).device;
    expect(ok((await t.gql<NodeAnswer>(NODE, { id: alert.nodeId }, operator)).body).node).toEqual({
      __typename: 'Alert',
      nodeId: alert.nodeId,
      id: ids[0],
    });
    expect(ok((await t.gql<NodeAnswer>(NODE, { id: device.nodeId }, ed12)).body).node).toEqual({
      __typename: 'Device',
      nodeId: device.nodeId,
      guid: ESME(1),
    });
    // Another DNO's alert and meter: null, as alert(id:) and device(guid:) answer.
    expect(ok((await t.gql<NodeAnswer>(NODE, { id: alert.nodeId }, ed14)).body).node).toBeNull();
    expect(ok((await t.gql<NodeAnswer>(NODE, { id: device.nodeId }, ed14)).body).node).toBeNull();
    // A supplier may not read alerts at all, whichever way it asks.
    const supplier = await t.token({ role: 'IS', supplierId: '90-B3-D5-1F-30-0A-00-00' });
    expectError((await t.gql<NodeAnswer>(NODE, { id: alert.nodeId }, supplier)).body, 'FORBIDDEN');
    // Not an ID this service issued: a clear error, not null and not INTERNAL.
    for (const forged of [
      'nonsense',
      Buffer.from('Alert:abc').toString('base64url'),
      Buffer.from('Invoice:1').toString('base64url'),
    ]) {
      expectError(
        (await t.gql<NodeAnswer>(NODE, { id: forged }, operator)).body,
        'BAD_USER_INPUT',
        'INVALID_NODE_ID',
      );
    }
  });
});
