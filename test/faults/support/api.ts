import { mintToken } from '../../../src/auth/tokens';
import type { TokenClaims } from '../../../src/auth/tokens';
import { TEST_SECRET } from '../../support/app';
import type { GqlBody } from '../../support/app';

/** Talking to a server process over its public HTTP interface, as a DSP, supplier or DNO would. */

export const OPERATOR_CLAIMS = { subject: 'dsp', role: 'OPERATOR' } as const;

export function token(claims: Omit<TokenClaims, 'ttlSeconds'>): Promise<string> {
  return mintToken(TEST_SECRET, { ttlSeconds: 4 * 3600, ...claims } as TokenClaims, new Date());
}

export interface HttpAnswer<T> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

/** POSTs a GraphQL operation; rejects on network failure or after `timeoutMs`. */
export async function gql<T>(
  baseUrl: string,
  query: string,
  variables: Record<string, unknown>,
  bearer: string,
  timeoutMs = 15_000,
): Promise<HttpAnswer<GqlBody<T>>> {
  const res = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as GqlBody<T> };
}

/** The data of a successful GraphQL answer; throws with the errors otherwise. */
export async function gqlOk<T>(
  baseUrl: string,
  query: string,
  variables: Record<string, unknown>,
  bearer: string,
): Promise<T> {
  const { body } = await gql<T>(baseUrl, query, variables, bearer);
  if (body.errors?.length || !body.data) throw new Error(`GraphQL failed: ${JSON.stringify(body.errors)}`);
  return body.data;
}

export interface DuisAnswer {
  results?: { alertId: string | null; duplicate: boolean; outcome: string | null }[];
  errors?: { code: string; reason?: string; message: string; retryable?: boolean }[];
}

/** POSTs a DUIS XML document to /duis. */
export async function postDuis(
  baseUrl: string,
  xml: string,
  bearer: string,
  timeoutMs = 15_000,
): Promise<HttpAnswer<DuisAnswer>> {
  const res = await fetch(`${baseUrl}/duis`, {
    method: 'POST',
    headers: { 'content-type': 'application/xml', authorization: `Bearer ${bearer}` },
    body: xml,
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as DuisAnswer };
}

/** GET /readyz's status code, or 0 when the server does not answer. */
export async function readyz(baseUrl: string): Promise<number> {
  try {
    return (await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(5_000) })).status;
  } catch {
    return 0;
  }
}

/** Samples of a server process's memory, from its Prometheus endpoint. */
export interface ProcessSample {
  readonly at: number;
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
}

/** Reads process_resident_memory_bytes and nodejs_heap_size_used_bytes (with any prefix) from /metrics. */
export async function sampleProcess(baseUrl: string, timeoutMs = 10_000): Promise<ProcessSample> {
  const text = await (await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(timeoutMs) })).text();
  return {
    at: Date.now(),
    rssBytes: metricValue(text, 'process_resident_memory_bytes'),
    heapUsedBytes: metricValue(text, 'nodejs_heap_size_used_bytes'),
  };
}

/** The sum over every label set of a metric in Prometheus text (names may carry a prefix). */
export function metricValue(text: string, name: string, labels = ''): number {
  let sum = 0;
  let seen = false;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+([0-9.eE+-]+)\s*$/.exec(line);
    if (!m || !(m[1] === name || m[1].endsWith(`_${name}`)) || !(m[2] ?? '').includes(labels)) continue;
    sum += Number(m[3]);
    seen = true;
  }
  if (!seen) throw new Error(`${name} is not exposed at /metrics`);
  return sum;
}
