import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mintToken } from '../../src/auth/tokens';
import { TEST_SECRET } from '../support/app';
import { ResilientConsumer, freePort } from '../support/consumer';
import { BACKEND, createTestDatabase } from '../support/database';
import type { TestDatabase } from '../support/database';
import { guid, mpan } from '../support/integration';
import { spawnServer } from '../support/process';
import type { ServerProcess } from '../support/process';

/**
 * Delivery across process boundaries: the real server as separate processes, killed with
 * SIGKILL mid-stream and restarted, and (on PostgreSQL) two instances sharing one database.
 */
describe('DNO delivery survives crashes and spans instances', () => {
  let db: TestDatabase | undefined;
  let dataDir: string | undefined;
  const servers: ServerProcess[] = [];

  const env = (port: number): Record<string, string> => ({
    PORT: String(port),
    AUTH_JWT_SECRET: TEST_SECRET,
    LOG_LEVEL: 'info', // the harness waits for the "listening" line
    SEED_DEMO: 'false',
    ...(db ? { DATABASE_URL: db.url } : { DATA_DIR: dataDir! }),
  });
  const start = async (port: number) => {
    const s = await spawnServer(env(port));
    servers.push(s);
    return s;
  };
  const token = (claims: Parameters<typeof mintToken>[1]) => mintToken(TEST_SECRET, claims, new Date());

  beforeAll(async () => {
    if (BACKEND === 'postgres') db = await createTestDatabase('postgres');
    else dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'poa-sieve-crash-'));
  });
  afterAll(async () => {
    for (const s of servers) if (s.child.exitCode === null) s.child.kill('SIGKILL');
    await Promise.all(servers.map((s) => s.exited));
    await db?.drop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  /** One AD1 per call from a hub the inventory does not know: delivered (fail open), routed by its MPAN. */
  const ingest = async (url: string, operator: string, n: number): Promise<string> => {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${operator}` },
      body: JSON.stringify({
        query: 'mutation ($a: [AlertInput!]!) { ingestAlerts(alerts: $a) { alertId } }',
        variables: {
          a: [
            {
              powerOutage: {
                commsHubGuid: guid('00-DB-C4-77-00-00', n),
                startAt: new Date(Date.UTC(2026, 2, 2, 10, 0, n)).toISOString(),
                mpan: mpan(12, 7000 + n),
              },
            },
          ],
        },
      }),
      signal: AbortSignal.timeout(5000),
    });
    const body = (await res.json()) as { data?: { ingestAlerts: { alertId: string }[] }; errors?: unknown };
    if (!body.data) throw new Error(JSON.stringify(body.errors));
    return body.data.ingestAlerts[0].alertId;
  };

  test('SIGKILL during a stream: the reconnecting subscriber loses nothing and sees no sequence twice', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const operator = await token({ subject: 'dsp', role: 'OPERATOR', ttlSeconds: 3600 });
    const dno = await token({ subject: 'dno12', role: 'ED', distributorIds: ['12'], ttlSeconds: 3600 });
    let server = await start(port);
    const consumer = new ResilientConsumer(() => `ws://127.0.0.1:${port}/graphql`, dno);
    consumer.start();

    // A load client that retries until each alert is acknowledged (ingest is idempotent).
    const acknowledged = new Map<number, string>();
    const total = 40;
    for (let n = 1; n <= total; n++) {
      if (n === 15 || n === 30) {
        server.child.kill('SIGKILL');
        await server.exited;
        server = await start(port);
      }
      for (;;) {
        try {
          acknowledged.set(n, await ingest(url, operator, n));
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    }
    await consumer.waitForCount(total, 45_000);
    await consumer.stop();

    const sequences = consumer.received.map((m) => BigInt(m.sequence));
    expect(sequences).toEqual(sequences.map((_, i) => BigInt(i + 1)));
    expect(new Set(consumer.received.map((m) => m.alertId))).toEqual(new Set(acknowledged.values()));
    expect(consumer.received.every((m) => m.kind === 'AD1')).toBe(true);
    server.child.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
  }, 150_000);

  const onPostgres = BACKEND === 'postgres' ? test : test.skip;
  onPostgres(
    'two instances on one database: an alert ingested on one reaches a subscriber on the other',
    async () => {
      const [portA, portB] = [await freePort(), await freePort()];
      const a = await start(portA);
      const b = await start(portB);
      const operator = await token({ subject: 'dsp', role: 'OPERATOR', ttlSeconds: 3600 });
      const dno = await token({ subject: 'dno12', role: 'ED', distributorIds: ['12'], ttlSeconds: 3600 });
      const status = await fetch(`${b.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${dno}` },
        body: JSON.stringify({ query: '{ dnoDeliveryStatus { newestSequence } }' }),
      });
      const newest = ((await status.json()) as { data: { dnoDeliveryStatus: { newestSequence: string } } })
        .data.dnoDeliveryStatus.newestSequence;
      const consumer = new ResilientConsumer(() => `ws://127.0.0.1:${portB}/graphql`, dno, newest);
      consumer.start();
      // Give the subscription a moment to be live, then ingest on A only: B hears it by LISTEN/NOTIFY.
      await new Promise((r) => setTimeout(r, 500));
      const ids = [await ingest(a.url, operator, 101), await ingest(a.url, operator, 102)];
      const started = Date.now();
      await consumer.waitForCount(2, 10_000);
      // Well inside the 5 s safety poll: the wake-up crossed instances.
      expect(Date.now() - started).toBeLessThan(4_000);
      expect(consumer.received.map((m) => m.alertId)).toEqual(ids);
      await consumer.stop();
    },
    90_000,
  );
});
