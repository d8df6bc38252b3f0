import { gql, postDuis } from './api';
import type { StreamAlert } from './fleet';

/**
 * A DSP-side load client: sends units of alerts (an ingestAlerts batch over GraphQL, or one DUIS
 * document) at a steady rate with a bounded number in flight, and retries each unit until it is
 * acknowledged. Retries resend the same alerts (same natural keys), so they are idempotent.
 *
 * It records every attempt (outcome, latency, HTTP status, error code, retry hint) and, for every
 * acknowledged alert, the ID the server gave it, noting any key that ever came back with two IDs.
 */

export type Via = 'graphql' | 'duis';

export interface Unit {
  readonly via: Via;
  readonly alerts: readonly { naturalKey: string; input?: Record<string, unknown>; xml?: string }[];
}

export interface Attempt {
  readonly unit: number;
  readonly via: Via;
  /** Alerts in the unit. */
  readonly alerts: number;
  readonly at: number;
  readonly ms: number;
  /** 'ok', an error code (UNAVAILABLE, OVERLOADED, ...), 'network' or 'timeout'. */
  readonly outcome: string;
  readonly status?: number;
  readonly retryable?: boolean;
  readonly retryAfterSeconds?: number;
}

export interface LoadOptions {
  readonly baseUrl: () => string;
  readonly token: string;
  /** Builds unit number k (0, 1, 2, ...). */
  readonly unit: (k: number) => Unit;
  /** Alerts a second (paces unit starts); Infinity sends as fast as `concurrency` allows. */
  readonly alertsPerSecond: number;
  readonly concurrency: number;
  readonly timeoutMs: number;
  /** Wait before retrying a unit; a Retry-After hint from the server wins. */
  readonly retryDelayMs?: (attempt: number) => number;
}

export class LoadClient {
  readonly attempts: Attempt[] = [];
  /** Natural key -> alert ID, for every acknowledged alert. */
  readonly acknowledged = new Map<string, string>();
  /** Keys that were acknowledged with two different alert IDs (must stay empty). */
  readonly conflicts: string[] = [];
  /**
   * Units refused (OVERLOADED) before their first success and never left in doubt by a timeout or a
   * dropped connection, with how many of their alerts the accepting attempt called duplicates.
   */
  readonly refusedThenAccepted: { unit: number; duplicates: number }[] = [];
  private issued = 0;
  private alertsIssued = 0;
  private inFlight = 0;
  private stopping = false;
  private abandoned = false;
  private readonly running = new Set<Promise<void>>();
  private pacer: Promise<void> | undefined;
  private startedAt = 0;

  constructor(private readonly options: LoadOptions) {}

  get unitsIssued(): number {
    return this.issued;
  }

  get alertsSent(): number {
    return this.alertsIssued;
  }

  /** Units sent and not yet acknowledged. */
  get pending(): number {
    return this.inFlight;
  }

  start(): void {
    this.startedAt = Date.now();
    this.pacer = this.pace();
  }

