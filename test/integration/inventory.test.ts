import { startTestApp } from '../support/app';
import type { TestApp } from '../support/app';
import { expectError, guid, mpan, ok, rowCounts } from '../support/integration';

/**
 * The device inventory through the public API: upsertDevices, linkCommsHub, devices/device and
 * networkOperators. The app runs with MAX_BATCH_SIZE=5 so the batch limit is reachable.
 */

const UPSERT = `mutation ($d: [DeviceInput!]!) { upsertDevices(devices: $d) { inserted updated firmwareChanges } }`;
const LINK = `mutation ($ch: EUI64!, $esme: EUI64!, $from: DateTime) {
  linkCommsHub(commsHubGuid: $ch, esmeGuid: $esme, effectiveFrom: $from) { commsHubGuid esmeGuid effectiveFrom effectiveTo }
}`;
const DEVICE = `query ($g: EUI64!) {
  device(guid: $g) {
    guid deviceType manufacturer model firmwareVersion smiStatus mpan distributorId areaKey
    firmwareHistory { firmwareVersion effectiveFrom source }
    commsHubLinks { commsHubGuid esmeGuid effectiveFrom effectiveTo }
  }
}`;
const DEVICES = `query ($f: DeviceFilterInput, $first: Int, $after: String) {
  devices(filter: $f, first: $first, after: $after) { nodes { guid distributorId } pageInfo { endCursor hasNextPage } }
}`;

interface DeviceView {
  guid: string;
  deviceType: string;
  manufacturer: string | null;
  model: string | null;
  firmwareVersion: string | null;
  smiStatus: string;
  mpan: string | null;
  distributorId: string | null;
  areaKey: string | null;
  firmwareHistory: { firmwareVersion: string; effectiveFrom: string; source: string }[];
  commsHubLinks: {
    commsHubGuid: string;
    esmeGuid: string;
    effectiveFrom: string;
    effectiveTo: string | null;
  }[];
}
interface DevicesPage {
  devices: {
    nodes: { guid: string; distributorId: string | null }[];
    pageInfo: { endCursor: string | null; hasNextPage: boolean };
  };
}
type UpsertResult = { upsertDevices: { inserted: number; updated: number; firmwareChanges: number } };

const esme = (g: string, extra: Record<string, unknown> = {}) => ({
  guid: g,
  deviceType: 'ESME',
  manufacturer: 'AB01',
  model: '010A030B',
  firmwareVersion: '0002012F',
  mpan: mpan(12, 1),
  ...extra,
});

