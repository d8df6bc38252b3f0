import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * `--spawn`: the live simulator starts the real server (`src/main.ts`, as `npm start` does) as a
 * child process on a free port, on the embedded database in a temporary DATA_DIR or on
 * DATABASE_URL, with an accelerated clock when asked, and stops it afterwards.
 */

const ROOT = path.resolve(__dirname, '..', '..');

export interface SpawnOptions {
  /** PostgreSQL to run on (an empty database); unset: embedded PGlite in a temporary folder. */
  readonly databaseUrl?: string;
  /** CLOCK_SPEED and CLOCK_START for the server (speed 1 and no start: the wall clock). */
  readonly clockSpeed: number;
  readonly clockStart?: Date;
  /** Further settings (engine bounds and so on). */
  readonly env?: Record<string, string>;
  readonly timeoutMs?: number;
}

export interface SpawnedServer {
  readonly url: string;
  /** The AUTH_JWT_SECRET it was given (random per run). */
  readonly secret: string;
  readonly backend: 'pglite' | 'postgres';
  /** The last 20,000 characters it wrote. */
  output(): string;
  /** SIGTERM, wait for the exit (SIGKILL after 30 s), and remove the temporary data folder. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function spawnServer(options: SpawnOptions): Promise<SpawnedServer> {
  const secret = crypto.randomBytes(32).toString('base64url');
  const dataDir = options.databaseUrl ? undefined : fs.mkdtempSync(path.join(os.tmpdir(), 'poa-sieve-live-'));
  const speed = options.clockSpeed;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    // The accelerated clock is refused in production; "test" keeps internal errors opaque too.
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'info', // quiet apart from start-up: the "listening" line carries the port
    SEED_DEMO: 'false',
    AUTH_JWT_SECRET: secret,
    // The rate limit counts real minutes: at N times the speed the same traffic comes N times as fast.
    RATE_LIMIT_MUTATIONS_PER_MINUTE: String(Math.round(600 * speed)),
    ...(speed !== 1 ? { CLOCK_SPEED: String(speed) } : {}),
    ...(options.clockStart ? { CLOCK_START: options.clockStart.toISOString() } : {}),
    ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : { DATA_DIR: dataDir! }),
    ...options.env,
  };
  let text = '';
  const child = spawn(process.execPath, ['-r', 'ts-node/register', 'src/main.ts'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (d: string) => (text = (text + d).slice(-20_000));
  child.stdout.setEncoding('utf8').on('data', keep);
  child.stderr.setEncoding('utf8').on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const cleanUp = () => {
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  };
  let stopping: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const force = setTimeout(() => child.kill('SIGKILL'), 30_000);
        const result = await exited;
        clearTimeout(force);
        cleanUp();
        return result;
      }
      const result = await exited;
      cleanUp();
      return result;
    })());

  const timeoutMs = options.timeoutMs ?? 90_000;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`the server did not start in ${timeoutMs} ms:\n${text}`));
    }, timeoutMs);
    const onData = () => {
      const match = /"url":"(http:\/\/[^"]+)\/graphql"[^\n]*"msg":"poa-sieve listening"/.exec(text);
      if (match) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        resolve(match[1]);
      }
    };
    child.stdout.on('data', onData);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      cleanUp();
      reject(new Error(`the server exited (${code ?? signal}) before listening:\n${text}`));
    });
  });
  return {
    url,
    secret,
    backend: options.databaseUrl ? 'postgres' : 'pglite',
    output: () => text,
    stop,
  };
}
