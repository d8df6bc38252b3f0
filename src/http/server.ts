import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import cors from 'cors';
import express from 'express';
import { Kind, execute, getOperationAST } from 'graphql';
import type { GraphQLSchema, OperationDefinitionNode } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { withStatementBudget } from '../db/statement-budget';
import { WebSocketServer } from 'ws';
import { ANONYMOUS } from '../auth/principal';
import type { Principal } from '../auth/principal';
import { bearerToken } from '../auth/tokens';
import type { TokenVerifier } from '../auth/tokens';
import type { Clock } from '../clock';
import { DomainError, UnauthenticatedError } from '../domain/errors';
import { createLoaders } from '../loaders';
import { graphiqlRouter } from './graphiql';
import { metricsHandler, startMetricsServer } from './metrics-endpoint';
import type { MetricsEndpointSettings } from './metrics-endpoint';
import { createDuisRouter } from './duis';
import { IngestGate, overloadedHttpPlugin, withIngestGate } from './ingest-gate';
import type { IngestAdmission } from './ingest-gate';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { GraphQLContext } from '../schema/context';
import { classify, createErrorFormatter, toGraphQLError } from '../schema/errors';
import type { Services } from '../services';
import { RateLimitedError } from '../domain/errors';
import { prepareWsOperation, queryLimitsPlugin } from '../schema/limits';
import { NoFederationSdlRule } from '../schema/schema-privacy';
import type { SchemaAccess } from '../schema/schema-privacy';
import { bodyErrorHandler, graphqlJsonBody } from './body-limit';
import { persistedQueryCheck } from './persisted-queries';
import { subscriptionOverHttpPlugin } from './subscription-over-http';
import { federatedTracePlugin, graphqlSpanPlugin, reenterTrace, traceRequests } from './tracing';
import { subscribeSharingEvents } from '../realtime/shared-events';
import { serveGraphqlWs } from '../realtime/ws-transport';
import { readScopeKey } from '../services/shared/access';
import { createRateLimiter, operationPoints, rateLimitPlugin, rateLimitedGraphQLError } from './rate-limit';
import { TOO_MANY_CONNECTIONS_CLOSE, WsLimiter, wsTokenKey } from './ws-limits';
import type { WsLimits } from './ws-limits';
import type { DataSource } from 'typeorm';

export interface HttpServerDeps {
  readonly schema: GraphQLSchema;
  readonly services: Services;
  readonly verifier: TokenVerifier;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** What callers may learn of the schema: introspection, suggestions, the federation SDL. */
  readonly schemaAccess: SchemaAccess;
  readonly exposeInternalErrors: boolean;
  readonly keepAliveSeconds: number;
  /** Connections per token and subscriptions per connection (defaults: config.ts). */
  readonly wsLimits?: WsLimits;
  readonly authRecheckSeconds: number;
  /** Query depth/complexity, body size and mutation rate limits (defaults: config.ts). */
  readonly limits?: {
    readonly maxDepth: number;
    readonly maxComplexity: number;
    readonly maxStatements?: number;
    readonly maxBodyBytes: number;
    readonly mutationsPerMinute: number;
    readonly queriesPerMinute?: number;
  };
  /** Where rate-limit counters are shared between instances (PostgreSQL); unset: this process's memory. */
  readonly rateLimitStore?: DataSource;
  /** Readiness: database reachable, migrations applied, pub/sub connected. */
  readonly ready: () => Promise<boolean>;
  /** Back-pressure on ingestAlerts (defaults: config.ts). */
  readonly ingestAdmission?: IngestAdmission;
  /** Browser origins allowed on /graphql and /duis (CORS_ORIGINS); none: no CORS headers at all. */
  readonly corsOrigins?: readonly string[];
  /** Who may read /metrics, and whether it has a port of its own (src/http/metrics-endpoint.ts). */
  readonly metricsEndpoint?: MetricsEndpointSettings;
  /** HTTP spans (OpenTelemetry on) and Apollo's `extensions.ftv1` for routers that ask (src/http/tracing.ts). */
  readonly tracing?: { readonly spans: boolean; readonly inlineTrace: boolean };
}

export interface RunningServer {
  readonly httpServer: http.Server;
  readonly port: number;
  readonly url: string;
  /** Where /metrics is served: under `url`, or on the METRICS_PORT listener. */
  readonly metricsUrl: string;
  /** Stops accepting, drains in-flight HTTP requests and closes WebSocket clients (1001, reconnect). */
  close(): Promise<void>;
}

/** The WebSocket close code and reason a client gets when its token is missing, bad or expired. */
const UNAUTHORIZED_CLOSE = CloseCode.Unauthorized; // 4401