  /** Stops issuing new units and waits until every issued unit has been acknowledged. */
  async drain(timeoutMs: number): Promise<void> {
    this.stopping = true;
    await this.pacer;
    const all = Promise.all([...this.running]);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${this.running.size} unit(s) still unacknowledged after ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([all, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Gives up on unacknowledged units (cleanup after a failed test). */
  abandon(): void {
    this.stopping = true;
    this.abandoned = true;
  }

  /** Attempts by outcome. */
  outcomes(filter: (a: Attempt) => boolean = () => true): Record<string, number> {
    const out: Record<string, number> = {};
    for (const a of this.attempts.filter(filter)) out[a.outcome] = (out[a.outcome] ?? 0) + 1;
    return out;
  }

  private async pace(): Promise<void> {
    const { alertsPerSecond, concurrency } = this.options;
    while (!this.stopping) {
      if (this.inFlight >= concurrency) {
        await sleep(2);
        continue;
      }
      const unit = this.options.unit(this.issued);
      const dueAt = this.startedAt + (this.alertsIssued / alertsPerSecond) * 1000;
      const wait = dueAt - Date.now();
      if (wait > 0) {
        await sleep(Math.min(wait, 50));
        continue;
      }
      const k = this.issued++;
      this.alertsIssued += unit.alerts.length;
      this.inFlight++;
      const run = this.send(k, unit).finally(() => {
        this.inFlight--;
        this.running.delete(run);
      });
      this.running.add(run);
    }
  }

  private async send(k: number, unit: Unit): Promise<void> {
    let refused = false;
    let inDoubt = false;
    for (let attempt = 1; !this.abandoned; attempt++) {
      const at = Date.now();
      const result = await this.attempt(unit).catch((error: unknown) => ({
        outcome: (error as Error).name === 'TimeoutError' ? 'timeout' : 'network',
        ids: undefined,
        duplicates: 0,
        status: undefined,
        retryable: true,
        retryAfterSeconds: undefined,
      }));
      this.attempts.push({
        unit: k,
        via: unit.via,
        alerts: unit.alerts.length,
        at,
        ms: Date.now() - at,
        outcome: result.outcome,
        status: result.status,
        retryable: result.retryable,
        retryAfterSeconds: result.retryAfterSeconds,
      });
      if (result.ids) {
        unit.alerts.forEach((a, i) => this.acknowledge(a.naturalKey, result.ids![i]));
        if (refused && !inDoubt) this.refusedThenAccepted.push({ unit: k, duplicates: result.duplicates });
        return;
      }
      if (result.outcome === 'OVERLOADED') refused = true;
      // The request may have been committed without the answer reaching us.
      if (result.outcome === 'timeout' || result.outcome === 'network' || result.outcome === 'UNAVAILABLE')
        inDoubt = true;
      const delay =
        result.retryAfterSeconds !== undefined
          ? result.retryAfterSeconds * 1000
          : (this.options.retryDelayMs ?? ((n) => Math.min(100 * 2 ** (n - 1), 1000)))(attempt);
      await sleep(delay);
    }
  }

  private async attempt(unit: Unit): Promise<{
    outcome: string;
    ids: string[] | undefined;
    duplicates: number;
    status: number | undefined;
    retryable: boolean | undefined;
    retryAfterSeconds: number | undefined;
  }> {
    const base = this.options.baseUrl();
    if (unit.via === 'duis') {
      const { status, headers, body } = await postDuis(
        base,
        unit.alerts[0].xml!,
        this.options.token,
        this.options.timeoutMs,
      );
      const r = body.results?.[0];
      if (status === 200 && r?.alertId) {
        return {
          outcome: 'ok',
          ids: [r.alertId],
          duplicates: r.duplicate ? 1 : 0,
          status,
          retryable: undefined,
          retryAfterSeconds: undefined,
        };
      }
      const e = body.errors?.[0];
      return {
        outcome: e?.code ?? `HTTP_${status}`,
        ids: undefined,
        duplicates: 0,
        status,
        retryable: e?.retryable,
        retryAfterSeconds: retryAfter(headers),
      };
    }
    const { status, headers, body } = await gql<{
      ingestAlerts: { alertId: string; duplicate: boolean }[];
    }>(
      base,
      'mutation ($a: [AlertInput!]!) { ingestAlerts(alerts: $a) { alertId duplicate } }',
      { a: unit.alerts.map((a) => a.input) },
      this.options.token,
      this.options.timeoutMs,
    );
    const results = body.data?.ingestAlerts;
    if (results && !body.errors?.length) {
      return {
        outcome: 'ok',
        ids: results.map((r) => r.alertId),
        duplicates: results.filter((r) => r.duplicate).length,
        status,
        retryable: undefined,
        retryAfterSeconds: undefined,
      };
    }
    const e = body.errors?.[0]?.extensions;
    return {
      outcome: typeof e?.code === 'string' ? e.code : `HTTP_${status}`,
      ids: undefined,
      duplicates: 0,
      status,
      retryable: e?.retryable === true,
      retryAfterSeconds: retryAfter(headers),
    };
  }

  private acknowledge(key: string, id: string): void {
    const known = this.acknowledged.get(key);
    if (known !== undefined && known !== id) this.conflicts.push(`${key}: ${known} and ${id}`);
    this.acknowledged.set(key, id);
  }
}

/** GraphQL batches of the fleet's stream, `size` alerts each: unit k holds alerts k*size .. k*size+size-1. */
export function batchesOf(alert: (i: number) => StreamAlert, size: number): (k: number) => Unit {
  return (k) => ({
    via: 'graphql',
    alerts: Array.from({ length: size }, (_, j) => alert(k * size + j)),
  });
}

function retryAfter(headers: Headers): number | undefined {
  const value = headers.get('retry-after');
  return value === null || !/^\d+$/.test(value) ? undefined : Number(value);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** p50, p99 and the maximum of some latencies (ms). */
export function latencySummary(ms: readonly number[]): { p50: number; p99: number; max: number } {
  return { p50: percentile(ms, 50), p99: percentile(ms, 99), max: Math.max(0, ...ms) };
}

/** The p-th percentile (0-100) of some numbers, nearest rank; NaN when there are none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/**
 * Every `duisEvery`-th unit is one DUIS document (`duis(n)` for the n-th of them); the others are
 * GraphQL batches taken in order from `batch(g)`, so the batches cover the stream without gaps.
 */
export function mixedUnits(
  batch: (g: number) => Unit,
  duis: (n: number) => { naturalKey: string; xml: string },
  duisEvery: number,
): (k: number) => Unit {
  return (k) => {
    if (k % duisEvery === duisEvery - 1) {
      return { via: 'duis', alerts: [duis(Math.floor(k / duisEvery))] };
    }
    return batch(k - Math.floor(k / duisEvery));
  };
}
