import fs from 'node:fs';
import path from 'node:path';
import { connected, startTestApp, subscribe } from '../support/app';
import type { GqlBody, TestApp } from '../support/app';
import { expectError, guid, mpan, ok, rowCounts } from '../support/integration';

/**
 * Input that used to reach PostgreSQL or a library unchecked and come back as INTERNAL (HTTP 500,
 * WebSocket close 4500): impossible dates in cursors and fields, NUL bytes, numbers past bigint,
 * federation representations of the wrong shape, a fragment bomb, XML nested 200 deep. Each is
 * now bad input with a stable reason, on its own, and writes nothing.
 */

const FIXTURES = path.resolve(__dirname, '../fixtures/duis');
const TABLES = ['alert', 'alert_decision', 'device', 'firmware_image', 'firmware_activation'] as const;

/** A cursor as the service writes them (base64url JSON of its parts). */
const cursorOf = (parts: unknown[]) => Buffer.from(JSON.stringify(parts)).toString('base64url');
const partsOf = (cursor: string) => JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as string[];
const INSTANT = /^\d{4}-\d{2}-\d{2}T/;

/** No error of the response is INTERNAL, and the HTTP status is not 5xx. */
function noInternal(res: { status: number; body: GqlBody<unknown> }): void {
  expect(res.status).toBeLessThan(500);
  expect((res.body.errors ?? []).map((e) => e.extensions?.code)).not.toContain('INTERNAL');
}

