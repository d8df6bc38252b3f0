import { startTestApp } from '../support/app';
import type { TestApp } from '../support/app';
import { ok } from '../support/integration';

/**
 * /metrics names every DNO with its volumes: who may read it (this host, a bearer token, or a
 * port of its own), and a metric label that a client cannot inflate.
 */

const scrape = (url: string, headers: Record<string, string> = {}) => fetch(url, { headers });

describe('/metrics with no METRICS_* setting', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.stop());

  test('is served to a caller on this host, and refused to one a proxy forwards', async () => {
    const local = await scrape(`${t.url}/metrics`);
    expect(local.status).toBe(200);
    expect(await local.text()).toContain('poa_sieve_graphql_operations_total');
    const forwarded: Record<string, string>[] = [
      { 'x-forwarded-for': '203.0.113.7' },
      { forwarded: 'for=203.0.113.7' },
    ];
    for (const header of forwarded) {
      const proxied = await scrape(`${t.url}/metrics`, header);
      expect(proxied.status).toBe(403);
      expect(await proxied.text()).not.toContain('poa_sieve');
    }
  });

  test('the pool gauges show the service, not the scrape: an idle server has nobody waiting', async () => {
    // The scrape reads the database for its own gauges (lags, hold queue, budgets); on the
    // embedded database's single connection those reads used to count themselves as waiting.
    for (let i = 0; i < 3; i++) {
      const text = await (await scrape(`${t.url}/metrics`)).text();
      expect(text).toMatch(/^poa_sieve_db_pool_waiting 0$/m);
      expect(text).toMatch(/^poa_sieve_db_pool_max \d+$/m);
    }
  });

  test('the operation label is the root field, never the client-chosen operation name', async () => {
    for (let i = 0; i < 40; i++) {
      ok(
        (await t.gql(`query Probe${i}x${Math.random().toString(36).slice(2)} { networkOperators { name } }`))
          .body,
      );
    }
    await t.gql('query Nope { notAField }');
    await t.gql('this is not GraphQL');
    const text = await (await scrape(`${t.url}/metrics`)).text();
    const labels = [...text.matchAll(/^poa_sieve_graphql_operations_total\{operation="([^"]*)"/gm)].map(
      (m) => m[1],
    );
    expect(labels).toContain('networkOperators');
    expect(labels.some((l) => l.startsWith('Probe') || l === 'Nope' || l === 'notAField')).toBe(false);
    expect(new Set(labels).size).toBeLessThanOrEqual(3); // networkOperators, other (and nothing per name)
  });
});

describe('/metrics behind METRICS_TOKEN', () => {
  let t: TestApp;
  const TOKEN = 'metrics-scrape-token-0123456789';
  beforeAll(async () => {
    t = await startTestApp({ METRICS_TOKEN: TOKEN });
  });
  afterAll(() => t?.stop());

  test('needs the bearer token, even from this host', async () => {
    expect((await scrape(`${t.url}/metrics`)).status).toBe(401);
    expect(
      (await scrape(`${t.url}/metrics`, { authorization: 'Bearer wrong-token-0123456789' })).status,
    ).toBe(401);
    const res = await scrape(`${t.url}/metrics`, { authorization: `Bearer ${TOKEN}` });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('poa_sieve_db_pool_connections');
  });
});

describe('/metrics on METRICS_PORT', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ METRICS_PORT: '0', METRICS_HOST: '127.0.0.1' });
  });
  afterAll(() => t?.stop());

  test('is served on its own listener and not on the API port', async () => {
    expect(t.app.server.metricsUrl).not.toContain(t.url);
    expect((await scrape(`${t.url}/metrics`)).status).toBe(404);
    const res = await scrape(t.app.server.metricsUrl);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('poa_sieve_graphql_operations_total');
  });
});
