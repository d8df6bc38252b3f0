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

/** POSTs one GraphQL operation; throws on HTTP or GraphQL errors. */
export async function gql<T>(
  url: string,
  query: string,
  variables: Record<string, unknown>,
  bearer: string,
  timeoutMs = 120_000,
): Promise<T> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = (await res.json()) as GqlResult<T>;
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
