import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PoolState } from './db/data-source';
import { classify } from './schema/errors';
import type { ServiceObserver } from './services/shared/observer';
import type {
  DnoBudgetState,
  HoldQueueState,
  VerificationQueueState,
} from './services/operations/operations.service';
import type { HeldAlertCounts } from './services/operations/operator-status';

/** What the scrape-time gauges read. Set once the services exist. */
export interface ScrapeSources {
  lags(): Promise<{ distributorId: string; lag: number; acknowledgedAt: Date | null }[]>;
  holdQueue(): Promise<HoldQueueState>;
  held(): Promise<HeldAlertCounts>;
  budgets(): Promise<DnoBudgetState[]>;
  verifications(): Promise<VerificationQueueState>;
  /** The connection pool, or null before it exists. */
  pool(): PoolState | null;
  now(): Date;
}

/** Prometheus metrics of one process, exposed at GET /metrics. Names are documented in the README. */
export interface Metrics {
  readonly registry: Registry;
  readonly graphqlOperations: Counter<'operation' | 'type' | 'outcome'>;
  readonly graphqlDuration: Histogram<'type'>;
  readonly wsConnections: Gauge;
  readonly dbQueries: Counter<'outcome'>;
  readonly backgroundJobs: Counter<'job' | 'outcome'>;
  readonly dnoSubscribers: Gauge<'distributor_id'>;
  /** Counts what the services report (ingest, decisions, subscribers). */
  readonly observer: ServiceObserver;
  setScrapeSources(sources: ScrapeSources): void;
  /**
   * The exposition text. The pool is read before the scrape's own database reads start, so the
   * pool gauges show the service's load, not the scrape's.
   */
  scrape(): Promise<string>;
}

/**
 * Runs a scrape-time read once per scrape: prom-client starts every gauge's collect() in the
 * same pass, so gauges that share a read share the one in flight. Never fails the scrape: when
 * the database is down the gauges are left out and the error is counted.
 */
function perScrape<T>(read: () => Promise<T>, failed: () => void): () => Promise<T | undefined> {
  let inFlight: Promise<T | undefined> | undefined;
  return () =>
    (inFlight ??= read()
      .catch(() => {
        failed();
        return undefined;
      })
      .finally(() => {
        inFlight = undefined;
      }));
}

/**
 * What the scrape-time gauges read: the sources, set once the services exist (after createMetrics
 * returns, so always read through this object), and the pool as it stood when the scrape began
 * (undefined outside a scrape).
 */
interface ScrapeState {
  sources: ScrapeSources | null;
  poolBeforeScrape: ReturnType<ScrapeSources['pool']> | undefined;
}

type ScrapeReads = ReturnType<typeof registerScrapeReads>;

/**
 * The metrics of one process, registered step by step. The steps run in this order so that the
 * exposition lists the metrics in the order it always has.
 */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'poa_sieve_' });
  const state: ScrapeState = { sources: null, poolBeforeScrape: undefined };
  const reads = registerScrapeReads(registry, state);
  registerQueueGauges(registry, state, reads);
  registerBudgetGauges(registry, reads);
  registerPoolGauges(registry, state);
  const { observer, dnoSubscribers } = registerServiceCounters(registry);
  return {
    setScrapeSources(next) {
      state.sources = next;
    },
    async scrape() {
      state.poolBeforeScrape = state.sources?.pool() ?? null;
      try {
        return await registry.metrics();
      } finally {
        state.poolBeforeScrape = undefined;
      }
    },
    observer,
    dnoSubscribers,
    registry,
    ...registerRequestMetrics(registry),
  };
}

/** The scrape-time database reads, each once per scrape, and the counter of the ones that failed. */
function registerScrapeReads(registry: Registry, state: ScrapeState) {
  const scrapeErrors = new Counter({
    name: 'poa_sieve_scrape_read_errors_total',
    help: 'Scrape-time database reads that failed (the gauges they feed are left out of that scrape).',
    registers: [registry],
  });
  const failed = () => scrapeErrors.inc();
  return {
    lags: perScrape(async () => (state.sources ? state.sources.lags() : []), failed),
    holdQueue: perScrape(async () => (state.sources ? state.sources.holdQueue() : undefined), failed),
    held: perScrape(async () => (state.sources ? state.sources.held() : []), failed),
    budgets: perScrape(async () => (state.sources ? state.sources.budgets() : []), failed),
    verifications: perScrape(async () => (state.sources ? state.sources.verifications() : []), failed),
  };
}

