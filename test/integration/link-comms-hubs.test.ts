import { startTestApp } from '../support/app';
import type { TestApp } from '../support/app';
import { expectError, guid, mpan, ok, rowCounts } from '../support/integration';

/**
 * linkCommsHubs: linkCommsHub for many links in one request, with the same checks and meaning for
 * each, all or nothing. The app runs with MAX_BATCH_SIZE=6 so the batch limit is reachable.
 */
const UPSERT = `mutation ($d: [DeviceInput!]!) { upsertDevices(devices: $d) { inserted } }`;
const LINKS = `mutation ($l: [CommsHubLinkInput!]!) {
  linkCommsHubs(links: $l) { commsHubGuid esmeGuid effectiveFrom effectiveTo }
}`;
const LINK = `mutation ($ch: EUI64!, $esme: EUI64!, $from: DateTime) {
  linkCommsHub(commsHubGuid: $ch, esmeGuid: $esme, effectiveFrom: $from) { commsHubGuid esmeGuid effectiveFrom effectiveTo }
}`;
const HISTORY = `query ($g: EUI64!) { device(guid: $g) { commsHubLinks { commsHubGuid esmeGuid effectiveFrom effectiveTo } } }`;

type Link = { commsHubGuid: string; esmeGuid: string; effectiveFrom: string; effectiveTo: string | null };