describe('inventory: upsertDevices, linkCommsHub, devices', () => {
  let t: TestApp;
  let operator: string;

  beforeAll(async () => {
    t = await startTestApp({ MAX_BATCH_SIZE: '5' });
    operator = await t.token({ role: 'OPERATOR' });
  });
  afterAll(() => t?.stop());

  const device = async (g: string, token = operator) =>
    (await t.gql<{ device: DeviceView | null }>(DEVICE, { g }, token)).body;

  describe('upsertDevices', () => {
    const A = guid('AA-00-00-00-00-01', 1);
    const B = guid('AA-00-00-00-00-01', 2);

    test('inserts, then updates: counts, and firmware history grows only when the version changes', async () => {
      const first = await t.gql<UpsertResult>(
        UPSERT,
        {
          d: [
            esme(A, { firmwareEffectiveFrom: '2024-01-01T00:00:00Z', mpan: mpan(12, 101) }),
            esme(B, {
              firmwareVersion: '00010001',
              firmwareEffectiveFrom: '2024-02-01T00:00:00+01:00',
              mpan: mpan(15, 102),
            }),
          ],
        },
        operator,
      );
      expect(ok(first.body).upsertDevices).toEqual({ inserted: 2, updated: 0, firmwareChanges: 2 });

      // A keeps its version (no history row), B moves on with an explicit effective time.
      const second = await t.gql<UpsertResult>(
        UPSERT,
        {
          d: [
            esme(A, { mpan: mpan(12, 101), areaKey: 'UPSERT-AREA' }),
            esme(B, {
              firmwareVersion: '00010002',
              firmwareEffectiveFrom: '2024-06-01T12:30:00Z',
              mpan: mpan(15, 102),
            }),
          ],
        },
        operator,
      );
      expect(ok(second.body).upsertDevices).toEqual({ inserted: 0, updated: 2, firmwareChanges: 1 });

      const a = ok(await device(A)).device!;
      expect(a.areaKey).toBe('UPSERT-AREA');
      expect(a.firmwareHistory).toEqual([
        { firmwareVersion: '0002012F', effectiveFrom: '2024-01-01T00:00:00.000Z', source: 'INVENTORY' },
      ]);
      const b = ok(await device(B)).device!;
      expect(b.firmwareVersion).toBe('00010002');
      expect(b.distributorId).toBe('15');
      expect(b.firmwareHistory.map((h) => h.firmwareVersion)).toEqual(['00010001', '00010002']);
      expect(b.firmwareHistory[1]).toEqual({
        firmwareVersion: '00010002',
        effectiveFrom: '2024-06-01T12:30:00.000Z',
        source: 'INVENTORY',
      });
      expect(b.firmwareHistory[0].effectiveFrom).toBe('2024-01-31T23:00:00.000Z');

      // Sending the same batch again writes no history.
      const again = await t.gql<UpsertResult>(
        UPSERT,
        { d: [esme(A, { mpan: mpan(12, 101), areaKey: 'UPSERT-AREA' })] },
        operator,
      );
      expect(ok(again.body).upsertDevices).toEqual({ inserted: 0, updated: 1, firmwareChanges: 0 });
    });

    test('normalises GUIDs and hex attributes: lower case in, upper case out; bare 16 hex digits accepted', async () => {
      const res = await t.gql<UpsertResult>(
        UPSERT,
        {
          d: [
            {
              guid: 'aa-00-00-00-00-02-0a-bc',
              deviceType: 'CHF',
              manufacturer: 'ab01',
              model: '010a030b',
              firmwareVersion: '0001000f',
            },
            { guid: 'aa000000000200DE', deviceType: 'ESME', mpan: ' 12 0002330596 7 ' },
          ],
        },
        operator,
      );
      expect(ok(res.body).upsertDevices).toEqual({ inserted: 2, updated: 0, firmwareChanges: 1 });
      const ch = ok(await device('AA-00-00-00-00-02-0A-BC')).device!;
      expect(ch).toMatchObject({
        guid: 'AA-00-00-00-00-02-0A-BC',
        deviceType: 'CHF',
        manufacturer: 'AB01',
        model: '010A030B',
        firmwareVersion: '0001000F',
        smiStatus: 'Commissioned',
        mpan: null,
      });
      // Without firmwareEffectiveFrom the version took effect "now".
      expect(ch.firmwareHistory).toHaveLength(1);
      expect(Math.abs(Date.parse(ch.firmwareHistory[0].effectiveFrom) - Date.now())).toBeLessThan(60_000);
      // The device query accepts the other spellings of the GUID too.
      const bare = ok(await device('aa000000000200de')).device!;
      expect(bare.guid).toBe('AA-00-00-00-00-02-00-DE');
      expect(bare.mpan).toBe('1200023305967');
      expect(bare.distributorId).toBe('12');
    });

    const rejected: [string, Record<string, unknown>[], string, string][] = [
      [
        'a malformed EUI-64 in the middle of a 3-device batch',
        [
          esme(guid('AA-00-00-00-00-03', 1)),
          esme('AA-00-00-00-00-03-02-X2'),
          esme(guid('AA-00-00-00-00-03', 3)),
        ],
        'INVALID_EUI64',
        'devices[1].guid',
      ],
      [
        'an MPAN with a wrong check digit',
        [esme(guid('AA-00-00-00-00-03', 4)), esme(guid('AA-00-00-00-00-03', 5), { mpan: '1200023305968' })],
        'INVALID_MPAN_CHECK_DIGIT',
        'devices[1].mpan',
      ],
      [
        'the same GUID twice (in two spellings)',
        [esme(guid('AA-00-00-00-00-03', 6)), esme(guid('AA-00-00-00-00-03', 6).toLowerCase())],
        'DUPLICATE_IN_BATCH',
        'devices[1].guid',
      ],
      [
        'a manufacturer ID that is not 4 hex digits',
        [esme(guid('AA-00-00-00-00-03', 7), { manufacturer: 'AB0G' })],
        'INVALID_MANUFACTURER_ID',
        'devices[0].manufacturer',
      ],
      [
        'a model ID that is not 8 hex digits',
        [esme(guid('AA-00-00-00-00-03', 8)), esme(guid('AA-00-00-00-00-03', 9), { model: '010A030' })],
        'INVALID_MODEL_ID',
        'devices[1].model',
      ],
      [
        'six devices with MAX_BATCH_SIZE=5',
        [1, 2, 3, 4, 5, 6].map((i) => esme(guid('AA-00-00-00-00-04', i))),
        'BATCH_TOO_LARGE',
        'devices',
      ],
    ];
    test.each(rejected)(
      'rejects %s and writes nothing for the whole batch',
      async (_what, batch, reason, field) => {
        // An existing device in the batch must not be touched either.
        const existing = guid('AA-00-00-00-00-03', 0xff);
        ok((await t.gql(UPSERT, { d: [esme(existing, { firmwareVersion: '00000001' })] }, operator)).body);
        const before = await rowCounts(t, 'device', 'device_firmware');
        const withExisting =
          reason === 'BATCH_TOO_LARGE' ? batch : [esme(existing, { firmwareVersion: '00000002' }), ...batch];
        const { body } = await t.gql(UPSERT, { d: withExisting }, operator);
        const ext = expectError(body, 'BAD_USER_INPUT', reason);
        const shift = reason === 'BATCH_TOO_LARGE' ? 0 : 1;
        const expectedField = field.replace(
          /devices\[(\d+)\]/,
          (_m, i: string) => `devices[${Number(i) + shift}]`,
        );
        expect(ext.field).toBe(expectedField);
        if (reason === 'BATCH_TOO_LARGE') expect(ext.limit).toBe(5);
        expect(body.data).toBeNull();
        expect(await rowCounts(t, 'device', 'device_firmware')).toEqual(before);
        expect(ok(await device(existing)).device!.firmwareVersion).toBe('00000001');
      },
    );

    test('an empty batch is refused', async () => {
      const { body } = await t.gql(UPSERT, { d: [] }, operator);
      expectError(body, 'BAD_USER_INPUT', 'EMPTY_BATCH');
    });

    test('only OPERATOR may upsert: ED and IS are FORBIDDEN, anonymous is UNAUTHENTICATED', async () => {
      const before = await rowCounts(t, 'device', 'device_firmware');
      const d = [esme(guid('AA-00-00-00-00-05', 1))];
      const ed = await t.token({ role: 'ED', distributorIds: ['12'] });
      const is = await t.token({ role: 'IS', supplierId: '90-B3-D5-1F-30-01-00-00' });
      expectError((await t.gql(UPSERT, { d }, ed)).body, 'FORBIDDEN');
      expectError((await t.gql(UPSERT, { d }, is)).body, 'FORBIDDEN');
      expectError((await t.gql(UPSERT, { d })).body, 'UNAUTHENTICATED');
      expect(await rowCounts(t, 'device', 'device_firmware')).toEqual(before);
    });
  });

  describe('linkCommsHub', () => {
    const CH = guid('AA-00-00-00-00-10', 0xc1);
    const CH2 = guid('AA-00-00-00-00-10', 0xc2);
    const E1 = guid('AA-00-00-00-00-10', 0xe1);
    const E2 = guid('AA-00-00-00-00-10', 0xe2);
    const E3 = guid('AA-00-00-00-00-10', 0xe3);
    type Link = {
      linkCommsHub: {
        commsHubGuid: string;
        esmeGuid: string;
        effectiveFrom: string;
        effectiveTo: string | null;
      };
    };

    beforeAll(async () => {
      const ch = (g: string) => ({ guid: g, deviceType: 'CHF', manufacturer: 'AB01', model: '010A030B' });
      ok((await t.gql(UPSERT, { d: [ch(CH), ch(CH2), esme(E1), esme(E2), esme(E3)] }, operator)).body);
    });

    test('links, re-linking the same pair is idempotent, and swapping the CH to another ESME ends the old link', async () => {
      const t0 = '2025-01-01T00:00:00.000Z';
      const link = await t.gql<Link>(LINK, { ch: CH.toLowerCase(), esme: E1, from: t0 }, operator);
      expect(ok(link.body).linkCommsHub).toEqual({
        commsHubGuid: CH,
        esmeGuid: E1,
        effectiveFrom: t0,
        effectiveTo: null,
      });

      const before = await rowCounts(t, 'comms_hub_link');
      const again = await t.gql<Link>(LINK, { ch: CH, esme: E1 }, operator);
      expect(ok(again.body).linkCommsHub).toEqual({
        commsHubGuid: CH,
        esmeGuid: E1,
        effectiveFrom: t0,
        effectiveTo: null,
      });
      expect(await rowCounts(t, 'comms_hub_link')).toEqual(before);

      const t1 = '2025-03-01T10:00:00.000Z';
      const swap = await t.gql<Link>(LINK, { ch: CH, esme: E2, from: t1 }, operator);
      expect(ok(swap.body).linkCommsHub).toEqual({
        commsHubGuid: CH,
        esmeGuid: E2,
        effectiveFrom: t1,
        effectiveTo: null,
      });

      const ch = ok(await device(CH)).device!;
      expect(ch.commsHubLinks).toEqual([
        { commsHubGuid: CH, esmeGuid: E2, effectiveFrom: t1, effectiveTo: null },
        { commsHubGuid: CH, esmeGuid: E1, effectiveFrom: t0, effectiveTo: t1 },
      ]);
      // The old ESME's view shows the closed link; the new ESME's the open one.
      expect(ok(await device(E1)).device!.commsHubLinks).toEqual([
        { commsHubGuid: CH, esmeGuid: E1, effectiveFrom: t0, effectiveTo: t1 },
      ]);
      expect(ok(await device(E2)).device!.commsHubLinks).toEqual([
        { commsHubGuid: CH, esmeGuid: E2, effectiveFrom: t1, effectiveTo: null },
      ]);
    });

    test('a link dated before the current one is a CONFLICT and changes nothing', async () => {
      const t0 = '2025-05-01T00:00:00.000Z';
      ok((await t.gql<Link>(LINK, { ch: CH2, esme: E3, from: t0 }, operator)).body);
      const before = await rowCounts(t, 'comms_hub_link');
      const backdated = await t.gql(LINK, { ch: CH2, esme: E1, from: '2025-04-30T23:59:59Z' }, operator);
      expectError(backdated.body, 'CONFLICT', 'LINK_NOT_AFTER_CURRENT');
      const sameInstant = await t.gql(LINK, { ch: CH2, esme: E1, from: t0 }, operator);
      expectError(sameInstant.body, 'CONFLICT', 'LINK_NOT_AFTER_CURRENT');
      expect(await rowCounts(t, 'comms_hub_link')).toEqual(before);
      expect(ok(await device(CH2)).device!.commsHubLinks).toEqual([
        { commsHubGuid: CH2, esmeGuid: E3, effectiveFrom: t0, effectiveTo: null },
      ]);
    });

    test('an ESME as the hub is BAD_USER_INPUT NOT_A_COMMS_HUB; an unknown device is NOT_FOUND; bad GUIDs are refused', async () => {
      const before = await rowCounts(t, 'comms_hub_link');
      expectError(
        (await t.gql(LINK, { ch: E1, esme: E2 }, operator)).body,
        'BAD_USER_INPUT',
        'NOT_A_COMMS_HUB',
      );
      expectError((await t.gql(LINK, { ch: CH, esme: CH2 }, operator)).body, 'BAD_USER_INPUT', 'NOT_AN_ESME');
      expectError(
        (await t.gql(LINK, { ch: guid('AA-00-00-00-00-10', 0xdead), esme: E1 }, operator)).body,
        'NOT_FOUND',
      );
      expectError(
        (await t.gql(LINK, { ch: CH, esme: guid('AA-00-00-00-00-10', 0xbeef) }, operator)).body,
        'NOT_FOUND',
      );
      expectError(
        (await t.gql(LINK, { ch: 'not-a-guid', esme: E1 }, operator)).body,
        'BAD_USER_INPUT',
        'INVALID_EUI64',
      );
      expect(await rowCounts(t, 'comms_hub_link')).toEqual(before);
    });

    test('only OPERATOR may link', async () => {
      const before = await rowCounts(t, 'comms_hub_link');
      const ed = await t.token({ role: 'ED', distributorIds: ['12'] });
      expectError((await t.gql(LINK, { ch: CH2, esme: E2 }, ed)).body, 'FORBIDDEN');
      expectError((await t.gql(LINK, { ch: CH2, esme: E2 })).body, 'UNAUTHENTICATED');
      expect(await rowCounts(t, 'comms_hub_link')).toEqual(before);
    });
  });

  describe('devices query', () => {
    const P = 'AA-00-00-00-00-20';
    // Seven devices in one area, submitted out of GUID order and across two batches (limit 5).
    const pageGuids = [7, 3, 1, 6, 2, 5, 4].map((n) => guid(P, n * 0x11));
    const F = 'AA-00-00-00-00-21';
    const filterSet = [
      esme(guid(F, 1), { areaKey: 'FILTER', mpan: mpan(12, 2001) }),
      esme(guid(F, 2), { areaKey: 'FILTER', model: '020B0000', mpan: mpan(15, 2002) }),
      { guid: guid(F, 3), deviceType: 'CHF', manufacturer: 'AB01', model: '010A030B', areaKey: 'FILTER' },
      esme(guid(F, 4), { areaKey: 'FILTER-OTHER', mpan: mpan(12, 2004) }),
      esme(guid(F, 5), { areaKey: 'FILTER', mpan: mpan(25, 2005) }),
    ];

    beforeAll(async () => {
      const page = pageGuids.map((g, i) => esme(g, { areaKey: 'PAGE-7', mpan: mpan(12, 3000 + i) }));
      ok((await t.gql(UPSERT, { d: page.slice(0, 5) }, operator)).body);
      ok((await t.gql(UPSERT, { d: page.slice(5) }, operator)).body);
      ok((await t.gql(UPSERT, { d: filterSet }, operator)).body);
    });

    const list = async (f: Record<string, unknown>, token = operator, first?: number, after?: string) =>
      (await t.gql<DevicesPage>(DEVICES, { f, first, after }, token)).body;
    const guidsOf = (body: Awaited<ReturnType<typeof list>>) => ok(body).devices.nodes.map((n) => n.guid);

    test('cursor pagination visits every device exactly once, in GUID order', async () => {
      const seen: string[] = [];
      const pages: boolean[] = [];
      let after: string | undefined;
      for (let i = 0; i < 10; i++) {
        const page = ok(await list({ areaKey: 'PAGE-7' }, operator, 3, after)).devices;
        expect(page.nodes.length).toBeLessThanOrEqual(3);
        seen.push(...page.nodes.map((n) => n.guid));
        pages.push(page.pageInfo.hasNextPage);
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor!;
      }
      expect(pages).toEqual([true, true, false]);
      expect(seen).toEqual([...pageGuids].sort());
    });

    test('filters by deviceType, manufacturer, model, areaKey, distributorId and smiStatus', async () => {
      expect(guidsOf(await list({ areaKey: 'FILTER' }))).toEqual([
        guid(F, 1),
        guid(F, 2),
        guid(F, 3),
        guid(F, 5),
      ]);
      expect(guidsOf(await list({ areaKey: 'FILTER', deviceType: 'CHF' }))).toEqual([guid(F, 3)]);
      expect(guidsOf(await list({ areaKey: 'FILTER', deviceType: 'ESME' }))).toEqual([
        guid(F, 1),
        guid(F, 2),
        guid(F, 5),
      ]);
      expect(guidsOf(await list({ areaKey: 'FILTER', model: '020b0000' }))).toEqual([guid(F, 2)]);
      expect(guidsOf(await list({ areaKey: 'FILTER', distributorId: '12' }))).toEqual([guid(F, 1)]);
      expect(guidsOf(await list({ areaKey: 'FILTER', distributorId: '25' }))).toEqual([guid(F, 5)]);
      expect(
        guidsOf(
          await list({ areaKey: 'FILTER', manufacturer: 'ab01', deviceType: 'ESME', model: '010A030B' }),
        ),
      ).toEqual([guid(F, 1), guid(F, 5)]);
      expect(guidsOf(await list({ areaKey: 'FILTER', smiStatus: 'Decommissioned' }))).toEqual([]);
      expect(guidsOf(await list({ distributorId: '12', areaKey: 'FILTER-OTHER' }))).toEqual([guid(F, 4)]);
    });

    test('an invalid cursor is INVALID_CURSOR; page sizes outside 1-500 are INVALID_PAGE_SIZE', async () => {
      expectError(await list({}, operator, 3, 'not-a-cursor'), 'BAD_USER_INPUT', 'INVALID_CURSOR');
      const wrongArity = Buffer.from(JSON.stringify(['a', 'b'])).toString('base64url');
      expectError(await list({}, operator, 3, wrongArity), 'BAD_USER_INPUT', 'INVALID_CURSOR');
      expectError(await list({}, operator, 0), 'BAD_USER_INPUT', 'INVALID_PAGE_SIZE');
      expectError(await list({}, operator, 501), 'BAD_USER_INPUT', 'INVALID_PAGE_SIZE');
      expect(ok(await list({ areaKey: 'PAGE-7' }, operator, 500)).devices.nodes).toHaveLength(7);
    });

    test('a distributor sees only its own distributor IDs; device() of another DNO’s device is null', async () => {
      const ed15 = await t.token({ role: 'ED', distributorIds: ['15'] });
      expect(guidsOf(await list({ areaKey: 'FILTER' }, ed15))).toEqual([guid(F, 2)]);
      const all = ok(await list({}, ed15, 500)).devices.nodes;
      expect(all.length).toBeGreaterThan(0);
      expect(all.every((n) => n.distributorId === '15')).toBe(true);
      // Filtering for someone else's distributor ID does not widen the scope.
      expect(guidsOf(await list({ distributorId: '12' }, ed15))).toEqual([]);

      expect(ok(await device(guid(F, 1), ed15)).device).toBeNull();
      expect(ok(await device(guid(F, 2), ed15)).device!.guid).toBe(guid(F, 2));
      // A device without an MPAN has no distributor and is nobody's but the operator's.
      expect(ok(await device(guid(F, 3), ed15)).device).toBeNull();

      const ed12and25 = await t.token({ role: 'ED', distributorIds: ['12', '25'] });
      expect(guidsOf(await list({ areaKey: 'FILTER' }, ed12and25))).toEqual([guid(F, 1), guid(F, 5)]);
    });

    test('suppliers and anonymous callers cannot list devices', async () => {
      const is = await t.token({ role: 'IS', supplierId: '90-B3-D5-1F-30-01-00-00' });
      expectError(await list({}, is), 'FORBIDDEN');
      expectError((await t.gql(DEVICES, {})).body, 'UNAUTHENTICATED');
      expectError((await t.gql(DEVICE, { g: guid(F, 1) })).body, 'UNAUTHENTICATED');
    });
  });

  test('networkOperators lists the 14 DNOs (distributor IDs 10-23) and the IDNOs, without a token', async () => {
    const { body } = await t.gql<{
      networkOperators: { distributorId: string; kind: string; name: string }[];
    }>('{ networkOperators { distributorId kind name } }');
    const ops = ok(body).networkOperators;
    const dnos = ops.filter((o) => o.kind === 'DNO').map((o) => o.distributorId);
    expect(dnos).toEqual(Array.from({ length: 14 }, (_, i) => String(10 + i)));
    const idnos = ops.filter((o) => o.kind === 'IDNO');
    expect(idnos.length).toBeGreaterThan(0);
    expect(idnos.every((o) => Number(o.distributorId) >= 24)).toBe(true);
    expect(idnos.map((o) => o.distributorId)).toEqual(
      expect.arrayContaining(['24', '25', '26', '27', '28', '29']),
    );
    expect(ops.find((o) => o.distributorId === '12')?.name).toBe('London Power Networks');
    expect(new Set(ops.map((o) => o.distributorId)).size).toBe(ops.length);
  });
});
