import { createHash } from 'node:crypto';
import { connected, startTestApp } from '../support/app';
import type { GqlBody, TestApp } from '../support/app';
import { rowCounts } from '../support/integration';
import { captureLog, codesOf, expectNoInternal, wsOnce } from '../support/security';

/**
 * Stable error codes for the ways a request can be malformed before any resolver runs: invalid
 * variables, however many (graphql-js stops after 50 and adds an error of its own), and Apollo's
 * persisted-query protocol. Each is the client's mistake: a stable code, never INTERNAL, nothing
 * written, and nothing at error level in the log.
 */

const UPSERT = 'mutation ($d: [DeviceInput!]!) { upsertDevices(devices: $d) { inserted } }';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

let t: TestApp;
let operator: string;
const captured = captureLog();
beforeAll(async () => {
  t = await startTestApp({ NODE_ENV: 'production' }, undefined, undefined, captured.log);
  operator = await t.token({ role: 'OPERATOR' });
});
afterAll(() => t?.stop());

async function post(body: unknown, token = operator): Promise<{ status: number; body: GqlBody<unknown> }> {
  const res = await fetch(`${t.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as GqlBody<unknown> };
}

describe('variables that cannot be coerced', () => {
  test.each([3, 50, 51, 60, 500])(
    '%i invalid list entries: HTTP 400, every error BAD_USER_INPUT, the first listed, nothing written',
    async (count) => {
      const devices = Array.from({ length: count }, (_, i) => ({ guid: `g${i}`, deviceType: 'NOPE' }));
      const res = await t.gql(UPSERT, { d: devices }, operator);
      expect(res.status).toBe(400);
      expectNoInternal(res.body);
      expect(new Set(codesOf(res.body))).toEqual(new Set(['BAD_USER_INPUT']));
      expect(res.body.errors!.length).toBeGreaterThanOrEqual(Math.min(count, 50));
      expect(res.body.errors!.length).toBeLessThanOrEqual(51);
      expect(res.body.errors![0].message).toContain('$d');
      expect(res.body.errors![0].extensions?.reason).toBe('INVALID_VARIABLES');
      if (count > 50) {
        expect(res.body.errors!.at(-1)!.extensions?.reason).toBe('TOO_MANY_INVALID_VARIABLES');
      }
      expect(await rowCounts(t, 'device')).toEqual({ device: 0 });
    },
  );

  test('the same over WebSocket: BAD_USER_INPUT, no INTERNAL, nothing written', async () => {
    const client = t.ws(operator);
    await connected(client);
    for (const count of [3, 60]) {
      const devices = Array.from({ length: count }, () => ({ guid: 'g', deviceType: 'NOPE', nope: 1 }));
      const outcome = await wsOnce(client, UPSERT, { d: devices });
      expect(outcome).toMatchObject({ kind: 'result' });
      const body = outcome as { errors?: GqlBody<unknown>['errors'] };
      expectNoInternal(body);
      expect(new Set(codesOf(body))).toEqual(new Set(['BAD_USER_INPUT']));
    }
    expect(await rowCounts(t, 'device')).toEqual({ device: 0 });
  });
});

describe("Apollo's persisted queries", () => {
  const query = '{ networkOperators { distributorId } }';

  test('an unknown hash is PERSISTED_QUERY_NOT_FOUND; sent with its query it is stored, then the hash alone runs it', async () => {
    const extensions = { persistedQuery: { version: 1, sha256Hash: sha256(query) } };
    const unknown = await post({ extensions });
    expect(unknown.status).toBe(200);
    expect(codesOf(unknown.body)).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
    const registered = await post({ query, extensions });
    expect(registered.body.errors).toBeUndefined();
    const byHash = await post({ extensions });
    expect(byHash.body).toEqual(registered.body);
    const viaGet = await fetch(
      `${t.url}/graphql?extensions=${encodeURIComponent(JSON.stringify(extensions))}`,
      { headers: { 'apollo-require-preflight': 'true' } },
    );
    expect(((await viaGet.json()) as GqlBody<unknown>).data).toEqual(registered.body.data);
  });

  test.each([
    ['a hash that is not the query’s', { version: 1, sha256Hash: 'ab'.repeat(32) }, true, 400, 'BAD_REQUEST'],
    ['version 2', { version: 2, sha256Hash: sha256(query) }, true, 200, 'PERSISTED_QUERY_NOT_SUPPORTED'],
    [
      'version 2 without a query',
      { version: 2, sha256Hash: sha256(query) },
      false,
      200,
      'PERSISTED_QUERY_NOT_SUPPORTED',
    ],
    ['no hash, with the query', { version: 1 }, true, 400, 'BAD_REQUEST'],
    ['no hash and no query', { version: 1 }, false, 400, 'BAD_REQUEST'],
    [
      'a hash that is not hex',
      { version: 1, sha256Hash: "x'; DROP TABLE device;--" },
      true,
      400,
      'BAD_REQUEST',
    ],
    ['an extension that is not an object', 'yes', true, 200, 'PERSISTED_QUERY_NOT_SUPPORTED'],
  ])('%s: HTTP %i, %s', async (_what, persistedQuery, withQuery, status, code) => {
    const res = await post({ ...(withQuery ? { query } : {}), extensions: { persistedQuery } });
    expect(res.status).toBe(status);
    expect(codesOf(res.body)).toEqual([code]);
  });

  test('a mutation under a mismatched hash is refused before it runs', async () => {
    const devices = [{ guid: '5E-00-00-00-00-02-00-01', deviceType: 'ESME' }];
    const res = await post({
      query: UPSERT,
      variables: { d: devices },
      extensions: { persistedQuery: { version: 1, sha256Hash: sha256(`${UPSERT} `) } },
    });
    expect(res.status).toBe(400);
    expect(codesOf(res.body)).toEqual(['BAD_REQUEST']);
    expect(await rowCounts(t, 'device')).toEqual({ device: 0 });
  });
});

test('none of these was logged at error level', () => {
  expect(captured.errors()).toEqual([]);
});
