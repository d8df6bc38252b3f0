import os from 'node:os';
import type { GraphQLSchema } from 'graphql';
import type { DataSource } from 'typeorm';
import { resolveJwtSecret } from './auth/secret';
import { createTokenVerifier } from './auth/tokens';
import type { TokenVerifier } from './auth/tokens';
import { clockFromSettings } from './clock';
import type { Clock } from './clock';
import type { Config } from './config';
import {
  budgetConnections,
  createDataSource,
  isDatabaseReady,
  poolState,
  runMigrations,
} from './db/data-source';
import { enablePreparedStatements } from './db/prepared';
import { startEmbeddedPostgres } from './db/embedded';
import { seedDemoData } from './demo/seed';
import type { EmbeddedPostgres } from './db/embedded';
import { startHttpServer } from './http/server';
import type { RunningServer } from './http/server';
import { createLogger } from './logger';
import type { Logger } from './logger';
import { createMetrics } from './metrics';
import type { Metrics } from './metrics';
import { createInProcessPubSub, createPostgresPubSub } from './realtime/pubsub';
import type { PubSubHandle } from './realtime/pubsub';
import { buildAppSchema } from './schema/build';
import { createServices } from './services';
import { DecisionScheduler } from './services/alerts/decision-scheduler';
import type { Services } from './services';
import { startTracing } from './tracing-sdk';
import type { SpanExporter } from './tracing-sdk';

export interface App {
  readonly config: Config;
  readonly dataSource: DataSource;
  readonly services: Services;
  readonly server: RunningServer;
  readonly log: Logger;
  /** This process's metrics registry, as GET /metrics exposes it. */
  readonly metrics: Metrics;
  /** What /readyz answers: false once stopping has begun, or while the database is unreachable. */
  ready(): Promise<boolean>;
  /**
   * Graceful stop: /readyz turns red at once; the scheduler finishes the batch in hand (held
   * timers stay in the database for other instances); HTTP stops accepting and in-flight
   * requests (ingest batches) finish; WebSocket clients are closed with 1001 and a reconnect
   * hint; then pub/sub, the pool and the embedded database close.
   */
  stop(): Promise<void>;
}

export interface AppOptions {
  readonly log?: Logger;
  readonly clock?: Clock;
  /** Where spans go instead of the OTLP endpoint, when tracing is on (tests collect them in memory). */
  readonly spanExporter?: SpanExporter;
}

/**
 * What every start step needs: the settings, the log and the service clock, and the stop steps
 * taken so far. startApp runs the stop steps in reverse, on stop() or when a later step fails, so
 * each step pushes its own as soon as it holds something to release.
 */
interface StartContext {
  readonly config: Config;
  readonly log: Logger;
  readonly clock: Clock;
  readonly cleanups: (() => Promise<void>)[];
}

/**
 * Starts the whole service from a validated Config. Used by main.ts and by end-to-end tests.
 * The steps run in dependency order: database, pub/sub, tokens, services, HTTP, background jobs.
 */
