import http from 'node:http';
import { mintToken } from '../../src/auth/tokens';
import type { TokenClaims } from '../../src/auth/tokens';
import { BENCH_SECRET } from './server';

export function token(claims: Partial<TokenClaims> & Pick<TokenClaims, 'role'>): Promise<string> {
  return mintToken(
    BENCH_SECRET,
    { subject: `bench-${claims.role}`, ttlSeconds: 6 * 3600, ...claims },
    new Date(),
  );
}

export interface GqlResult<T> {
  data?: T | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

/**
 * The load generator's HTTP client: node's own http with keep-alive connections. The benchmarks
 * run client, server and PostgreSQL on the same 2 cores, so whatever the client spends per request
 * is taken from the server: `fetch` (undici, WHATWG streams) cost 1.2-1.6 ms of CPU per small
 * request here, this 0.4-0.7 ms (docs/BENCHMARKS.md, 2026-12-07).
 */
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

/** POSTs `body` to `url` and reads the whole answer; rejects on a network error or after `timeoutMs`. */
export function post(
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs = 120_000,
): Promise<{ status: number; text: string }> {
  const target = new URL(url);
  const payload = Buffer.from(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname + target.search,
        method: 'POST',
        agent,
        headers: { ...headers, 'content-length': String(payload.length) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`POST ${url}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** POSTs one GraphQL operation; throws on HTTP or GraphQL errors. */
export async function gql<T>(
  url: string,
  query: string,
  variables: Record<string, unknown>,
  bearer: string,
  timeoutMs = 120_000,
): Promise<T> {
  const res = await post(
    `${url}/graphql`,
    JSON.stringify({ query, variables }),
    { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
    timeoutMs,
  );
  let body: GqlResult<T>;
  try {
    body = JSON.parse(res.text) as GqlResult<T>;
  } catch {
    throw new Error(`GraphQL error (HTTP ${res.status}): ${res.text.slice(0, 500)}`);
  }
  if (body.errors?.length || !body.data) {
    throw new Error(
      `GraphQL error (HTTP ${res.status}): ${JSON.stringify(body.errors ?? body).slice(0, 500)}`,
    );
  }
  return body.data;
}

export const INGEST =
  'mutation ($a: [AlertInput!]!) { ingestAlerts(alerts: $a) { alertId duplicate outcome } }';

export interface Ack {
  alertId: string;
  duplicate: boolean;
  outcome: string | null;
}
