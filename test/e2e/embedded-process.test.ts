import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mintToken } from '../../src/auth/tokens';
import { BACKEND } from '../support/database';
import { runMain, spawnServer } from '../support/process';
import type { ServerProcess } from '../support/process';

// The embedded database is what `npm start` runs on a fresh machine; this runs it as a user
// would, in separate processes. It concerns PGlite alone, so the PostgreSQL project skips it.
const describeEmbedded = BACKEND === 'pglite' ? describe : describe.skip;

describeEmbedded('npm start on the embedded database', () => {
  let dataDir: string;
  const started: ServerProcess[] = [];

  beforeAll(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'poa-sieve-e2e-'));
  });
  afterAll(async () => {
    for (const s of started) if (s.child.exitCode === null) s.child.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const start = async () => {
    const s = await spawnServer({ DATA_DIR: dataDir, LOG_LEVEL: 'info' });
    started.push(s);
    return s;
  };
  const operatorToken = () =>
    mintToken(
      fs.readFileSync(path.join(dataDir, 'jwt-secret'), 'utf8').trim(),
      { subject: 'e2e', role: 'OPERATOR', ttlSeconds: 600 },
      new Date(),
    );
  const gql = async (url: string, query: string, token: string) => {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query }),
    });
    return (await res.json()) as { data?: Record<string, never>; errors?: unknown[] };
  };
  const countDevices = async (url: string, token: string) => {
    const body = await gql(url, '{ devices(first: 500) { nodes { guid } } }', token);
    return (body.data!.devices as { nodes: unknown[] }).nodes.length;
  };

  test('first start generates a secret, loads the demo data, and a second server on the same folder refuses', async () => {
    const first = await start();
    expect(first.output()).toContain('generated one for the embedded database');
    expect(first.output()).toContain('demo dataset loaded');
    const token = await operatorToken();
    const demo = await countDevices(first.url, token);
    expect(demo).toBeGreaterThan(0);
    const added = await gql(
      first.url,
      'mutation { upsertDevices(devices: [{ guid: "00-11-22-33-44-55-66-77", deviceType: IHD }]) { inserted } }',
      token,
    );
    expect(added.errors).toBeUndefined();

    const second = await runMain({ DATA_DIR: dataDir });
    expect(second.code).toBe(3);
    expect(second.output).toContain('is in use by another poa-sieve process');

    first.child.kill('SIGTERM');
    expect((await first.exited).code).toBe(0);
    expect(fs.existsSync(path.join(dataDir, 'poa-sieve.lock'))).toBe(false);

    const again = await start();
    expect(again.output()).not.toContain('demo dataset loaded');
    expect(await countDevices(again.url, token)).toBe(demo + 1);

    // A crash leaves the lock file behind; the next start takes it over.
    again.child.kill('SIGKILL');
    await again.exited;
    expect(fs.existsSync(path.join(dataDir, 'poa-sieve.lock'))).toBe(true);
    const afterCrash = await start();
    expect(await countDevices(afterCrash.url, token)).toBe(demo + 1);
    afterCrash.child.kill('SIGTERM');
    expect((await afterCrash.exited).code).toBe(0);
  }, 180_000);
});

describe('configuration errors stop the process with a clear message', () => {
  test('a real DATABASE_URL without a JWT secret or JWKS is refused', async () => {
    const { code, output } = await runMain({ DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/postgres' });
    expect(code).toBe(2);
    expect(output).toContain('AUTH_JWT_SECRET or AUTH_JWKS_URL is required');
  }, 60_000);
});
