import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { SignJWT } from 'jose';
import { TEST_SECRET, connected, startTestApp } from '../support/app';
import type { TestApp } from '../support/app';
import { expectError, rowCounts } from '../support/integration';
import { captureLog, expectNoInternal, wsOnce } from '../support/security';

/**
 * Tokens through the real server, over HTTP and graphql-ws: lifetimes bounded from iat and from
 * now, an iat in the future refused, expiry re-checked at every operation of an open socket, and
 * all of it on wall time, whatever the service clock (CLOCK_SPEED, CLOCK_START) reads.
 */

const DAY = 24 * 3600;
const now = () => Math.floor(Date.now() / 1000);
const sign = (claims: Record<string, unknown>) =>
  new SignJWT({ sub: 'mallory', role: 'OPERATOR', ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(TEST_SECRET));

const UPSERT = `mutation ($d: [DeviceInput!]!) { upsertDevices(devices: $d) { inserted } }`;
const DEVICE = { guid: '5E-00-00-00-00-01-00-01', deviceType: 'ESME' };

describe('token lifetimes, on the default settings', () => {
  let t: TestApp;
  const captured = captureLog();
  beforeAll(async () => {
    // The default bound (7 days), not the long one other tests use.
    t = await startTestApp(
      { AUTH_MAX_TOKEN_LIFETIME_SECONDS: String(7 * DAY), AUTH_RECHECK_SECONDS: '3600' },
      undefined,
      undefined,
      captured.log,
    );
  });
  afterAll(() => t?.stop());

  const absurd: [string, () => Promise<string>][] = [
    ['iat = 1e30', () => sign({ iat: 1e30, exp: now() + 3600 })],
    [
      'iat and exp a year ahead, a minute apart',
      () => sign({ iat: now() + 365 * DAY, exp: now() + 365 * DAY + 60 }),
    ],
    ['iat an hour ahead', () => sign({ iat: now() + 3600, exp: now() + 7200 })],
    ['exp ten years ahead', () => sign({ iat: now(), exp: now() + 10 * 365 * DAY })],
    ['exp ten years ahead, no iat', () => sign({ exp: now() + 10 * 365 * DAY })],
    [
      'exp - iat over the maximum, exp - now within it',
      () => sign({ iat: now() - 6 * DAY, exp: now() + 2 * DAY }),
    ],
    ['exp = 1e30', () => sign({ iat: now(), exp: 1e30 })],
  ];

  test.each(absurd)(
    '%s: HTTP 401 UNAUTHENTICATED, WebSocket closed 4401, nothing written',
    async (_what, make) => {
      const token = await make();
      const res = await t.gql(UPSERT, { d: [DEVICE] }, token);
      expect(res.status).toBe(401);
      expectError(res.body, 'UNAUTHENTICATED');
      expectNoInternal(res.body);
      const outcome = await connected(t.ws(token), 5000).then(
        () => 'connected',
        (event: { code?: number }) => event.code,
      );
      expect(outcome).toBe(4401);
      expect(await rowCounts(t, 'device')).toEqual({ device: 0 });
    },
  );

  test('a token within the clock-skew allowance (iat 30 s ahead) is accepted', async () => {
    const token = await sign({ iat: now() + 30, exp: now() + 3600 });
    const res = await t.gql('{ devices(first: 1) { nodes { guid } } }', {}, token);
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
  });

  test('an open socket whose token expires is closed with 4401 at its next operation, before it runs', async () => {
    const token = await sign({ iat: now(), exp: now() + 2 });
    const client = t.ws(token);
    await connected(client);
    expect(await wsOnce(client, '{ networkOperators { name } }')).toMatchObject({ kind: 'result' });
    await new Promise((r) => setTimeout(r, 2500));
    // AUTH_RECHECK_SECONDS is an hour here: the operation itself finds the token expired.
    expect(await wsOnce(client, UPSERT, { d: [DEVICE] })).toEqual({ kind: 'closed', code: 4401 });
    expect(await rowCounts(t, 'device')).toEqual({ device: 0 });
  });

  test('refused tokens are logged at info level at most, never as errors', () => {
    expect(captured.errors()).toEqual([]);
  });
});

describe('tokens on wall time while the service clock runs 20x, a day ahead', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      CLOCK_SPEED: '20',
      CLOCK_START: new Date(Date.now() + DAY * 1000).toISOString(),
      AUTH_MAX_TOKEN_LIFETIME_SECONDS: String(7 * DAY),
      AUTH_RECHECK_SECONDS: '1',
    });
  });
  afterAll(() => t?.stop());

  test("the README's `npm run token` gives a token the server accepts over HTTP and WebSocket", async () => {
    const { stdout } = await promisify(execFile)('npm', ['run', '-s', 'token', '--', '--role', 'OPERATOR'], {
      cwd: path.resolve(__dirname, '../..'),
      env: { ...process.env, AUTH_JWT_SECRET: TEST_SECRET, DATABASE_URL: '', NODE_OPTIONS: '' },
    });
    const token = stdout.trim();
    const res = await t.gql(UPSERT, { d: [DEVICE] }, token);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ data: { upsertDevices: { inserted: 1 } } });
    const client = t.ws(token);
    await connected(client);
    expect(await wsOnce(client, '{ devices(first: 5) { nodes { guid } } }')).toMatchObject({
      kind: 'result',
      data: { devices: { nodes: [{ guid: DEVICE.guid }] } },
    });
  });

  test('a 30-second token outlives 3 s of an open socket (a minute of service time) and is then refused', async () => {
    const token = await sign({ iat: now(), exp: now() + 30 });
    const client = t.ws(token);
    let closedWith: number | undefined;
    client.on('closed', (e) => (closedWith = (e as { code: number }).code));
    await connected(client);
    // The expiry re-check runs every second here; on the service clock the token would be long gone.
    await new Promise((r) => setTimeout(r, 3000));
    expect(closedWith).toBeUndefined();
    expect(await wsOnce(client, '{ networkOperators { name } }')).toMatchObject({ kind: 'result' });
    const expired = await sign({ iat: now() - 120, exp: now() - 60 });
    expect((await t.gql('{ networkOperators { name } }', {}, expired)).status).toBe(401);
  });
});
