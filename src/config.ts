import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_ENGINE_SETTINGS, validateEngineSettings } from './domain/engine';
import type { EngineSettings } from './domain/engine';
import { DomainError } from './domain/errors';
import { ConfigError } from './config-error';
import { TRACING_ENV, tracingSettings } from './config-tracing';
import type { TracingSettings } from './config-tracing';

/**
 * Every setting of the service, parsed and validated once at start-up. Nothing else reads
 * process.env. A bad value stops the process with a message naming the variable.
 */
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const positiveInt = z.coerce.number().int().positive();

/**
 * Exact browser origins (scheme://host[:port], no path, no wildcard), comma-separated. A typo
 * such as a trailing slash would silently never match, so it is refused instead.
 */
const origins = z.string().transform((value, ctx) => {
  const list = [
    ...new Set(
      value
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
    ),
  ];
  for (const origin of list) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (!parsed || !/^https?:$/.test(parsed.protocol) || parsed.origin !== origin) {
      ctx.addIssue({
        code: 'custom',
        message: `"${origin}" is not an origin such as https://grid.example.com or http://localhost:3000`,
      });
    }
  }
  return list;
});
const nonNegativeInt = z.coerce.number().int().nonnegative();

const schema = z.object({
  // Unset behaves as development, except that internal error text is shown only when it says so.
  NODE_ENV: z.enum(['development', 'production', 'test']).optional(),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().min(1).default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  DATABASE_POOL_SIZE: positiveInt.default(10),
  /**
   * Pool connections GraphQL reads may never take, kept for ingest, the hold scheduler and the
   * DNO streams (match MAX_INGEST_IN_FLIGHT). At most DATABASE_POOL_SIZE - 1; 0: no cap.
   */
  DATABASE_POOL_RESERVED_FOR_WRITES: nonNegativeInt.default(4),
  DATA_DIR: z.string().min(1).default('./.data'),
  SEED_DEMO: bool.default(true),
  /** auto: LISTEN/NOTIFY with DATABASE_URL, in-process otherwise. memory suits one instance (or a pooler without LISTEN). */
  PUBSUB_MODE: z.enum(['auto', 'postgres', 'memory']).default('auto'),

  AUTH_JWT_SECRET: z.string().min(32, 'AUTH_JWT_SECRET must be at least 32 characters').optional(),
  AUTH_JWKS_URL: z.url().optional(),
  AUTH_ISSUER: z.string().min(1).optional(),
  AUTH_AUDIENCE: z.string().min(1).optional(),
  /** How often a long-lived WebSocket connection re-checks its token's expiry. */
  AUTH_RECHECK_SECONDS: positiveInt.default(30),
  // Tokens must carry exp; exp - iat and exp - now may not exceed this (0: any lifetime). Default: 7 days.
  AUTH_MAX_TOKEN_LIFETIME_SECONDS: nonNegativeInt.default(7 * 24 * 3600),
  /** How far a token's iat may lie ahead of this server's wall clock (the issuer's clock running fast). */
  AUTH_CLOCK_SKEW_SECONDS: nonNegativeInt.max(3600).default(60),

  /** Introspection (__schema, __type) and "Did you mean ...?" hints: default on, off when NODE_ENV=production. */
  GRAPHQL_INTROSPECTION: bool.optional(),
  GRAPHQL_SUGGESTIONS: bool.optional(),
  /** Federation's `_service { sdl }`, which gateways compose from: answered whatever introspection says. */
  GRAPHQL_FEDERATION_SDL: bool.default(true),
  ...TRACING_ENV, // OTEL_* (OpenTelemetry tracing) and GRAPHQL_INLINE_TRACE: src/config-tracing.ts
  /** Browser origins allowed to call /graphql and /duis across origins; unset: no CORS headers at all. */
  CORS_ORIGINS: origins.optional(),
  // Who may read /metrics: a port of its own, a bearer token, or (neither) callers on this host.
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  METRICS_HOST: z.string().min(1).optional(),
  METRICS_TOKEN: z.string().min(16, 'METRICS_TOKEN must be at least 16 characters').optional(),
  WS_KEEPALIVE_SECONDS: positiveInt.default(12),
  /** WebSocket connections one token (role and subject) may hold on an instance, and subscriptions one connection may run (0: off). */
  WS_MAX_CONNECTIONS_PER_TOKEN: nonNegativeInt.default(4),
  WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: nonNegativeInt.default(8),
  SHUTDOWN_GRACE_SECONDS: positiveInt.default(10),
  MAX_BATCH_SIZE: positiveInt.default(10_000),
  /** Query limits (src/schema/limits.ts), request body size and mutation rate (README, "Security"). */
  GRAPHQL_MAX_DEPTH: positiveInt.default(10),
  GRAPHQL_MAX_COMPLEXITY: positiveInt.default(10_000),
  GRAPHQL_MAX_STATEMENTS: nonNegativeInt.default(250),
  MAX_BODY_BYTES: positiveInt.default(8 * 1024 * 1024),
  RATE_LIMIT_MUTATIONS_PER_MINUTE: nonNegativeInt.default(600),
  RATE_LIMIT_QUERIES_PER_MINUTE: nonNegativeInt.default(1200),
  /** Back-pressure on ingestAlerts (src/http/ingest-gate.ts): batches running, waiting, and how long one may wait. */
  MAX_INGEST_IN_FLIGHT: positiveInt.default(4),
  MAX_INGEST_QUEUED: nonNegativeInt.default(16),
  MAX_INGEST_WAIT_MS: nonNegativeInt.default(500),
  /**
   * Ingest transactions run at once; batches admitted meanwhile share the next one (group
   * commit: src/services/ingest/batch-coalescer.ts).
   */
  INGEST_TRANSACTIONS: positiveInt.default(2),

  /** Decision-engine and activation settings (see README, "Settings"). */
  WINDOW_MINUTES: positiveInt.default(30),
  SKEW_MINUTES: nonNegativeInt.default(2),
  /**
   * Ceiling on every hold, from receipt. May be fractional (0.1 is 6 s): tests and drills that
   * wait for real holds need short ones.
   */
  HOLD_MINUTES: z.coerce.number().positive().default(DEFAULT_ENGINE_SETTINGS.holdMinutes),
  /** Longest hub power cut of an OTA activation, for rules that do not set their own. */
  MAX_COMMS_HUB_OFF_MINUTES: positiveInt.default(DEFAULT_ENGINE_SETTINGS.maxCommsHubOffMinutes),
  /** Time a message needs to cross the network once the hub is back (fractional allowed). */
  TRANSIT_MINUTES: z.coerce.number().nonnegative().default(DEFAULT_ENGINE_SETTINGS.transitMinutes),
  /** How long a hub is dark before it raises AD1 (GBCS: 3 min); bounds each hub's clock. */
  COMMS_HUB_ALERT_DELAY_MINUTES: z.coerce
    .number()
    .nonnegative()
    .default(DEFAULT_ENGINE_SETTINGS.commsHubAlertDelayMinutes),
  /** Largest clock offset presumed of a device with no history: beyond the skew, the meter is asked. */
  MAX_CLOCK_SKEW_MINUTES: z.coerce
    .number()
    .nonnegative()
    .default(DEFAULT_ENGINE_SETTINGS.maxClockSkewMinutes),
  /** An activation with no known execution stays a candidate this long (it may run on restoration). */
  DEFERRED_ACTIVATION_HOURS: z.coerce
    .number()
    .nonnegative()
    .default(DEFAULT_ENGINE_SETTINGS.deferredActivationHours),
  /** A decision stays open to late evidence this long after receipt; each change is a message. */
  CORRECTION_HOURS: z.coerce.number().nonnegative().default(DEFAULT_ENGINE_SETTINGS.correctionHours),
  /** Window after a known actual execution time, for rules that do not set their own. */
  EXECUTED_WINDOW_MINUTES: positiveInt.default(DEFAULT_ENGINE_SETTINGS.executedWindowMinutes),
  /** Active verification (SR 11.2 to the meter): on/off, wait per request, requests per outage. */
  VERIFICATION_ENABLED: bool.default(true),
  VERIFICATION_TIMEOUT_MINUTES: z.coerce
    .number()
    .positive()
    .default(DEFAULT_ENGINE_SETTINGS.verification.timeoutMinutes),
  VERIFICATION_ATTEMPTS: positiveInt.default(DEFAULT_ENGINE_SETTINGS.verification.attempts),
  /** EUI-64 the service sends its SR 11.2 requests as (the first part of each DUIS request ID). */
  VERIFICATION_SENDER_ID: z
    .string()
    .regex(/^[0-9A-Fa-f]{2}(-[0-9A-Fa-f]{2}){7}$/, 'an EUI-64 such as 90-B3-D5-1F-30-00-00-01')
    .default('90-B3-D5-1F-30-00-00-01'),
  /** Verification request budget: at most this many requests per DNO / per area in the window. */
  VERIFICATION_BUDGET_WINDOW_MINUTES: positiveInt.default(60),
  VERIFICATION_BUDGET_PER_DNO: positiveInt.default(2000),
  VERIFICATION_BUDGET_PER_AREA: positiveInt.default(40),
  OUTCOME_BOUND_MINUTES: positiveInt.default(60),
  ACTIVATION_HORIZON_DAYS: positiveInt.default(30),
  CLUSTER_SIZE: positiveInt.default(3),
  CLUSTER_MINUTES: positiveInt.default(10),
  /** Safety budget: stop suppressing where suppressions pile up. */
  BUDGET_WINDOW_MINUTES: positiveInt.default(DEFAULT_ENGINE_SETTINGS.budget.windowMinutes),
  BUDGET_MAX_PER_DNO: positiveInt.default(DEFAULT_ENGINE_SETTINGS.budget.maxSuppressionsPerDno),
  BUDGET_MAX_PER_AREA: positiveInt.default(DEFAULT_ENGINE_SETTINGS.budget.maxSuppressionsPerArea),
  BUDGET_MAX_SHARE: z.coerce.number().gt(0).lte(1).default(DEFAULT_ENGINE_SETTINGS.budget.maxShare),
  BUDGET_MIN_SAMPLE: positiveInt.default(DEFAULT_ENGINE_SETTINGS.budget.minSample),
  BUDGET_SHARE_EXEMPT: z
    .enum(['NONE', 'DCC_OUTCOME', 'CONFIRMED'])
    .default(DEFAULT_ENGINE_SETTINGS.budget.shareExempt),
  ACTIVATION_FAILURE_RELEASES: bool.default(true),
  REQUIRE_AREA_KEY: bool.default(true),
  MAX_INGEST_BATCH: positiveInt.default(1000),
  /** Default 1000, divided by CLOCK_SPEED (at least 10 ms) so a hold is still worked within a clock second. */
  SCHEDULER_POLL_MS: positiveInt.optional(),
  /** POST /duis: validate documents against the DUIS/MMC XSDs in this folder when set; the largest body accepted. */
  DUIS_SCHEMA_DIR: z.string().min(1).optional(),
  DUIS_MAX_BYTES: positiveInt.default(1024 * 1024),
  /** Months of alerts, decisions and DNO messages kept (by the alert's event month); 0 keeps everything. */
  RETENTION_MONTHS: nonNegativeInt.default(13),
  /** Date-times a client sends must lie in [INPUT_EARLIEST_DATE, now + INPUT_MAX_FUTURE_DAYS] (src/domain/input-dates.ts). */
  INPUT_EARLIEST_DATE: z.iso.datetime({ offset: true }).default('2000-01-01T00:00:00Z'),
  INPUT_MAX_FUTURE_DAYS: positiveInt.default(366),

  /**
   * An accelerated service clock for simulations (npm run simulate -- --mode live): it starts at
   * CLOCK_START (default: the start-up time) and runs CLOCK_SPEED times faster than real time.
   * Refused when NODE_ENV=production.
   */
  CLOCK_SPEED: z.coerce.number().min(1).max(100_000).optional(),
  CLOCK_START: z.iso.datetime({ offset: true }).optional(),
});