describe('hostile input never reaches INTERNAL', () => {
  let t: TestApp;
  let operator: string;
  let dno: string;
  let alertCursor: string;
  let deviceCursor: string;

  beforeAll(async () => {
    t = await startTestApp();
    operator = await t.token({ role: 'OPERATOR' });
    dno = await t.token({ role: 'ED', distributorIds: ['12'] });
    const esme = guid('5E-00-00-00-00-01', 1);
    const hub = guid('5C-00-00-00-00-01', 1);
    ok(
      (
        await t.gql(
          `mutation ($d: [DeviceInput!]!) { upsertDevices(devices: $d) { inserted } }`,
          {
            d: [
              { guid: esme, deviceType: 'ESME', mpan: mpan(12, 1) },
              { guid: hub, deviceType: 'CHF' },
              { guid: guid('5E-00-00-00-00-01', 2), deviceType: 'ESME', mpan: mpan(12, 2) },
            ],
          },
          operator,
        )
      ).body,
    );
    for (let i = 0; i < 2; i++) {
      ok(
        (
          await t.gql(
            `mutation ($a: [AlertInput!]!) { ingestAlerts(alerts: $a) { alertId } }`,
            {
              a: [
                {
                  powerOutage: {
                    commsHubGuid: hub,
                    mpan: mpan(12, 1),
                    startAt: new Date(Date.now() - (i + 1) * 3_600_000).toISOString(),
                  },
                },
              ],
            },
            operator,
          )
        ).body,
      );
    }
    const pages = ok(
      (
        await t.gql<{
          alerts: { pageInfo: { endCursor: string } };
          devices: { pageInfo: { endCursor: string } };
        }>(
          '{ alerts(first: 1) { pageInfo { endCursor } } devices(first: 1) { pageInfo { endCursor } } }',
          {},
          operator,
        )
      ).body,
    );
    alertCursor = pages.alerts.pageInfo.endCursor;
    deviceCursor = pages.devices.pageInfo.endCursor;
  });
  afterAll(() => t?.stop());

  test('forged cursors: an impossible date, year 0, a NUL byte, a number past bigint are INVALID_CURSOR', async () => {
    const before = await rowCounts(t, ...TABLES);
    const parts = partsOf(alertCursor);
    expect(parts.some((p) => INSTANT.test(p))).toBe(true);
    const withInstant = (value: string) => cursorOf(parts.map((p) => (INSTANT.test(p) ? value : p)));
    const withOthers = (value: string) => cursorOf(parts.map((p) => (INSTANT.test(p) ? p : value)));
    const forged = [
      withInstant('2026-02-30T00:00:00.000Z'),
      withInstant('0000-01-01T00:00:00.000Z'),
      withInstant('2026-13-01T00:00:00.000Z'),
      withInstant('2026-01-01T00:00:00.000Z\u0000'),
      withOthers('9999999999999999999'),
      withOthers('1\u0000'),
    ];
    for (const after of forged) {
      for (const token of [operator, dno]) {
        const res = await t.gql(
          'query ($a: String) { alerts(first: 1, after: $a) { nodes { id } } }',
          { a: after },
          token,
        );
        noInternal(res);
        expectError(res.body, 'BAD_USER_INPUT', 'INVALID_CURSOR');
      }
    }
    const deviceParts = partsOf(deviceCursor);
    for (const value of ['\u0000', 'x'.repeat(5000)]) {
      const res = await t.gql(
        'query ($a: String) { devices(first: 1, after: $a) { nodes { guid } } }',
        { a: cursorOf(deviceParts.map(() => value)) },
        operator,
      );
      noInternal(res);
      expectError(res.body, 'BAD_USER_INPUT', 'INVALID_CURSOR');
    }
    for (const after of ['9999999999999999999', '-1', '1e3', '\u0000']) {
      const res = await t.gql(
        'query ($a: String) { verificationRequests(after: $a) { requestId } }',
        { a: after },
        operator,
      );
      noInternal(res);
      expectError(res.body, 'BAD_USER_INPUT', 'INVALID_CURSOR');
    }
    expect(await rowCounts(t, ...TABLES)).toEqual(before);
  });

  test('dnoAlerts(after: "9999999999999999999") over graphql-ws is INVALID_CURSOR, not a closed socket', async () => {
    const client = t.ws(dno);
    await connected(client);
    const sub = subscribe(client, 'subscription { dnoAlerts(after: "9999999999999999999") { sequence } }');
    await expect(sub.waitFor(1, 5000)).rejects.toBeTruthy();
    expect((sub.error as { extensions?: Record<string, unknown> }[])[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'INVALID_CURSOR',
    });
    // The connection stays usable.
    const again = subscribe(client, 'subscription { dnoAlerts { sequence } }');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(again.error).toBeUndefined();
    again.dispose();
    const ack = await t.gql(
      'mutation { acknowledgeDnoAlerts(distributorId: "12", upTo: "9999999999999999999") { acknowledgedSequence } }',
      {},
      dno,
    );
    noInternal(ack);
    expectError(ack.body, 'BAD_USER_INPUT', 'INVALID_CURSOR');
  });

  test('NUL bytes and odd dates in filters and fields are BAD_USER_INPUT and write nothing', async () => {
    const before = await rowCounts(t, ...TABLES);
    for (const query of [
      '{ devices(first: 5, filter: { areaKey: "A\\u0000B" }) { nodes { guid } } }',
      '{ devices(first: 5, filter: { model: "\\u0000" }) { nodes { guid } } }',
      '{ firmwareImages(model: "\\u0000") { id } }',
      '{ activations(first: 5, filter: { supplierId: "\\u0000" }) { nodes { id } } }',
    ]) {
      const res = await t.gql(query, {}, operator);
      noInternal(res);
      if (res.body.errors) expectError(res.body, 'BAD_USER_INPUT');
    }
    const image = await t.gql(
      `mutation { registerFirmwareImage(image: { manufacturer: "AB01", model: "010A030B", version: "00020130",
         imageHash: "${'ab'.repeat(32)}", releaseDate: "2026-02-30" }) { id } }`,
      {},
      operator,
    );
    noInternal(image);
    expectError(image.body, 'BAD_USER_INPUT', 'INVALID_DATE');
    const nulImage = await t.gql(
      `mutation { registerFirmwareImage(image: { manufacturer: "AB01", model: "010A\\u00000B", version: "00020130",
         imageHash: "${'cd'.repeat(32)}" }) { id } }`,
      {},
      operator,
    );
    noInternal(nulImage);
    expectError(nulImage.body, 'BAD_USER_INPUT');
    expect(await rowCounts(t, ...TABLES)).toEqual(before);
  });

  test('_entities answers each bad representation on its own entry; the good ones still resolve', async () => {
    const ENTITIES =
      'query ($r: [_Any!]!) { _entities(representations: $r) { __typename ... on Alert { id } } }';
    const bad = [
      { __typename: 'Alert', id: ['1'] },
      { __typename: 'Alert', id: { $gt: 0 } },
      { __typename: 'Alert', id: 1 },
      { __typename: 'Alert', id: '1\u0000' },
      { __typename: 'Device', guid: '00-00\u0000' },
      { __typename: 'NetworkOperator', distributorId: '1\u0000' },
      { __typename: 'Query', id: '1' },
      { __typename: 'DnoAlert', sequence: '1' },
      { __typename: 'NoSuchType', id: '1' },
      { id: '1' },
    ];
    const res = await t.gql<{ _entities: ({ id?: string } | null)[] }>(
      ENTITIES,
      { r: [{ __typename: 'Alert', id: '1' }, ...bad, { __typename: 'Alert', id: '2' }] },
      operator,
    );
    noInternal(res);
    const entries = res.body.data!._entities;
    expect(entries[0]).toMatchObject({ id: '1' });
    expect(entries.at(-1)).toMatchObject({ id: '2' });
    const errors = res.body.errors ?? [];
    for (let i = 1; i <= bad.length; i++) {
      expect(entries[i]).toBeNull();
      const error = errors.find((e) => (e.path as unknown[] | undefined)?.[1] === i);
      expect(error?.extensions?.code).toBe('BAD_USER_INPUT');
    }
  });

  test('a fragment bomb (10 fragments, each spreading the next twice) is QUERY_TOO_COMPLEX on HTTP and WebSocket', async () => {
    // 2^9 paths of pairedAlert, each deeper than the limit: the depth check once threw a bare object here.
    const fragments = Array.from({ length: 10 }, (_, i) =>
      i === 9
        ? `fragment F${i} on Alert { id }`
        : `fragment F${i} on Alert { pairedAlert { ...F${i + 1} ...F${i + 1} } }`,
    ).join('\n');
    const bomb = `{ alerts(first: 1) { nodes { ...F0 } } }\n${fragments}`;
    const res = await t.gql(bomb, {}, operator);
    noInternal(res);
    expect(res.status).toBe(400);
    expectError(res.body, 'QUERY_TOO_COMPLEX');
    const client = t.ws(operator);
    await connected(client);
    let closedWith: number | undefined;
    client.on('closed', (e) => (closedWith = (e as { code: number }).code));
    const sub = subscribe(client, bomb);
    await expect(sub.waitFor(1, 5000)).rejects.toBeTruthy();
    expect((sub.error as { extensions?: Record<string, unknown> }[])[0].extensions).toMatchObject({
      code: 'QUERY_TOO_COMPLEX',
    });
    expect(closedWith).toBeUndefined();
  });

  test('POST /duis: XML nested 200 deep is 400 TOO_DEEP; a role without DUIS documents is refused before its body is read', async () => {
    const before = await rowCounts(t, ...TABLES);
    const deep = `<?xml version="1.0" encoding="UTF-8"?>${'<a>'.repeat(200)}x${'</a>'.repeat(200)}`;
    const post = (body: string, token?: string) =>
      fetch(`${t.url}/duis`, {
        method: 'POST',
        headers: {
          'content-type': 'application/xml',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body,
      });
    const tooDeep = await post(deep, operator);
    expect(tooDeep.status).toBe(400);
    expect(await tooDeep.json()).toMatchObject({ errors: [{ code: 'BAD_USER_INPUT', reason: 'TOO_DEEP' }] });
    // An ED token has nothing to post: 403 whatever the body, even one that would not parse.
    for (const body of [deep, fs.readFileSync(path.join(FIXTURES, 'ad1-power-outage.xml'), 'utf8')]) {
      const refused = await post(body, dno);
      expect(refused.status).toBe(403);
      expect(await refused.json()).toMatchObject({ errors: [{ code: 'FORBIDDEN' }] });
    }
    expect((await post(deep)).status).toBe(401);
    expect(await rowCounts(t, ...TABLES)).toEqual(before);
  });
});
