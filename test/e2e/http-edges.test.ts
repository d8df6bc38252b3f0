import { startTestApp } from '../support/app';
import type { TestApp } from '../support/app';

/**
 * The HTTP edges a browser or an off-the-shelf client meets first: CORS for the configured
 * origins only, the redirect from / to GraphiQL, and a subscription sent over HTTP (which only
 * the WebSocket transport serves) answered with a clear 400 instead of an internal error.
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
});