export type Env = z.input<typeof schema>;

export interface Config {
  readonly nodeEnv: 'development' | 'production' | 'test';
  /** Internal error messages and stacks to clients: only with NODE_ENV=development set explicitly. */
  readonly exposeInternalErrors: boolean;
  readonly port: number;
  readonly host: string;
  readonly logLevel: string;
  readonly database:
    | {
        readonly kind: 'postgres';
        readonly url: string;
        readonly poolSize: number;
        /** Connections GraphQL query operations may hold at once; undefined: no cap. */
        readonly readerConnections?: number;
      }
    | { readonly kind: 'embedded'; readonly dataDir: string; readonly poolSize: number };
  readonly seedDemo: boolean;
  /** How subscription wake-ups cross instances. */
  readonly pubSub: 'postgres' | 'memory';
  readonly auth: {
    readonly jwtSecret?: string;
    readonly jwksUrl?: string;
    readonly issuer?: string;
    readonly audience?: string;
    readonly recheckSeconds: number;
    /** The longest token lifetime (exp - iat, exp - now) accepted, wall seconds; 0: no maximum (exp is still required). */
    readonly maxTokenLifetimeSeconds: number;
    /** How far in the future a token's iat may lie. */
    readonly clockSkewSeconds: number;
  };
  readonly graphql: {
    readonly introspection: boolean;
    /** "Did you mean ...?" hints in validation errors, which spell out the schema one guess at a time. */
    readonly suggestions: boolean;
    /** `_service { sdl }` for gateways; false refuses it like introspection (compose from schema.graphql). */
    readonly federationSdl: boolean;
    readonly maxBatchSize: number;
    readonly maxDepth: number;
    readonly maxComplexity: number;
    /** Database statements one query operation may run (0: no limit). */
    readonly maxStatements: number;
  };
  /** Origins a browser may call /graphql and /duis from (exact match); empty: no CORS headers. */
  readonly cors: { readonly origins: readonly string[] };
  /** /metrics: on its own listener when `port` is set, behind a bearer token when `token` is. */
  readonly metrics: { readonly port?: number; readonly host: string; readonly token?: string };
  /** Request body size limit (bytes) and mutations a minute per principal (0: no limit). */
  readonly http: {
    readonly maxBodyBytes: number;
    readonly mutationsPerMinute: number;
    readonly queriesPerMinute: number;
  };
  /** ingestAlerts batches run at once, waiting at most, and the longest wait before OVERLOADED. */
  readonly ingestAdmission: {
    readonly maxInFlight: number;
    readonly maxQueued: number;
    readonly maxWaitMs: number;
  };
  readonly ws: {
    readonly keepAliveSeconds: number;
    /** Connections one token may hold on this instance; 0: no limit. */
    readonly maxConnectionsPerToken: number;
    /** Subscriptions one connection may run at once; 0: no limit. */
    readonly maxSubscriptionsPerConnection: number;
  };
  readonly shutdownGraceSeconds: number;
  readonly activation: { readonly horizonDays: number; readonly outcomeBoundMinutes: number };
  /** Every bound of the decision engine, validated. */
  readonly engine: EngineSettings;
  readonly ingest: {
    readonly maxBatchSize: number;
    readonly schedulerPollMs: number;
    /** Ingest transactions at once (batches arriving meanwhile are run together). */
    readonly transactions: number;
  };
  /** POST /duis: the XSD folder (absolute; validation is off when unset) and the body size limit. */
  readonly duis: { readonly schemaDir?: string; readonly maxBytes: number };
  /** The plausible range of client date-times: from `earliest` to `maxFutureDays` after now. */
  readonly inputDates: { readonly earliest: Date; readonly maxFutureDays: number };
  /** Whole months kept before the current one (0: keep everything); see RetentionService. */
  readonly retention: { readonly months: number };
  /** Asking meters: the sender's EUI-64 and the request budget (beyond it, fail open). */
  readonly verification: {
    readonly senderId: string;
    readonly budget: { readonly windowMinutes: number; readonly perDno: number; readonly perArea: number };
  };
  /** OpenTelemetry tracing (off, or where spans go) and Apollo's federated trace. */
  readonly tracing: TracingSettings;
  /** The service clock: speed 1 and no start is the wall clock (src/clock.ts, clockFromSettings). */
  readonly clock: { readonly speed: number; readonly start?: Date };
}