/** The outbox lag, the verification requests and the hold queue, read from the database at scrape time. */
function registerQueueGauges(registry: Registry, state: ScrapeState, reads: ScrapeReads): void {
  new Gauge({
    name: 'poa_sieve_dno_outbox_lag',
    help: 'Per DNO: newest outbox sequence minus the acknowledged position.',
    labelNames: ['distributor_id'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const { distributorId, lag } of (await reads.lags()) ?? [])
        this.set({ distributor_id: distributorId }, lag);
    },
  });
  new Gauge({
    name: 'poa_sieve_dno_ack_age_seconds',
    help: 'Per DNO with a stream: seconds since its consumer last acknowledged (left out until it first does). With poa_sieve_dno_outbox_lag above 0 and this growing, the consumer is not keeping up.',
    labelNames: ['distributor_id'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const now = state.sources?.now().getTime();
      for (const { distributorId, acknowledgedAt } of (await reads.lags()) ?? [])
        if (acknowledgedAt && now !== undefined)
          this.set({ distributor_id: distributorId }, Math.max(0, now - acknowledgedAt.getTime()) / 1000);
    },
  });
  new Gauge({
    name: 'poa_sieve_held_alerts',
    help: 'AD1s HELD now, per DNO (distributor_id "none" when unrouted) and reason (AWAITING_EVIDENCE, AWAITING_VERIFICATION).',
    labelNames: ['distributor_id', 'reason'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const { distributorId, reason, count } of (await reads.held()) ?? [])
        this.set({ distributor_id: distributorId ?? 'none', reason }, count);
    },
  });
  new Gauge({
    name: 'poa_sieve_verification_requests_last_hour',
    help: 'Verification reads of meters (SR 11.2) requested in the last hour, by status: PENDING, ANSWERED, TIMED_OUT (no answer: a genuine outage) or SKIPPED (the request budget refused: fail open).',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const { status, count } of (await reads.verifications()) ?? []) this.set({ status }, count);
    },
  });
  new Gauge({
    name: 'poa_sieve_hold_queue_depth',
    help: 'Alerts waiting on a decision timer (held AD1s and the restores that follow them).',
    registers: [registry],
    async collect() {
      this.reset();
      const queue = await reads.holdQueue();
      if (queue) this.set(queue.depth);
    },
  });
  new Gauge({
    name: 'poa_sieve_hold_queue_overdue_seconds',
    help: 'How far the earliest decision timer is past due (0 when none is overdue or the queue is empty).',
    registers: [registry],
    async collect() {
      this.reset();
      const queue = await reads.holdQueue();
      if (!queue || !state.sources) return;
      const overdue = queue.oldestDueAt ? state.sources.now().getTime() - queue.oldestDueAt.getTime() : 0;
      this.set(Math.max(0, overdue) / 1000);
    },
  });
}

/** Per DNO, the safety budget's window: AD1s received, AD1s withheld, and whether it is spent. */
function registerBudgetGauges(registry: Registry, reads: ScrapeReads): void {
  const budgetGauge = (name: string, help: string, value: (b: DnoBudgetState) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['distributor_id'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        for (const b of (await reads.budgets()) ?? [])
          this.set({ distributor_id: b.distributorId }, value(b));
      },
    });
  budgetGauge(
    'poa_sieve_budget_suppressions',
    'Per DNO: AD1s withheld (suppressed or paired) within the safety-budget window.',
    (b) => b.suppressions,
  );
  budgetGauge(
    'poa_sieve_budget_alerts',
    'Per DNO: AD1s received within the safety-budget window.',
    (b) => b.alerts,
  );
  budgetGauge(
    'poa_sieve_budget_exhausted',
    "Per DNO: 1 when the safety budget is spent (the DNO's next OTA-induced AD1 is delivered), else 0.",
    (b) => (b.exhausted ? 1 : 0),
  );
}

/**
 * The connection pool, read in memory: during a scrape, as it stood when the scrape began (before
 * the scrape's own reads took connections); outside one, as it is now.
 */
