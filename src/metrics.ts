import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of one process, exposed at GET /metrics. Names are documented in the README. */
export interface Metrics {
  readonly registry: Registry;
  readonly graphqlOperations: Counter<'operation' | 'type' | 'outcome'>;
  readonly graphqlDuration: Histogram<'type'>;
  readonly wsConnections: Gauge;
  readonly dbQueries: Counter<'outcome'>;
  readonly backgroundJobs: Counter<'job' | 'outcome'>;
  readonly dnoSubscribers: Gauge<'distributor_id'>;
  /** Set once the services exist: reads per-DNO lag at scrape time. */
  setLagSource(source: () => Promise<{ distributorId: string; lag: number }[]>): void;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'poa_sieve_' });
  let lagSource: (() => Promise<{ distributorId: string; lag: number }[]>) | null = null;
  new Gauge({
    name: 'poa_sieve_dno_outbox_lag',
    help: 'Per DNO: newest outbox sequence minus the acknowledged position.',
    labelNames: ['distributor_id'] as const,
    registers: [registry],
    async collect() {
      if (!lagSource) return;
      this.reset();
      for (const { distributorId, lag } of await lagSource())
        this.set({ distributor_id: distributorId }, lag);
    },
  });
  return {
    setLagSource(source) {
      lagSource = source;
    },
    dnoSubscribers: new Gauge({
      name: 'poa_sieve_dno_subscribers',
      help: 'Open dnoAlerts subscriptions, per DNO (this instance).',
      labelNames: ['distributor_id'] as const,
      registers: [registry],
    }),
    registry,
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
