/**
 * node -r ts-node/register bench/link-comms-hubs.ts [postgres|pglite]
 *
 * 20,000 ESME-hub links through the real HTTP server in process: linkCommsHubs in batches of
 * MAX_BATCH_SIZE (10,000, so two requests), against 100 requests of 200 aliased linkCommsHub
 * fields (the way DSPs linked in bulk before). Each run links fresh devices; the two ways
 * alternate (A-B-A-B) and the medians are printed. The figures are in docs/CONSUMERS.md.
 */
import { startTestApp } from '../test/support/app';
import type { TestApp } from '../test/support/app';
import { guid, mpan } from '../test/support/integration';

const LINKS = 20_000;
const BATCH = 10_000;
const ALIASES = 200;
const FROM = '2025-01-01T00:00:00Z';

async function gql(t: TestApp, token: string, query: string, variables: Record<string, unknown>) {
  const { body } = await t.gql(query, variables, token);
  if (body.errors) throw new Error(JSON.stringify(body.errors[0]));
}

async function devices(t: TestApp, token: string, run: number): Promise<[string, string][]> {
  const pairs: [string, string][] = Array.from({ length: LINKS }, (_, i) => [
    guid(`CC-00-00-00-${String(run).padStart(2, '0')}-C0`, i),
    guid(`CC-00-00-00-${String(run).padStart(2, '0')}-E0`, i),
  ]);
  const all = pairs.flatMap(([ch, esme], i) => [
    { guid: ch, deviceType: 'CHF', manufacturer: 'EF03', model: '0C0A0001' },
    { guid: esme, deviceType: 'ESME', mpan: mpan(12, run * 100_000 + i) },
  ]);
  for (let i = 0; i < all.length; i += BATCH)
    await gql(t, token, 'mutation ($d: [DeviceInput!]!) { upsertDevices(devices: $d) { inserted } }', {
      d: all.slice(i, i + BATCH),
    });
  return pairs;
}

async function bulk(t: TestApp, token: string, pairs: [string, string][]): Promise<void> {
  for (let i = 0; i < pairs.length; i += BATCH) {
    const l = pairs
      .slice(i, i + BATCH)
      .map(([ch, esme]) => ({ commsHubGuid: ch, esmeGuid: esme, effectiveFrom: FROM }));
    await gql(
      t,
      token,
      'mutation ($l: [CommsHubLinkInput!]!) { linkCommsHubs(links: $l) { effectiveFrom } }',
      {
        l,
      },
    );
  }
}

async function aliased(t: TestApp, token: string, pairs: [string, string][]): Promise<void> {
  for (let i = 0; i < pairs.length; i += ALIASES) {
    const fields = pairs
      .slice(i, i + ALIASES)
      .map(
        ([ch, esme], k) =>
          `l${k}: linkCommsHub(commsHubGuid: "${ch}", esmeGuid: "${esme}", effectiveFrom: "${FROM}") { effectiveFrom }`,
      );
    await gql(t, token, `mutation { ${fields.join('\n')} }`, {});
  }
}

async function main() {
  const backend = process.argv[2] === 'pglite' ? 'pglite' : 'postgres';
  (globalThis as { __DB_BACKEND__?: string }).__DB_BACKEND__ = backend;
  const t = await startTestApp({ MAX_BATCH_SIZE: String(BATCH), RATE_LIMIT_MUTATIONS_PER_MINUTE: '100000' });
  try {
    const token = await t.token({ role: 'OPERATOR' });
    const times: Record<string, number[]> = { linkCommsHubs: [], aliased: [] };
    let run = 0;
    for (let round = 0; round < 2; round++) {
      for (const [name, fn] of [
        ['linkCommsHubs', bulk],
        ['aliased', aliased],
      ] as const) {
        const pairs = await devices(t, token, ++run);
        const start = performance.now();
        await fn(t, token, pairs);
        times[name].push(performance.now() - start);
      }
    }
    const [count] = (await t.app.dataSource.query('SELECT count(*)::int AS n FROM comms_hub_link')) as {
      n: number;
    }[];
    console.log(JSON.stringify({ backend, links: LINKS, rows: count.n, ms: times }));
  } finally {
    await t.stop();
  }
}

void main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