/**
 * One HTTP server: Apollo at /graphql (POST and GET), graphql-ws on the same path and port,
 * and the operational endpoints /healthz, /readyz, /metrics.
 */
export async function startHttpServer(
  deps: HttpServerDeps,
  port: number,
  host: string,
): Promise<RunningServer> {
  const { log, metrics } = deps;
  const app = express();
  app.disable('x-powered-by');
  const httpServer = http.createServer(app);

  // One error mapping for HTTP and WebSocket alike: the same extensions.code on both paths.
  const formatError = createErrorFormatter(
    deps.exposeInternalErrors,
    (error) => log.error({ err: error }, 'unexpected error in a GraphQL operation'),
    { suggestions: deps.schemaAccess.suggestions },
  );
  const limits = deps.limits ?? {
    maxDepth: 10,
    maxComplexity: 10_000,
    maxBodyBytes: 8 * 1024 * 1024,
    mutationsPerMinute: 600,
  };
  const rateLimiter = createRateLimiter(
    { mutationsPerMinute: limits.mutationsPerMinute, queriesPerMinute: limits.queriesPerMinute ?? 0 },
    deps.rateLimitStore,
  );
  // Every transport reaches ingestAlerts through the gate.
  const services = withIngestGate(
    deps.services,
    new IngestGate(deps.ingestAdmission ?? { maxInFlight: 4, maxQueued: 16, maxWaitMs: 500 }),
    (refusal) => metrics.observer.ingestFailed(refusal),
  );
  const wss = new WebSocketServer({ server: httpServer, path: '/graphql', maxPayload: 1024 * 1024 });
  const recheckTimers = new Map<object, NodeJS.Timeout>();
  // A token that no longer verifies (expired on wall time, or its key withdrawn) closes its socket.
  const stillValid = async (extra: {
    token?: string;
    socket: { close(code: number, why: string): void };
  }) => {
    const valid =
      extra.token !== undefined &&
      (await deps.verifier.verify(extra.token).then(
        () => true,
        () => false,
      ));
    if (!valid) extra.socket.close(UNAUTHORIZED_CLOSE, 'Token expired');
    return valid;
  };
  const wsLimiter = new WsLimiter(deps.wsLimits ?? { connectionsPerToken: 4, subscriptionsPerConnection: 8 });
  const wsServer = serveGraphqlWs<Record<string, unknown>, { principal?: Principal; token?: string }>(
    {
      schema: deps.schema,
      onConnect: async (ctx) => {
        try {
          const token = bearerToken(
            ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization,
          );
          if (!token)
            throw new UnauthenticatedError('connection_init must carry { authorization: "Bearer <token>" }');
          const principal = await deps.verifier.verify(token);
          if (!wsLimiter.connect(ctx.extra.socket, wsTokenKey(principal))) {
            log.info(
              { subject: principal.kind === 'user' ? principal.subject : undefined },
              'WebSocket connection refused: too many',
            );
            ctx.extra.socket.close(TOO_MANY_CONNECTIONS_CLOSE, wsLimiter.refusal());
            return false;
          }
          ctx.extra.principal = principal;
          ctx.extra.token = token;
          metrics.wsConnections.inc();
          // Long-lived connections outlive tokens: re-check now and then (and at every operation,
          // in onSubscribe) and close once the token no longer verifies.
          const timer = setInterval(() => void stillValid(ctx.extra), deps.authRecheckSeconds * 1000);
          timer.unref();
          recheckTimers.set(ctx.extra.socket, timer);
          return true;
        } catch (error) {
          const reason = error instanceof DomainError ? error.message : 'Unauthorized';
          log.info({ reason }, 'WebSocket connection refused');
          ctx.extra.socket.close(UNAUTHORIZED_CLOSE, `Unauthorized: ${reason}`.slice(0, 120));
          return false;
        }
      },
      onClose: (ctx) => {
        wsLimiter.disconnect(ctx.extra.socket);
        const timer = recheckTimers.get(ctx.extra.socket);
        if (timer) {
          clearInterval(timer);
          recheckTimers.delete(ctx.extra.socket);
        }
        if (ctx.acknowledged) metrics.wsConnections.dec();
      },
      // The same parse/validation codes, query limits and mutation rate limit as over HTTP.
      onSubscribe: async (ctx, id, payload) => {
        if (!(await stillValid(ctx.extra))) {
          return [toGraphQLError(new UnauthenticatedError('the token has expired'))];
        }
        const prepared = prepareWsOperation(deps.schema, payload, limits, deps.schemaAccess);
        if (Array.isArray(prepared)) return prepared;
        const operation = getOperationAST(prepared.document, prepared.operationName);
        if (rateLimiter && operation) {
          const { kind, points } = operationPoints(operation);
          try {
            await rateLimiter.consume(
              ctx.extra.principal ?? ANONYMOUS,
              ctx.extra.request.socket.remoteAddress,
              kind,
              points,
            );
          } catch (error) {
            if (error instanceof RateLimitedError) return [rateLimitedGraphQLError(error, false)];
            throw error;
          }
        }
        if (operation?.operation === 'subscription') {
          const refused = wsLimiter.subscribe(ctx.extra.socket, id);
          if (refused) return [refused];
        }
        return { ...prepared, schema: deps.schema };
      },
      onComplete: (ctx, id) => wsLimiter.complete(ctx.extra.socket, id),
      // The subscribers of one DNO asking for the same fields share each event's execution.
      subscribe: subscribeSharingEvents((context) => readScopeKey((context as GraphQLContext).principal)),
      // Queries run under a statement budget of their own (src/db/statement-budget.ts).
      execute: (args) => {
        const query = getOperationAST(args.document, args.operationName)?.operation === 'query';
        return withStatementBudget(query ? (limits.maxStatements ?? 0) : 0, () => execute(args), query);
      },
      // A fresh context, with fresh loaders, for every subscribe message.
      context: (ctx): GraphQLContext => ({
        clientIp: ctx.extra.request.socket.remoteAddress,
        principal: ctx.extra.principal ?? ANONYMOUS,
        services,
        loaders: createLoaders(services, ctx.extra.principal ?? ANONYMOUS),
      }),
      onNext: (_ctx, _id, _payload, args, result) => {
        if (!result.errors?.length) return undefined;
        // A subscription event that the database was not there to finish (a nested field's read
        // failed) is not sent half-done: that would skip it for good (a dnoAlerts consumer moves
        // its cursor past it). Throwing ends the subscription with UNAVAILABLE instead, and the
        // client resubscribes from the last event it did get.
        const lost = result.errors.find((e) => classify(e.originalError)?.code === 'UNAVAILABLE');
        if (lost && getOperationAST(args.document, args.operationName)?.operation === 'subscription') {
          throw lost.originalError;
        }
        return { ...result, errors: result.errors.map((e) => formatError(e.toJSON(), e)) };
      },
      onError: (_ctx, _id, _payload, errors) => {
        // Refused operations (bad input, limits, rate): the client's mistake, not the server's.
        log.info({ errors: errors.map((e) => e.message) }, 'WebSocket operation refused');
        return errors.map((e) => formatError(e.toJSON(), e));
      },
    },
    wss,
    deps.keepAliveSeconds * 1000,
    (message, error) => log.warn({ err: error }, message),
  );

  const metricsPlugin: ApolloServerPlugin<GraphQLContext> = {
    async requestDidStart() {
      const stop = metrics.graphqlDuration.startTimer();
      return {
        async willSendResponse({ operation, errors }) {
          const type = operation?.operation ?? 'unknown';
          stop({ type });
          const code = errors?.[0]?.extensions?.code;
          metrics.graphqlOperations.inc({
            operation: operationLabel(deps.schema, operation),
            type,
            outcome: errors?.length ? String(code ?? 'ERROR') : 'ok',
          });
        },
      };
    },
  };
  const apollo = new ApolloServer<GraphQLContext>({
    schema: deps.schema,
    // The same rules as over WebSocket (src/schema/schema-privacy.ts).
    introspection: deps.schemaAccess.introspection,
    hideSchemaDetailsFromClientErrors: !deps.schemaAccess.suggestions,
    validationRules: deps.schemaAccess.federationSdl ? [] : [NoFederationSdlRule],
    formatError,
    includeStacktraceInErrorResponses: deps.exposeInternalErrors,
    // main.ts owns shutdown (drain, then close the database); Apollo's own signal handler would race it.
    stopOnTerminationSignals: false,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      {
        async serverWillStart() {
          return {
            async drainServer() {
              await wsServer.dispose();
            },
          };
        },
      },
      federatedTracePlugin(deps.tracing?.inlineTrace ?? false),
      ...(deps.tracing?.spans ? [graphqlSpanPlugin((op) => operationLabel(deps.schema, op))] : []),
      ApolloServerPluginLandingPageDisabled(),
      metricsPlugin,
      queryLimitsPlugin(limits),
      ...(rateLimiter ? [rateLimitPlugin(rateLimiter)] : []),
      overloadedHttpPlugin(),
      subscriptionOverHttpPlugin(),
    ],
  });
  await apollo.start();

  app.use(graphiqlRouter());
  // A browser pointed at the bare host lands on the GraphiQL page.
  app.get('/', (_req, res) => res.redirect(302, '/graphiql'));
  // The service clock and its speed, so a client can tell an accelerated (CLOCK_SPEED) server.
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', time: deps.clock.now().toISOString(), clockSpeed: deps.clock.speed ?? 1 });
  });
  app.get('/readyz', async (_req, res) => {
    const ready = await deps.ready().catch(() => false);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready' });
  });
  const metricsSettings = deps.metricsEndpoint ?? {};
  if (metricsSettings.port === undefined) app.get('/metrics', metricsHandler(metrics, metricsSettings));
  if (deps.tracing?.spans) {
    app.use('/graphql', traceRequests('/graphql'));
    app.use('/duis', traceRequests('/duis'));
  }
  // Cross-origin browsers (a DNO's web console, a hosted GraphiQL) only for the listed origins:
  // exact matches get Access-Control-Allow-Origin and preflights are answered; others get
  // nothing and the browser refuses. WebSocket upgrades are not subject to CORS.
  if (deps.corsOrigins?.length) {
    app.use(
      ['/graphql', '/duis'],
      cors({
        origin: [...deps.corsOrigins],
        methods: ['GET', 'POST', 'OPTIONS'],
        allowedHeaders: [
          'authorization',
          'content-type',
          'accept',
          'apollo-require-preflight',
          'traceparent',
          'tracestate',
        ],
        exposedHeaders: ['traceresponse'],
        maxAge: 600,
      }),
    );
  } else {
    // No origin is allowed: a browser's preflight gets 204 with no CORS header, so the browser
    // reports the real reason (no Access-Control-Allow-Origin) instead of Apollo's CSRF 400 to a
    // request it never meant to send. Answered as the cors middleware answers an unlisted origin.
    app.options(['/graphql', '/duis'], (req, res, next) => {
      if (!req.headers.origin || !req.headers['access-control-request-method']) return next();
      res.setHeader('Vary', 'Origin');
      res.status(204).end();
    });
  }
  // DUIS and MMC XML documents onto the same services and authorization (src/http/duis.ts).
  app.use('/duis', createDuisRouter({ ...deps, services }));
  app.use(
    '/graphql',
    graphqlJsonBody(limits.maxBodyBytes),
    deps.tracing?.spans ? [reenterTrace()] : [],
    persistedQueryCheck(),
    // After the body is read (stream events would leave the async context): a statement budget
    // for this request, which the query limits plugin arms once it knows the operation is a query.
    (_req: express.Request, _res: express.Response, next: express.NextFunction) =>
      withStatementBudget(0, next),
    expressMiddleware(apollo, {
      context: async ({ req }): Promise<GraphQLContext> => {
        let principal: Principal = ANONYMOUS;
        try {
          const token = bearerToken(req.headers.authorization);
          if (token) principal = await deps.verifier.verify(token);
        } catch (error) {
          if (error instanceof DomainError) throw toGraphQLError(error, 401);
          throw error;
        }
        return {
          principal,
          clientIp: req.ip,
          services,
          loaders: createLoaders(services, principal),
        };
      },
    }),
    bodyErrorHandler(limits.maxBodyBytes),
  );

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(port, host, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  const metricsServer =
    metricsSettings.port === undefined
      ? undefined
      : await startMetricsServer(metrics, {
          ...metricsSettings,
          port: metricsSettings.port,
          host: metricsSettings.host ?? host,
        }).catch(async (error: unknown) => {
          await apollo.stop();
          throw error;
        });
  const address = httpServer.address() as AddressInfo;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return {
    httpServer,
    port: address.port,
    url: `http://${shownHost}:${address.port}`,
    metricsUrl: metricsServer?.url ?? `http://${shownHost}:${address.port}/metrics`,
    async close() {
      await metricsServer?.close();
      for (const timer of recheckTimers.values()) clearInterval(timer);
      // Going Away: well-behaved graphql-ws clients reconnect (to another instance) and resume.
      for (const client of wss.clients) client.close(1001, 'Server shutting down, reconnect');
      await apollo.stop();
    },
  };
}

/**
 * The `operation` label of poa_sieve_graphql_operations_total: the operation's first root field
 * (`ingestAlerts`, `dnoAlerts`...), which the schema bounds, or `other`. The client's operation
 * name is free text: as a label, 3,000 names made 3,000 series.
 */
export function operationLabel(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode | undefined | null,
): string {
  const first = operation?.selectionSet.selections.find((s) => s.kind === Kind.FIELD);
  if (!operation || !first || first.kind !== Kind.FIELD) return 'other';
  const root =
    operation.operation === 'query'
      ? schema.getQueryType()
      : operation.operation === 'mutation'
        ? schema.getMutationType()
        : schema.getSubscriptionType();
  const name = first.name.value;
  return name === '__typename' || name === '__schema' || name === '__type' || root?.getFields()[name]
    ? name
    : 'other';
}
