import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { TEST_SECRET } from '../../test/support/app';
import { sleep } from './util';

const ROOT = path.resolve(__dirname, '..', '..');
export const BENCH_SECRET = TEST_SECRET;

export interface BenchServer {
  readonly url: string;
  readonly wsUrl: string;
  readonly child: ChildProcess;
  output(): string;
  /** SIGTERM and wait for the exit (a --cpu-prof profile is written then). */
  stop(): Promise<void>;
}

export interface ServerOptions {
  readonly databaseUrl: string;
  readonly poolSize: number;
  readonly pubSub: 'postgres' | 'memory';
  /** Extra node flags, e.g. ['--cpu-prof', '--cpu-prof-dir', dir]. */
  readonly nodeArgs?: readonly string[];
  readonly env?: Record<string, string>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts the real server (`node -r ts-node/register src/main.ts`) as a child process on its own
 * port and waits until GET /readyz answers 200 (database up, migrations applied, LISTEN up).
 */
export async function startServer(options: ServerOptions, timeoutMs = 90_000): Promise<BenchServer> {
  const port = await freePort();
  let text = '';
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), '-r', 'ts-node/register', 'src/main.ts'],
    {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'production',
        HOST: '127.0.0.1',
        PORT: String(port),
        DATABASE_URL: options.databaseUrl,
        DATABASE_POOL_SIZE: String(options.poolSize),
        PUBSUB_MODE: options.pubSub,
        AUTH_JWT_SECRET: BENCH_SECRET,
        LOG_LEVEL: 'warn',
        SEED_DEMO: 'false',
        RATE_LIMIT_MUTATIONS_PER_MINUTE: '0',
        MAX_INGEST_BATCH: '1000',
        MAX_BATCH_SIZE: '10000',
        // The benchmarks measure capacity, not admission control: the ingest gate is opened past
        // their clients' concurrency (8), so no batch is ever refused with OVERLOADED.
        MAX_INGEST_IN_FLIGHT: '16',
        MAX_INGEST_QUEUED: '64',
        // Nor per-token connection limits: the end-to-end run's subscribers share one token per DNO.
        WS_MAX_CONNECTIONS_PER_TOKEN: '0',
        ...serverSettingsFromEnvironment(),
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (text = (text + d).slice(-20_000)));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (text = (text + d).slice(-20_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode}) before ready:\n${text}`);
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server not ready in ${timeoutMs} ms:\n${text}`);
    }
    await sleep(200);
  }
  return {
    url,
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    child,
    output: () => text,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/**
 * Server settings to compare from the command line: every BENCH_SERVER_<NAME> of the
 * environment is passed to the servers as <NAME> (`BENCH_SERVER_INGEST_TRANSACTIONS=1 npm run
 * bench -- --only single`).
 */
function serverSettingsFromEnvironment(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env)
      .filter(([name, value]) => name.startsWith('BENCH_SERVER_') && value !== undefined)
      .map(([name, value]) => [name.slice('BENCH_SERVER_'.length), value!]),
  );
}