export async function startApp(config: Config, options: AppOptions = {}): Promise<App> {
  const log = options.log ?? createLogger(config.logLevel);
  const clock = options.clock ?? clockFromSettings(config.clock);
  if (!options.clock && (config.clock.speed !== 1 || config.clock.start))
    log.warn(
      { clockSpeed: config.clock.speed, clockStart: clock.now() },
      'simulation clock (CLOCK_SPEED/CLOCK_START)',
    );
  const ctx: StartContext = { config, log, clock, cleanups: [] };
  let draining = false;
  const cleanup = async () => {
    for (const fn of ctx.cleanups.reverse())
      await fn().catch((error: unknown) => log.error({ err: error }, 'stop step failed'));
  };

  try {
    // First, so that it stops last: spans of the final work still go out.
    const tracing = startTracing(config.tracing, options.spanExporter);
    ctx.cleanups.push(() => tracing.shutdown());
    if (config.tracing.enabled)
      log.info({ serviceName: config.tracing.serviceName, traces: config.tracing.tracesUrl }, 'tracing on');
    const url = await startEmbeddedDatabase(ctx);
    const metrics = createMetrics();
    const { dataSource, readers } = await openDatabase(ctx, url, metrics);

    const pubSubHandle: PubSubHandle =
      config.pubSub === 'memory' ? createInProcessPubSub() : await createPostgresPubSub(url, log);
    ctx.cleanups.push(() => pubSubHandle.close());

    const verifier = createVerifier(ctx);
    const services = createObservedServices(ctx, { dataSource, readers }, pubSubHandle, metrics);

    if (config.seedDemo && config.database.kind === 'embedded') {
      if (await seedDemoData(dataSource, services, clock)) {
        log.info('empty database: demo dataset loaded (SEED_DEMO=false turns this off)');
      }
    }

    const ready = async () => !draining && pubSubHandle.healthy() && (await isDatabaseReady(dataSource));
    const schema = await buildAppSchema(pubSubHandle.pubSub);
    const server = await startServer(ctx, { schema, services, verifier, metrics, dataSource, ready });
    startScheduler(ctx, dataSource, services, metrics);
    await startRetention(ctx, services, metrics);
    startOutcomeExpiry(ctx, services, metrics);
    logListening(ctx, server);

    let stopping: Promise<void> | undefined;
    return {
      config,
      dataSource,
      services,
      server,
      log,
      metrics,
      ready,
      stop: () => {
        draining = true;
        return (stopping ??= cleanup());
      },
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** Starts the embedded PostgreSQL (PGlite) when the config asks for it; returns the URL to connect to. */
async function startEmbeddedDatabase({ config, log, cleanups }: StartContext): Promise<string> {
  if (config.database.kind !== 'embedded') return config.database.url;
  const embedded: EmbeddedPostgres = await startEmbeddedPostgres({
    dataDir: config.database.dataDir,
    maxConnections: config.database.poolSize,
  });
  cleanups.push(() => embedded.stop());
  log.info({ dataDir: config.database.dataDir }, 'embedded PostgreSQL (PGlite) started');
  return embedded.url;
}

/** The connected pool, and the cap on its connections for GraphQL reads (PostgreSQL only). */
interface OpenDatabase {
  readonly dataSource: DataSource;
  readonly readers: ReturnType<typeof budgetConnections>;
}

/** Connects the pool (counting statements in the metrics), caps its readers and migrates the schema. */
async function openDatabase(
  { config, log, cleanups }: StartContext,
  url: string,
  metrics: Metrics,
): Promise<OpenDatabase> {
  const dataSource = createDataSource(url, config.database.poolSize, {
    query: () => metrics.dbQueries.inc({ outcome: 'ok' }),
    error: () => metrics.dbQueries.inc({ outcome: 'error' }),
  });
  await dataSource.initialize();
  cleanups.push(() => dataSource.destroy());
  const readers = budgetConnections(
    dataSource,
    config.database.kind === 'postgres' ? config.database.readerConnections : undefined,
  );
  await enablePreparedStatements(dataSource);
  const applied = await runMigrations(dataSource);
  if (applied.length) log.info({ migrations: applied }, 'migrations applied');
  return { dataSource, readers };
}

/** The bearer-token verifier, with a secret of the config's or one generated for the embedded database. */
function createVerifier({ config, log }: StartContext): TokenVerifier {
  const { secret, generatedAt } = resolveJwtSecret(config);
  if (generatedAt) {
    log.warn(
      { file: generatedAt },
      'no AUTH_JWT_SECRET set: generated one for the embedded database; mint tokens with `npm run token`',
    );
  }
  return createTokenVerifier({
    secret,
    jwksUrl: config.auth.jwksUrl,
    issuer: config.auth.issuer,
    audience: config.auth.audience,
    // Judged on wall time (the verifier's default), never on the service clock: tokens are issued
    // on wall time, whatever CLOCK_SPEED and CLOCK_START make of the domain's.
    maxLifetimeSeconds: config.auth.maxTokenLifetimeSeconds,
    clockSkewSeconds: config.auth.clockSkewSeconds,
  });
}

/** The services, reporting to the metrics, and the scrape-time gauges that read through them. */
function createObservedServices(
  { config, log, clock }: StartContext,
  { dataSource, readers }: OpenDatabase,
  pubSubHandle: PubSubHandle,
  metrics: Metrics,
): Services {
  const services = createServices({
    dataSource,
    config,
    clock,
    pubSub: pubSubHandle.pubSub,
    log,
    observer: metrics.observer,
  });
  metrics.setScrapeSources({
    lags: () => services.delivery.lags(),
    holdQueue: () => services.operations.holdQueue(),
    held: () => services.operatorStatus.held(),
    budgets: () => services.operations.budgets(),
    verifications: () => services.operations.verifications(),
    pool: () => poolState(dataSource, readers),
    now: () => clock.now(),
  });
  return services;
}

/** What the HTTP server serves, made by the steps before it. */
interface ServerParts {
  readonly schema: GraphQLSchema;
  readonly services: Services;
  readonly verifier: TokenVerifier;
  readonly metrics: Metrics;
  readonly dataSource: DataSource;
  readonly ready: () => Promise<boolean>;
}

/** Starts GraphQL over HTTP and WebSocket, DUIS, GraphiQL and the operational endpoints. */
async function startServer(
  { config, log, clock, cleanups }: StartContext,
  { schema, services, verifier, metrics, dataSource, ready }: ServerParts,
): Promise<RunningServer> {
  const server = await startHttpServer(
    {
      schema,
      services,
      verifier,
      clock,
      log,
      metrics,
      schemaAccess: {
        introspection: config.graphql.introspection,
        suggestions: config.graphql.suggestions,
        federationSdl: config.graphql.federationSdl,
      },
      exposeInternalErrors: config.exposeInternalErrors,
      keepAliveSeconds: config.ws.keepAliveSeconds,
      wsLimits: {
        connectionsPerToken: config.ws.maxConnectionsPerToken,
        subscriptionsPerConnection: config.ws.maxSubscriptionsPerConnection,
      },
      authRecheckSeconds: config.auth.recheckSeconds,
      duis: config.duis,
      corsOrigins: config.cors.origins,
      metricsEndpoint: config.metrics,
      rateLimitStore: config.database.kind === 'postgres' ? dataSource : undefined,
      ingestAdmission: config.ingestAdmission,
      tracing: { spans: config.tracing.enabled, inlineTrace: config.tracing.inlineTrace },
      limits: {
        maxDepth: config.graphql.maxDepth,
        maxComplexity: config.graphql.maxComplexity,
        maxStatements: config.graphql.maxStatements,
        maxBodyBytes: config.http.maxBodyBytes,
        mutationsPerMinute: config.http.mutationsPerMinute,
        queriesPerMinute: config.http.queriesPerMinute,
      },
      ready,
    },
    config.port,
    config.host,
  );
  cleanups.push(() => server.close());
  return server;
}

/** Durable timers: held alerts are decided on time, by whichever instance claims them. */
function startScheduler(
  { config, log, clock, cleanups }: StartContext,
  dataSource: DataSource,
  services: Services,
  metrics: Metrics,
) {
  const scheduler = new DecisionScheduler(
    dataSource,
    services.decisions,
    services.delivery,
    clock,
    log,
    { pollMs: config.ingest.schedulerPollMs, batchSize: 200, holdMinutes: config.engine.holdMinutes },
    metrics.observer,
  );
  scheduler.start();
  cleanups.push(() => scheduler.stop());
}

/**
 * Monthly partitions: this month and the next ones exist before the first alert arrives; months
 * past RETENTION_MONTHS go, hourly. A failed run is retried on the next tick (alerts in a month
 * without a partition land in the default one, never refused). The first run is awaited.
 */
async function startRetention({ log, cleanups }: StartContext, services: Services, metrics: Metrics) {
  const maintain = () =>
    services.retention.run().then(
      () => metrics.backgroundJobs.inc({ job: 'retention', outcome: 'ok' }),
      (error: unknown) => {
        metrics.backgroundJobs.inc({ job: 'retention', outcome: 'error' });
        log.warn({ err: error }, 'retention run failed');
      },
    );
  await maintain();
  const retentionTimer = setInterval(() => void maintain(), 3_600_000);
  retentionTimer.unref();
  cleanups.push(async () => clearInterval(retentionTimer));
}

/**
 * Pending activations whose outcome is overdue become OUTCOME_UNKNOWN (set-based, safe on every
 * instance), once a minute of the service clock: more often in real time under CLOCK_SPEED.
 */
function startOutcomeExpiry({ log, clock, cleanups }: StartContext, services: Services, metrics: Metrics) {
  const expiryEveryMs = Math.max(100, 60_000 / (clock.speed ?? 1));
  // One pass at a time: a pass that outlasts the interval is not joined by another.
  let running = false;
  const expiry = setInterval(() => {
    if (running) return;
    running = true;
    services.activations
      .expireOverdueOutcomes()
      .then(
        () => metrics.backgroundJobs.inc({ job: 'expire_outcomes', outcome: 'ok' }),
        (error: unknown) => {
          metrics.backgroundJobs.inc({ job: 'expire_outcomes', outcome: 'error' });
          log.warn({ err: error }, 'outcome expiry failed');
        },
      )
      .finally(() => (running = false));
  }, expiryEveryMs);
  expiry.unref();
  cleanups.push(async () => clearInterval(expiry));
}

function logListening({ config, log }: StartContext, server: RunningServer): void {
  log.info(
    {
      ...listeningAt(config.host, server.port, os.hostname()),
      database: config.database.kind,
      ...(config.cors.origins.length ? { corsOrigins: config.cors.origins } : {}),
    },
    'poa-sieve listening',
  );
}

/**
 * What the start-up line says about where the service listens: the address as bound, and the
 * URLs to reach it. On every interface (0.0.0.0, ::) those name this machine, for callers
 * elsewhere, with `localUrl` for a caller on it: 127.0.0.1 alone would suggest that nothing
 * else can connect.
 */
export function listeningAt(host: string, port: number, hostname: string) {
  const everywhere = host === '0.0.0.0' || host === '::';
  const urlHost = (h: string) => (h.includes(':') ? `[${h}]` : h);
  const base = `http://${urlHost(everywhere ? hostname : host)}:${port}`;
  return {
    listen: everywhere ? `${urlHost(host)}:${port} (all interfaces)` : `${urlHost(host)}:${port}`,
    url: `${base}/graphql`,
    graphiql: `${base}/graphiql`,
    ...(everywhere ? { localUrl: `http://127.0.0.1:${port}/graphql` } : {}),
  };
}
