import { mpanCheckDigit } from '../../src/domain/identifiers';
import type { GqlBody, TestApp } from './app';

/**
 * Small helpers shared by the integration tests. Row counts go through the application's own
 * connection pool (t.app.dataSource): a separate client could be refused by the embedded
 * database, which accepts only as many connections as the application's pool may open.
 */

export type Table =
  | 'device'
  | 'device_firmware'
  | 'device_supplier'
  | 'comms_hub_link'
  | 'firmware_image'
  | 'affected_firmware_rule'
  | 'affected_firmware_rule_change'
  | 'firmware_activation'
  | 'activation_outcome_claim'
  | 'alert'
  | 'alert_decision';

/** `SELECT count(*)` of each table, as numbers keyed by table name. */
export async function rowCounts<T extends Table>(t: TestApp, ...tables: T[]): Promise<Record<T, number>> {
  const out = {} as Record<T, number>;
  for (const table of tables) {
    const [row] = (await t.app.dataSource.query(`SELECT count(*)::int AS n FROM ${table}`)) as {
      n: number;
    }[];
    out[table] = row.n;
  }
  return out;
}

/** A valid 13-digit MPAN core for a distributor ID and a unique number. */
export function mpan(distributorId: number | string, unique: number): string {
  const first12 = `${String(distributorId).padStart(2, '0')}${String(unique).padStart(10, '0')}`;
  return `${first12}${mpanCheckDigit(first12)}`;
}

/** A canonical EUI-64 from a 6-octet prefix and a 16-bit number, e.g. guid('00-DB-12-34-56-78', 7). */
export function guid(prefix: string, n: number): string {
  const hex = n.toString(16).toUpperCase().padStart(4, '0');
  return `${prefix}-${hex.slice(0, 2)}-${hex.slice(2)}`;
}

/** The first error of a GraphQL response, failing loudly when there is none. */
export function firstError<T>(body: GqlBody<T>) {
  const error = body.errors?.[0];
  if (!error) throw new Error(`expected an error, got ${JSON.stringify(body)}`);
  return error;
}

/** Asserts a response failed with this code (and reason, when given), and returns its extensions. */
export function expectError<T>(body: GqlBody<T>, code: string, reason?: string): Record<string, unknown> {
  const extensions = firstError(body).extensions ?? {};
  expect(extensions.code).toBe(code);
  if (reason !== undefined) expect(extensions.reason).toBe(reason);
  return extensions;
}

/** Asserts a response has no errors and returns its data. */
export function ok<T>(body: GqlBody<T>): T {
  expect(body.errors).toBeUndefined();
  expect(body.data).toBeTruthy();
  return body.data as T;
}

/** One sample of the Prometheus text exposition: name, labels, value. */
export interface MetricSample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** Scrapes /metrics and returns its samples. */
export async function scrapeMetrics(t: Pick<TestApp, 'url'>): Promise<MetricSample[]> {
  const text = await (await fetch(`${t.url}/metrics`)).text();
  const samples: MetricSample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s+([0-9.eE+-]+|NaN|[+-]Inf)\s*$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[k] = v;
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

/**
 * The sum of a metric's samples whose labels include `labels`, or undefined when no sample of
 * that name is exposed.
 */
export function metricValue(
  samples: readonly MetricSample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const matching = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  return matching.length ? matching.reduce((sum, s) => sum + s.value, 0) : undefined;
}

/** The sum over all labels of the SQL statement counter exposed at /metrics. */
export async function dbQueriesTotal(t: TestApp): Promise<number> {
  const total = metricValue(await scrapeMetrics(t), 'poa_sieve_db_queries_total');
  if (total === undefined) throw new Error('poa_sieve_db_queries_total is not exposed at /metrics');
  return total;
}

/**
 * When evidence from an OTA-cut premises can first arrive (docs/ENGINE.md, "Timeline"), with the
 * default skew (2 min), transit (1 min) and a hub that raises AD1 after 3 minutes dark: the hub
 * went dark by its stamped start plus the skew or by the AD1's receipt less 3 minutes, whichever
 * is earlier, and is back within the rule's longest cut.
 */
export function evidenceDeadline(startAt: number, receivedAt: number, cutMinutes: number): number {
  const MINUTE = 60_000;
  return Math.min(startAt + 2 * MINUTE, receivedAt - 3 * MINUTE) + (cutMinutes + 1) * MINUTE;
}