describe('linkCommsHubs', () => {
  let t: TestApp;
  let operator: string;
  let n = 0;
  /** `count` fresh hubs and ESMEs. */
  const devices = async (count: number) => {
    if (count > 3) throw new Error('at most 3 pairs per call (MAX_BATCH_SIZE=6)');
    const chs: string[] = [];
    const esmes: string[] = [];
    for (let i = 0; i < count; i++) {
      n += 1;
      chs.push(guid('BB-00-00-00-00-C0', n));
      esmes.push(guid('BB-00-00-00-00-E0', n));
    }
    ok(
      (
        await t.gql(
          UPSERT,
          {
            d: [
              ...chs.map((g) => ({ guid: g, deviceType: 'CHF', manufacturer: 'EF03', model: '0C0A0001' })),
              ...esmes.map((g, i) => ({ guid: g, deviceType: 'ESME', mpan: mpan(12, 100 + n * 10 + i) })),
            ],
          },
          operator,
        )
      ).body,
    );
    return { chs, esmes };
  };
  const links = (g: string) =>
    t
      .gql<{ device: { commsHubLinks: Link[] } }>(HISTORY, { g }, operator)
      .then((r) => ok(r.body).device.commsHubLinks);
  const bulk = (l: unknown[]) => t.gql<{ linkCommsHubs: Link[] }>(LINKS, { l }, operator);

  beforeAll(async () => {
    t = await startTestApp({ MAX_BATCH_SIZE: '6' });
    operator = await t.token({ role: 'OPERATOR' });
  });
  afterAll(() => t?.stop());

  test('links several pairs at once, returns them in input order, and a retry changes nothing', async () => {
    const { chs, esmes } = await devices(3);
    const t0 = '2025-01-01T00:00:00.000Z';
    const input = chs.map((ch, i) => ({
      commsHubGuid: ch.toLowerCase(),
      esmeGuid: esmes[i],
      effectiveFrom: t0,
    }));
    const expected = chs.map((ch, i) => ({
      commsHubGuid: ch,
      esmeGuid: esmes[i],
      effectiveFrom: t0,
      effectiveTo: null,
    }));
    expect(ok((await bulk(input)).body).linkCommsHubs).toEqual(expected);
    const before = await rowCounts(t, 'comms_hub_link');
    // A retry (even without effectiveFrom) is idempotent, as linkCommsHub is.
    expect(ok((await bulk(input.map(({ effectiveFrom: _, ...l }) => l))).body).linkCommsHubs).toEqual(
      expected,
    );
    expect(await rowCounts(t, 'comms_hub_link')).toEqual(before);
  });

  test('has linkCommsHub’s meaning: re-linking ends current links, two meters can swap hubs in one batch', async () => {
    const a = await devices(2);
    const b = await devices(2);
    const t0 = '2025-01-01T00:00:00.000Z';
    const t1 = '2025-02-01T00:00:00.000Z';
    const t2 = '2025-02-02T00:00:00.000Z';
    // The same history through linkCommsHub (pairs a) and linkCommsHubs (pairs b).
    for (const [i, j, from] of [
      [0, 0, t0],
      [1, 1, t0],
    ] as const)
      ok((await t.gql(LINK, { ch: a.chs[i], esme: a.esmes[j], from }, operator)).body);
    ok((await t.gql(LINK, { ch: a.chs[0], esme: a.esmes[1], from: t1 }, operator)).body);
    ok((await t.gql(LINK, { ch: a.chs[1], esme: a.esmes[0], from: t2 }, operator)).body);
    ok(
      (
        await bulk([
          { commsHubGuid: b.chs[0], esmeGuid: b.esmes[0], effectiveFrom: t0 },
          { commsHubGuid: b.chs[1], esmeGuid: b.esmes[1], effectiveFrom: t0 },
        ])
      ).body,
    );
    const swapped = ok(
      (
        await bulk([
          { commsHubGuid: b.chs[0], esmeGuid: b.esmes[1], effectiveFrom: t1 },
          { commsHubGuid: b.chs[1], esmeGuid: b.esmes[0], effectiveFrom: t2 },
        ])
      ).body,
    ).linkCommsHubs;
    expect(swapped.map((l) => l.effectiveTo)).toEqual([null, null]);
    const rename = (l: Link, from: typeof a, to: typeof b) => ({
      ...l,
      commsHubGuid: to.chs[from.chs.indexOf(l.commsHubGuid)],
      esmeGuid: to.esmes[from.esmes.indexOf(l.esmeGuid)],
    });
    for (const i of [0, 1]) {
      expect(await links(b.chs[i])).toEqual((await links(a.chs[i])).map((l) => rename(l, a, b)));
      expect(await links(b.esmes[i])).toEqual((await links(a.esmes[i])).map((l) => rename(l, a, b)));
    }
    // Hub 1's old meter (ESME 1) moved to hub 0 at t1, so that link ended at t1, the earlier of the two.
    expect(await links(b.chs[1])).toEqual([
      { commsHubGuid: b.chs[1], esmeGuid: b.esmes[0], effectiveFrom: t2, effectiveTo: null },
      { commsHubGuid: b.chs[1], esmeGuid: b.esmes[1], effectiveFrom: t0, effectiveTo: t1 },
    ]);
  });

  test('one bad link rejects the batch and nothing is written, with linkCommsHub’s codes', async () => {
    const { chs, esmes } = await devices(3);
    const t0 = '2025-05-01T00:00:00.000Z';
    ok((await bulk([{ commsHubGuid: chs[2], esmeGuid: esmes[2], effectiveFrom: t0 }])).body);
    const good = { commsHubGuid: chs[0], esmeGuid: esmes[0], effectiveFrom: t0 };
    const before = await rowCounts(t, 'comms_hub_link');
    const cases: [unknown, string, string?][] = [
      [{ commsHubGuid: esmes[1], esmeGuid: chs[1] }, 'BAD_USER_INPUT', 'NOT_A_COMMS_HUB'],
      [{ commsHubGuid: chs[1], esmeGuid: chs[2] }, 'BAD_USER_INPUT', 'NOT_AN_ESME'],
      [{ commsHubGuid: guid('BB-00-00-00-00-C0', 0xdead), esmeGuid: esmes[1] }, 'NOT_FOUND'],
      [{ commsHubGuid: 'not-a-guid', esmeGuid: esmes[1] }, 'BAD_USER_INPUT', 'INVALID_EUI64'],
      [{ commsHubGuid: chs[1], esmeGuid: esmes[2], effectiveFrom: t0 }, 'CONFLICT', 'LINK_NOT_AFTER_CURRENT'],
      [{ commsHubGuid: chs[1], esmeGuid: esmes[0] }, 'BAD_USER_INPUT', 'DUPLICATE_IN_BATCH'],
    ];
    for (const [bad, code, reason] of cases) expectError((await bulk([good, bad])).body, code, reason);
    expectError((await bulk([])).body, 'BAD_USER_INPUT', 'EMPTY_BATCH');
    expectError(
      (await bulk(Array.from({ length: 7 }, () => good))).body,
      'BAD_USER_INPUT',
      'BATCH_TOO_LARGE',
    );
    const ed = await t.token({ role: 'ED', distributorIds: ['12'] });
    expectError((await t.gql(LINKS, { l: [good] }, ed)).body, 'FORBIDDEN');
    expectError((await t.gql(LINKS, { l: [good] })).body, 'UNAUTHENTICATED');
    expect(await rowCounts(t, 'comms_hub_link')).toEqual(before);
    expect(await links(chs[0])).toEqual([]);
  });
});