function registerPoolGauges(registry: Registry, state: ScrapeState): void {
  const poolGauge = (
    name: string,
    help: string,
    value: (p: NonNullable<ReturnType<ScrapeSources['pool']>>) => number | undefined,
  ) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        const pool = state.poolBeforeScrape === undefined ? state.sources?.pool() : state.poolBeforeScrape;
        const v = pool ? value(pool) : undefined;
        if (v !== undefined) this.set(v);
      },
    });
  poolGauge('poa_sieve_db_pool_connections', 'Database connections open in the pool.', (p) => p.total);
  poolGauge('poa_sieve_db_pool_idle', 'Database connections open and idle.', (p) => p.idle);
  poolGauge('poa_sieve_db_pool_waiting', 'Callers waiting for a database connection.', (p) => p.waiting);
  poolGauge('poa_sieve_db_pool_max', 'The pool size (DATABASE_POOL_SIZE).', (p) => p.max);
  poolGauge(
    'poa_sieve_db_pool_reader_connections',
    'Connections held by GraphQL reads (capped at DATABASE_POOL_SIZE - DATABASE_POOL_RESERVED_FOR_WRITES).',
    (p) => p.readers?.inUse,
  );
  poolGauge(
    'poa_sieve_db_pool_readers_waiting',
    "GraphQL reads waiting for a place in the readers' share of the pool.",
    (p) => p.readers?.waiting,
  );
}

/** What the services report through the observer: ingest, decisions and DNO subscribers. */
function registerServiceCounters(registry: Registry): {
  observer: ServiceObserver;
  dnoSubscribers: Metrics['dnoSubscribers'];
} {
  const alertsIngested = new Counter({
    name: 'poa_sieve_ingested_total',
    help: 'Alerts in committed ingest batches, by kind and result (stored, duplicate).',
    labelNames: ['kind', 'result'] as const,
    registers: [registry],
  });
  const ingestFailures = new Counter({
    name: 'poa_sieve_ingest_failures_total',
    help: 'Ingest batches that wrote nothing, by error code.',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const decisions = new Counter({
    name: 'poa_sieve_decisions_total',
    help: 'Decisions committed (first and revised), by alert kind, outcome and reason.',
    labelNames: ['kind', 'outcome', 'reason'] as const,
    registers: [registry],
  });
  const heldPastCeiling = new Counter({
    name: 'poa_sieve_held_past_ceiling_total',
    help: 'AD1s found still HELD when they must have been decided (at or past their hold ceiling, or due with no timer), released with HOLD_CEILING_ENFORCED. Always 0 unless something is wrong.',
    registers: [registry],
  });
  const dnoSubscribers = new Gauge({
    name: 'poa_sieve_dno_subscribers',
    help: 'Open dnoAlerts subscriptions, per DNO (this instance).',
    labelNames: ['distributor_id'] as const,
    registers: [registry],
  });
  return {
    observer: {
      subscribers: (distributorId, delta) => dnoSubscribers.inc({ distributor_id: distributorId }, delta),
      decided: (kind, outcome, reason, count) => decisions.inc({ kind, outcome, reason }, count),
      ingested: (kind, result, count) => alertsIngested.inc({ kind, result }, count),
      ingestFailed: (error) => ingestFailures.inc({ code: classify(error)?.code ?? 'INTERNAL' }),
      heldPastCeiling: (count) => heldPastCeiling.inc(count),
    },
    dnoSubscribers,
  };
}

/** What the HTTP and WebSocket layers and app.ts's background jobs count. */
function registerRequestMetrics(
  registry: Registry,
): Pick<Metrics, 'graphqlOperations' | 'graphqlDuration' | 'wsConnections' | 'dbQueries' | 'backgroundJobs'> {
  return {
    graphqlOperations: new Counter({
      name: 'poa_sieve_graphql_operations_total',
      help: 'GraphQL operations executed, by operation name, type and outcome (ok or the error code).',
      labelNames: ['operation', 'type', 'outcome'] as const,
      registers: [registry],
    }),
    graphqlDuration: new Histogram({
      name: 'poa_sieve_graphql_duration_seconds',
      help: 'GraphQL operation duration over HTTP.',
      labelNames: ['type'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    wsConnections: new Gauge({
      name: 'poa_sieve_ws_connections',
      help: 'Open authenticated graphql-ws connections.',
      registers: [registry],
    }),
    dbQueries: new Counter({
      name: 'poa_sieve_db_queries_total',
      help: 'SQL statements sent to PostgreSQL, by outcome (ok, error).',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    backgroundJobs: new Counter({
      name: 'poa_sieve_background_jobs_total',
      help: 'Background job runs, by job and outcome (ok, error).',
      labelNames: ['job', 'outcome'] as const,
      registers: [registry],
    }),
  };
}
