import { connected, startTestApp, subscribe } from '../support/app';
import type { TestApp } from '../support/app';

const CH = '00-DB-12-34-56-78-90-A0';
const ESME = '00-DB-12-34-56-78-90-A1';
const ESME_OTHER_DNO = '00-DB-12-34-56-78-90-B1';

describe('foundation: one server, HTTP and WebSocket, on this backend', () => {
  let t: TestApp;
  let operator: string;

  beforeAll(async () => {
    t = await startTestApp();
    operator = await t.token({ role: 'OPERATOR' });
  });
  afterAll(() => t.stop());

  test('health, readiness and metrics endpoints answer', async () => {
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${t.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toContain('poa_sieve_graphql_operations_total');
  });

  test('network operators are public reference data loaded by a migration', async () => {
    const { status, body } = await t.gql<{ networkOperators: { distributorId: string; kind: string }[] }>(
      '{ networkOperators { distributorId kind name area } }',
    );
    expect(status).toBe(200);
    const ids = body.data!.networkOperators.map((o) => o.distributorId);
    expect(ids.slice(0, 14)).toEqual([
      '10',
      '11',
      '12',
      '13',
      '14',
      '15',
      '16',
      '17',
      '18',
      '19',
      '20',
      '21',
      '22',
      '23',
    ]);
    expect(body.data!.networkOperators.find((o) => o.distributorId === '25')?.kind).toBe('IDNO');
  });

  test('_service { sdl } is a Federation 2 subgraph with entity keys', async () => {
    const { body } = await t.gql<{ _service: { sdl: string } }>('{ _service { sdl } }');
    const sdl = body.data!._service.sdl;
    expect(sdl).toMatch(/@link\(url: "https:\/\/specs\.apollo\.dev\/federation\/v2\.\d+"/);
    expect(sdl).toMatch(/type Device(\s+implements Node)?\s+@key\(fields: "guid"\)/);
    expect(sdl).toMatch(/type NetworkOperator\s+@key\(fields: "distributorId"\)/);
  });

  test('a bad token is refused with UNAUTHENTICATED and HTTP 401; no token means anonymous', async () => {
    const bad = await t.gql('{ networkOperators { distributorId } }', {}, 'not.a.token');
    expect(bad.status).toBe(401);
    expect(bad.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const anonymous = await t.gql('{ devices { nodes { guid } } }');
    expect(anonymous.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  test('a subscription over WebSocket receives an event caused by a mutation over HTTP', async () => {
    const client = t.ws(operator);
    const sub = subscribe<{ inventoryChanged: { count: number; guids: string[] } }>(
      client,
      'subscription { inventoryChanged { count guids at } }',
    );
    await connected(client);
    // The subscription is registered once the server has processed the subscribe message;
    // retry the mutation until the event arrives so the test does not depend on that timing.
    const upsert = () =>
      t.gql(
        `mutation ($d: [DeviceInput!]!) { upsertDevices(devices: $d) { inserted updated firmwareChanges } }`,
        {
          d: [
            {
              guid: CH.toLowerCase(),
              deviceType: 'CHF',
              manufacturer: 'ab01',
              model: '010a030b',
              firmwareVersion: '00010001',
            },
            {
              guid: ESME,
              deviceType: 'ESME',
              manufacturer: 'AB01',
              model: '010A030B',
              firmwareVersion: '0002012F',
              mpan: '1200023305967',
              areaKey: 'LPN-SS-0042',
            },
            {
              guid: ESME_OTHER_DNO,
              deviceType: 'ESME',
              manufacturer: 'AB01',
              model: '010A030B',
              firmwareVersion: '0002012F',
              mpan: '1500012345672',
            },
          ],
        },
        operator,
      );
    const first = await upsert();
    expect(first.body.errors).toBeUndefined();
    expect(first.body.data).toEqual({ upsertDevices: { inserted: 3, updated: 0, firmwareChanges: 3 } });
    let events = await sub.waitFor(1, 3000).catch(() => null);
    if (!events) {
      await upsert();
      events = await sub.waitFor(1);
    }
    expect(events[0].inventoryChanged.count).toBe(3);
    expect(events[0].inventoryChanged.guids).toContain(CH);
    sub.dispose();
  });

  test('a distributor sees only devices on its own MPANs', async () => {
    const ed12 = await t.token({ role: 'ED', distributorIds: ['12'] });
    const { body } = await t.gql<{
      devices: { nodes: { guid: string; networkOperator: { name: string } | null }[] };
    }>('{ devices { nodes { guid networkOperator { name } } } }', {}, ed12);
    expect(body.errors).toBeUndefined();
    expect(body.data!.devices.nodes).toEqual([
      { guid: ESME, networkOperator: { name: 'London Power Networks' } },
    ]);
    const other = await t.gql<{ device: unknown }>(
      `{ device(guid: "${ESME_OTHER_DNO}") { guid } }`,
      {},
      ed12,
    );
    expect(other.body.data!.device).toBeNull();
  });

  test('WebSocket connections without a valid token are closed with 4401', async () => {
    for (const token of [undefined, 'forged.token.value']) {
      const client = t.ws(token);
      await expect(connected(client)).rejects.toMatchObject({ code: 4401 });
    }
  });
});