export { ConfigError };
export { loadEnvFile } from './env-file';

/** Parses an environment (process.env by default) into a Config, or throws ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty strings mean "unset": .env files and CI often export VAR= to clear a value.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  if (e.PUBSUB_MODE === 'postgres' && !e.DATABASE_URL) {
    throw new ConfigError(
      'Invalid configuration:\n  PUBSUB_MODE=postgres needs DATABASE_URL (the embedded database cannot LISTEN across connections)',
    );
  }
  if (e.DATABASE_URL && !e.AUTH_JWT_SECRET && !e.AUTH_JWKS_URL) {
    throw new ConfigError(
      'Invalid configuration:\n  AUTH_JWT_SECRET or AUTH_JWKS_URL is required when DATABASE_URL is set ' +
        '(only the embedded database may generate its own secret)',
    );
  }
  if (e.NODE_ENV === 'production' && (e.CLOCK_SPEED !== undefined || e.CLOCK_START !== undefined)) {
    throw new ConfigError(
      'Invalid configuration:\n  CLOCK_SPEED and CLOCK_START are for simulations and tests: refused when NODE_ENV=production',
    );
  }
  if (e.INPUT_MAX_FUTURE_DAYS < e.ACTIVATION_HORIZON_DAYS) {
    throw new ConfigError(
      'Invalid configuration:\n  INPUT_MAX_FUTURE_DAYS must be at least ACTIVATION_HORIZON_DAYS (activations are scheduled that far ahead)',
    );
  }
  const clockSpeed = e.CLOCK_SPEED ?? 1;
  return {
    nodeEnv: e.NODE_ENV ?? 'development',
    exposeInternalErrors: e.NODE_ENV === 'development',
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    database: e.DATABASE_URL
      ? {
          kind: 'postgres',
          url: e.DATABASE_URL,
          poolSize: e.DATABASE_POOL_SIZE,
          readerConnections: readerConnections(e.DATABASE_POOL_SIZE, e.DATABASE_POOL_RESERVED_FOR_WRITES),
        }
      : // PGlite runs one backend: more connections only queue, and concurrent extended-protocol
        // messages from several connections can interleave there ("portal does not exist").
        { kind: 'embedded', dataDir: path.resolve(e.DATA_DIR), poolSize: 1 },
    seedDemo: e.SEED_DEMO,
    pubSub: e.PUBSUB_MODE === 'auto' ? (e.DATABASE_URL ? 'postgres' : 'memory') : e.PUBSUB_MODE,
    auth: {
      jwtSecret: e.AUTH_JWT_SECRET,
      jwksUrl: e.AUTH_JWKS_URL,
      issuer: e.AUTH_ISSUER,
      audience: e.AUTH_AUDIENCE,
      recheckSeconds: e.AUTH_RECHECK_SECONDS,
      maxTokenLifetimeSeconds: e.AUTH_MAX_TOKEN_LIFETIME_SECONDS,
      clockSkewSeconds: e.AUTH_CLOCK_SKEW_SECONDS,
    },
    graphql: {
      introspection: e.GRAPHQL_INTROSPECTION ?? e.NODE_ENV !== 'production',
      suggestions: e.GRAPHQL_SUGGESTIONS ?? e.NODE_ENV !== 'production',
      federationSdl: e.GRAPHQL_FEDERATION_SDL,
      maxBatchSize: e.MAX_BATCH_SIZE,
      maxDepth: e.GRAPHQL_MAX_DEPTH,
      maxComplexity: e.GRAPHQL_MAX_COMPLEXITY,
      maxStatements: e.GRAPHQL_MAX_STATEMENTS,
    },
    cors: { origins: e.CORS_ORIGINS ?? [] },
    metrics: { port: e.METRICS_PORT, host: e.METRICS_HOST ?? e.HOST, token: e.METRICS_TOKEN },
    http: {
      maxBodyBytes: e.MAX_BODY_BYTES,
      mutationsPerMinute: e.RATE_LIMIT_MUTATIONS_PER_MINUTE,
      queriesPerMinute: e.RATE_LIMIT_QUERIES_PER_MINUTE,
    },
    ingestAdmission: {
      maxInFlight: e.MAX_INGEST_IN_FLIGHT,
      maxQueued: e.MAX_INGEST_QUEUED,
      maxWaitMs: e.MAX_INGEST_WAIT_MS,
    },
    ws: {
      keepAliveSeconds: e.WS_KEEPALIVE_SECONDS,
      maxConnectionsPerToken: e.WS_MAX_CONNECTIONS_PER_TOKEN,
      maxSubscriptionsPerConnection: e.WS_MAX_SUBSCRIPTIONS_PER_CONNECTION,
    },
    shutdownGraceSeconds: e.SHUTDOWN_GRACE_SECONDS,
    activation: { horizonDays: e.ACTIVATION_HORIZON_DAYS, outcomeBoundMinutes: e.OUTCOME_BOUND_MINUTES },
    engine: engineSettings({
      windowMinutes: e.WINDOW_MINUTES,
      skewMinutes: e.SKEW_MINUTES,
      holdMinutes: e.HOLD_MINUTES,
      maxCommsHubOffMinutes: e.MAX_COMMS_HUB_OFF_MINUTES,
      transitMinutes: e.TRANSIT_MINUTES,
      commsHubAlertDelayMinutes: e.COMMS_HUB_ALERT_DELAY_MINUTES,
      maxClockSkewMinutes: e.MAX_CLOCK_SKEW_MINUTES,
      deferredActivationHours: e.DEFERRED_ACTIVATION_HOURS,
      correctionHours: e.CORRECTION_HOURS,
      executedWindowMinutes: e.EXECUTED_WINDOW_MINUTES,
      verification: {
        enabled: e.VERIFICATION_ENABLED,
        timeoutMinutes: e.VERIFICATION_TIMEOUT_MINUTES,
        attempts: e.VERIFICATION_ATTEMPTS,
      },
      outcomeBoundMinutes: e.OUTCOME_BOUND_MINUTES,
      clusterSize: e.CLUSTER_SIZE,
      clusterMinutes: e.CLUSTER_MINUTES,
      budget: {
        windowMinutes: e.BUDGET_WINDOW_MINUTES,
        maxSuppressionsPerDno: e.BUDGET_MAX_PER_DNO,
        maxSuppressionsPerArea: e.BUDGET_MAX_PER_AREA,
        maxShare: e.BUDGET_MAX_SHARE,
        minSample: e.BUDGET_MIN_SAMPLE,
        shareExempt: e.BUDGET_SHARE_EXEMPT,
      },
      activationFailureReleases: e.ACTIVATION_FAILURE_RELEASES,
      requireAreaKey: e.REQUIRE_AREA_KEY,
    }),
    ingest: {
      maxBatchSize: e.MAX_INGEST_BATCH,
      transactions: e.INGEST_TRANSACTIONS,
      schedulerPollMs: e.SCHEDULER_POLL_MS ?? Math.max(10, Math.round(1000 / clockSpeed)),
    },
    duis: {
      schemaDir: e.DUIS_SCHEMA_DIR ? path.resolve(e.DUIS_SCHEMA_DIR) : undefined,
      maxBytes: e.DUIS_MAX_BYTES,
    },
    retention: { months: e.RETENTION_MONTHS },
    inputDates: { earliest: new Date(e.INPUT_EARLIEST_DATE), maxFutureDays: e.INPUT_MAX_FUTURE_DAYS },
    verification: {
      senderId: e.VERIFICATION_SENDER_ID.toUpperCase(),
      budget: {
        windowMinutes: e.VERIFICATION_BUDGET_WINDOW_MINUTES,
        perDno: e.VERIFICATION_BUDGET_PER_DNO,
        perArea: e.VERIFICATION_BUDGET_PER_AREA,
      },
    },
    tracing: tracingSettings(e),
    clock: { speed: clockSpeed, start: e.CLOCK_START ? new Date(e.CLOCK_START) : undefined },
  };
}

function engineSettings(settings: EngineSettings): EngineSettings {
  try {
    return validateEngineSettings(settings);
  } catch (error) {
    if (error instanceof DomainError) throw new ConfigError(`Invalid configuration:\n  ${error.message}`);
    throw error;
  }
}

/** What reads may hold of a pool with `reserved` kept for writes (at least one connection). */
export function readerConnections(poolSize: number, reserved: number): number | undefined {
  const kept = Math.min(reserved, poolSize - 1);
  return kept > 0 ? poolSize - kept : undefined;
}
