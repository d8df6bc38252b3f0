import { createClient } from 'graphql-ws';
import type { Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { startApp } from '../../src/app';
import type { App, AppOptions } from '../../src/app';
import { mintToken } from '../../src/auth/tokens';
import type { TokenClaims } from '../../src/auth/tokens';
import type { Clock } from '../../src/clock';
import { loadConfig } from '../../src/config';
import type { Logger } from '../../src/logger';
import { createTestDatabase } from './database';
import type { TestDatabase } from './database';

export const TEST_SECRET = 'test-secret-that-is-at-least-32-characters-long';

export interface TestApp {
  readonly app: App;
  readonly db: TestDatabase;
  readonly url: string;
  readonly wsUrl: string;
  token(claims: Partial<TokenClaims> & Pick<TokenClaims, 'role'>): Promise<string>;
  /** POSTs a GraphQL operation and returns the parsed body and HTTP status. */
  gql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    token?: string,
  ): Promise<{ status: number; body: GqlBody<T> }>;
  ws(token?: string, extra?: Partial<Parameters<typeof createClient>[0]>): WsClient;
  /** Stops the server and drops the database (unless it was handed in). */
  stop(): Promise<void>;
  /** Stops the server and keeps the database, to start another server on it (a restart). */
  stopServerOnly(): Promise<void>;
}

/** A clock the test moves by hand; the server reads it for every decision and timer. */
export class TestClock implements Clock {
  private current: number;
  constructor(start: Date | string) {
    this.current = new Date(start).getTime();
  }
  now(): Date {
    return new Date(this.current);
  }
  advance(ms: number): Date {
    this.current += ms;
    return this.now();
  }
  set(at: Date | string): void {
    this.current = new Date(at).getTime();
  }
}

/** Polls until `check` returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface GqlBody<T> {
  data?: T | null;
  errors?: {
    message: string;
    path?: string[];
    extensions?: { code?: string; reason?: string; [k: string]: unknown };
  }[];
}

/**
 * Starts the real server (HTTP + WebSocket) on port 0 over a fresh database of this file's
 * backend. Everything goes through the public interfaces: fetch and the graphql-ws client.
 */
export async function startTestApp(
  env: Record<string, string> = {},
  clock?: Clock,
  /** Reuse this database (a restart); it is then left for its owner to drop. */
  existing?: TestDatabase,
  /** Where the server logs (default: a logger at TEST_LOG_LEVEL, silent unless set). */
  log?: Logger,
  /** Where spans go when the env turns tracing on (an InMemorySpanExporter). */
  spanExporter?: AppOptions['spanExporter'],
): Promise<TestApp> {
  const db = existing ?? (await createTestDatabase());
  const config = loadConfig({
    DATABASE_URL: db.url,
    AUTH_JWT_SECRET: TEST_SECRET,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    NODE_ENV: 'test',
    SEED_DEMO: 'false',
    // PGlite serves one session, so LISTEN/NOTIFY cannot cross its connections.
    PUBSUB_MODE: db.backend === 'pglite' ? 'memory' : 'postgres',
    // PGlite has one backend; one connection keeps the messages of concurrent queries apart.
    DATABASE_POOL_SIZE: db.backend === 'pglite' ? '1' : '10',
    // Tests that drive simulated clocks over months mint long-lived tokens; the bound itself is
    // tested with the default (test/security, test/integration/authorization).
    AUTH_MAX_TOKEN_LIFETIME_SECONDS: String(500 * 24 * 3600),
    ...env,
  });
  let app: App;
  try {
    app = await startApp(config, { clock, log, spanExporter });
  } catch (error) {
    if (!existing) await db.drop();
    throw error;
  }
  const url = app.server.url;
  const wsUrl = `${url.replace('http', 'ws')}/graphql`;
  const clients: WsClient[] = [];
  return {
    app,
    db,
    url,
    wsUrl,
    token: (claims) =>
      mintToken(
        TEST_SECRET,
        { subject: `test-${claims.role}`, ttlSeconds: 3600, ...claims },
        // Tokens are judged on wall time, whatever the test's service clock reads.
        new Date(),
      ),
    async gql(query, variables, token) {
      const res = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({ query, variables }),
      });
      return { status: res.status, body: (await res.json()) as never };
    },
    ws(token, extra = {}) {
      const client = createClient({
        url: wsUrl,
        webSocketImpl: WebSocket,
        connectionParams: token ? { authorization: `Bearer ${token}` } : {},
        retryAttempts: 0,
        lazy: false,
        // Connection failures are asserted through `connected()`; the default logs them to the console.
        onNonLazyError: () => undefined,
        ...extra,
      });
      clients.push(client);
      trackConnection(client);
      return client;
    },
    async stop() {
      await Promise.all(clients.map((c) => c.dispose()));
      await app.stop();
      if (!existing) await db.drop();
    },
    async stopServerOnly() {
      await Promise.all(clients.map((c) => c.dispose()));
      await app.stop();
    },
  };
}

/** Collects a subscription's events into a queue that tests await with a timeout (no sleeps). */
export function subscribe<T>(client: WsClient, query: string, variables: Record<string, unknown> = {}) {
  const events: T[] = [];
  const waiters: (() => void)[] = [];
  let error: unknown;
  let completed = false;
  const dispose = client.subscribe<T>(
    { query, variables },
    {
      next: (value) => {
        // A subscription refused at subscribe time arrives as one result carrying errors.
        if (value.errors?.length) error = value.errors;
        else events.push(value.data as T);
        waiters.splice(0).forEach((w) => w());
      },
      error: (e) => {
        error = e;
        waiters.splice(0).forEach((w) => w());
      },
      complete: () => {
        completed = true;
        waiters.splice(0).forEach((w) => w());
      },
    },
  );
  return {
    events,
    get error() {
      return error;
    },
    get completed() {
      return completed;
    },
    dispose,
    /** Resolves once `count` events have arrived, or rejects after `timeoutMs`. */
    async waitFor(count: number, timeoutMs = 10_000): Promise<T[]> {
      const deadline = Date.now() + timeoutMs;
      while (events.length < count) {
        if (error) throw error instanceof Error ? error : new Error(JSON.stringify(error));
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`timed out waiting for ${count} events (have ${events.length})`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
      return events.slice(0, count);
    },
  };
}

const connectionState = new WeakMap<WsClient, { acked: boolean; closed: unknown }>();

/** Records acknowledgement from the start, so `connected()` also works after the fact. */
function trackConnection(client: WsClient): void {
  const state = { acked: false, closed: undefined as unknown };
  connectionState.set(client, state);
  client.on('connected', () => (state.acked = true));
  client.on('closed', (event) => {
    if (!state.acked) state.closed = event;
  });
}

/** Resolves when the graphql-ws client has been acknowledged by the server. */
export function connected(client: WsClient, timeoutMs = 10_000): Promise<void> {
  const state = connectionState.get(client);
  if (state?.acked) return Promise.resolve();
  if (state?.closed) return Promise.reject(state.closed);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no connection_ack')), timeoutMs);
    client.on('connected', () => {
      clearTimeout(t);
      resolve();
    });
    client.on('closed', (event) => {
      clearTimeout(t);
      reject(event);
    });
  });
}
