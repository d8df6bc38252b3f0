import os from 'node:os';
import pino from 'pino';
import { listeningAt, startApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { TEST_SECRET, startTestApp } from '../support/app';
import type { TestApp } from '../support/app';
import { createTestDatabase } from '../support/database';

/**
 * The HTTP edges a browser or an off-the-shelf client meets first: CORS for the configured
 * origins only (and a plain refusal of every preflight when none is), the redirect from / to
 * GraphiQL, a subscription sent over HTTP (which only the WebSocket transport serves) answered
 * with a clear 400 instead of an internal error, and the start-up line naming where it listens.
 */
const ALLOWED = 'https://console.example.com';
const OTHER = 'https://elsewhere.example.org';

describe('HTTP edges, with CORS_ORIGINS set', () => {
  let t: TestApp;
  let operator: string;

  beforeAll(async () => {
    t = await startTestApp({ CORS_ORIGINS: `${ALLOWED},http://localhost:3000` });
    operator = await t.token({ role: 'OPERATOR' });
  });
  afterAll(() => t.stop());

  const query = (origin: string) =>
    fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/json', authorization: `Bearer ${operator}` },
      body: JSON.stringify({ query: '{ networkOperators { distributorId } }' }),
    });

  test('an allowed origin gets Access-Control-Allow-Origin (and Vary: Origin)', async () => {
    const res = await query(ALLOWED);
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(res.headers.get('vary')).toMatch(/origin/i);
  });

  test('any other origin gets no CORS header, so the browser refuses the answer', async () => {
    const res = await query(OTHER);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  test('a preflight from an allowed origin is answered with the methods and headers it may use', async () => {
    const res = await fetch(`${t.url}/graphql`, {
      method: 'OPTIONS',
      headers: {
        origin: ALLOWED,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
    expect(res.headers.get('access-control-max-age')).toBe('600');
  });

  test('a preflight from another origin is not allowed', async () => {
    const res = await fetch(`${t.url}/graphql`, {
      method: 'OPTIONS',
      headers: { origin: OTHER, 'access-control-request-method': 'POST' },
    });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  test('POST /duis answers an allowed origin too', async () => {
    const res = await fetch(`${t.url}/duis`, {
      method: 'OPTIONS',
      headers: { origin: ALLOWED, 'access-control-request-method': 'POST' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED);
  });

  test('GET / redirects (302) to /graphiql', async () => {
    const res = await fetch(`${t.url}/`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/graphiql');
  });

  describe('a subscription sent over HTTP', () => {
    const subscription = 'subscription { dnoAlerts { sequence } }';

    test.each([
      ['plain JSON', 'application/json'],
      ['multipart (Apollo Client HttpLink)', 'multipart/mixed;subscriptionSpec="1.0", application/json'],
    ])(
      '%s: 400 BAD_USER_INPUT / SUBSCRIPTION_OVER_HTTP, pointing at the WebSocket endpoint',
      async (_name, accept) => {
        const res = await fetch(`${t.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept, authorization: `Bearer ${operator}` },
          body: JSON.stringify({ query: subscription }),
        });
        expect(res.status).toBe(400);
        expect(res.headers.get('content-type')).toMatch(/application\/(graphql-response\+)?json/);
        const body = (await res.json()) as {
          errors: { message: string; extensions: Record<string, unknown> }[];
        };
        expect(body.errors).toHaveLength(1);
        expect(body.errors[0].extensions).toMatchObject({
          code: 'BAD_USER_INPUT',
          reason: 'SUBSCRIPTION_OVER_HTTP',
        });
        expect(body.errors[0].extensions.websocket).toBe(t.wsUrl);
        expect(body.errors[0].message).toContain('graphql-ws');
      },
    );

    test('a query in the same document, selected by operationName, still runs over HTTP', async () => {
      const res = await fetch(`${t.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${operator}` },
        body: JSON.stringify({
          query: `query Ops { networkOperators { distributorId } } subscription Feed { dnoAlerts { sequence } }`,
          operationName: 'Ops',
        }),
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { errors?: unknown }).errors).toBeUndefined();
    });
  });
});

describe('HTTP edges, with CORS_ORIGINS unset (the default)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.stop());

  test('no CORS headers at all, whatever the origin', async () => {
    const res = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { origin: ALLOWED, 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ networkOperators { distributorId } }' }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await fetch(`${t.url}/graphql`, {
      method: 'OPTIONS',
      headers: { origin: ALLOWED, 'access-control-request-method': 'POST' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(preflight.headers.get('access-control-allow-methods')).toBeNull();
  });

  test('a browser preflight gets 204 without CORS headers (the browser then names the reason), not a CSRF 400', async () => {
    for (const route of ['/graphql', '/duis']) {
      const res = await fetch(`${t.url}${route}`, {
        method: 'OPTIONS',
        headers: {
          origin: ALLOWED,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, content-type',
        },
      });
      expect(res.status).toBe(204);
      expect(await res.text()).toBe('');
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
      expect(res.headers.get('access-control-allow-headers')).toBeNull();
    }
  });
});

describe('the start-up line says where the service listens', () => {
  test('HOST=0.0.0.0: all interfaces, this machine’s name, and a local URL', () => {
    expect(listeningAt('0.0.0.0', 4000, 'poa-1')).toEqual({
      listen: '0.0.0.0:4000 (all interfaces)',
      url: 'http://poa-1:4000/graphql',
      graphiql: 'http://poa-1:4000/graphiql',
      localUrl: 'http://127.0.0.1:4000/graphql',
    });
    expect(listeningAt('::', 4000, 'poa-1')).toMatchObject({ listen: '[::]:4000 (all interfaces)' });
  });

  test('a given address: that address', () => {
    expect(listeningAt('10.1.2.3', 4000, 'poa-1')).toEqual({
      listen: '10.1.2.3:4000',
      url: 'http://10.1.2.3:4000/graphql',
      graphiql: 'http://10.1.2.3:4000/graphiql',
    });
    expect(listeningAt('::1', 4000, 'poa-1').url).toBe('http://[::1]:4000/graphql');
  });

  test('the running server logs it (HOST=0.0.0.0)', async () => {
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const db = await createTestDatabase();
    const config = loadConfig({
      DATABASE_URL: db.url,
      AUTH_JWT_SECRET: TEST_SECRET,
      PORT: '0',
      HOST: '0.0.0.0',
      NODE_ENV: 'test',
      SEED_DEMO: 'false',
      PUBSUB_MODE: db.backend === 'pglite' ? 'memory' : 'postgres',
      DATABASE_POOL_SIZE: db.backend === 'pglite' ? '1' : '10',
    });
    const app = await startApp(config, { log });
    try {
      const port = app.server.port;
      expect(lines.find((l) => l.msg === 'poa-sieve listening')).toMatchObject({
        listen: `0.0.0.0:${port} (all interfaces)`,
        url: `http://${os.hostname()}:${port}/graphql`,
        localUrl: `http://127.0.0.1:${port}/graphql`,
      });
    } finally {
      await app.stop();
      await db.drop();
    }
  });
});
