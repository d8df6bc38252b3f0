import type { ApolloServerPlugin } from '@apollo/server';
import { Kind } from 'graphql';
import type { GraphQLError, OperationDefinitionNode } from 'graphql';
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { DataSource } from 'typeorm';
import type { Principal } from '../auth/principal';
import { RateLimitedError } from '../domain/errors';
import type { GraphQLContext } from '../schema/context';
import { toGraphQLError } from '../schema/errors';

/**
 * Per-principal budgets a minute, on every transport:
 * - writes (RATE_LIMIT_MUTATIONS_PER_MINUTE): each mutation FIELD costs a point, so 2,000 aliased
 *   acknowledgeDnoAlerts in one request cost 2,000, not 1;
 * - reads (RATE_LIMIT_QUERIES_PER_MINUTE): each query operation and each subscription start.
 * 0 turns a budget off. A token is keyed by its role and subject (one subject holding two roles
 * has two budgets), a caller without a token by IP address. Over budget: RATE_LIMITED with
 * `retryAfterSeconds` (HTTP 429 and Retry-After). On PostgreSQL the counters live in the
 * `rate_limit` table, so every instance behind a load balancer draws on the same budget; should
 * that table be unreachable, each instance falls back on its own memory (the request is not
 * refused for it). On the embedded database (one instance) they live in memory.
 */
export type RateLimitKind = 'mutation' | 'read';

export interface RateLimiter {
  /** Counts `points` of `kind`; throws RateLimitedError when the caller is over budget. */
  consume(
    principal: Principal,
    clientIp: string | undefined,
    kind: RateLimitKind,
    points?: number,
  ): Promise<void>;
}

export interface RateLimits {
  readonly mutationsPerMinute: number;
  readonly queriesPerMinute: number;
}

export function rateLimitKey(principal: Principal, clientIp: string | undefined): string {
  return principal.kind === 'user'
    ? `user:${principal.role}:${principal.subject}`
    : `ip:${clientIp ?? 'unknown'}`;
}

function limiterOf(keyPrefix: string, points: number, store: DataSource | undefined): RateLimiterAbstract {
  const memory = new RateLimiterMemory({ keyPrefix, points, duration: 60 });
  if (!store) return memory;
  return new RateLimiterPostgres({
    storeClient: store,
    storeType: 'typeorm',
    tableName: 'rate_limit',
    tableCreated: true, // by the RateLimits migration
    keyPrefix,
    points,
    duration: 60,
    insuranceLimiter: memory,
  });
}

export function createRateLimiter(limits: RateLimits, store?: DataSource): RateLimiter | undefined {
  const perMinute = { mutation: limits.mutationsPerMinute, read: limits.queriesPerMinute };
  const limiters: Partial<Record<RateLimitKind, RateLimiterAbstract>> = {};
  if (perMinute.mutation > 0) limiters.mutation = limiterOf('mutations', perMinute.mutation, store);
  if (perMinute.read > 0) limiters.read = limiterOf('reads', perMinute.read, store);
  if (!limiters.mutation && !limiters.read) return undefined;
  return {
    async consume(principal, clientIp, kind, points = 1) {
      const limiter = limiters[kind];
      if (!limiter) return;
      try {
        await limiter.consume(rateLimitKey(principal, clientIp), points);
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) {
          throw new RateLimitedError(Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)), perMinute[kind]);
        }
        throw rejection;
      }
    },
  };
}

/** What an operation costs against the budgets: each mutation field, or one read. */
export function operationPoints(operation: OperationDefinitionNode): { kind: RateLimitKind; points: number } {
  if (operation.operation !== 'mutation') return { kind: 'read', points: 1 };
  // Root fields, aliases included; a fragment at the root counts as at least one.
  const fields = operation.selectionSet.selections.filter((s) => s.kind === Kind.FIELD).length;
  const spreads = operation.selectionSet.selections.length - fields;
  return { kind: 'mutation', points: Math.max(1, fields + spreads) };
}

/** The GraphQL error of a rate-limited request: 429 with Retry-After over HTTP. */
export function rateLimitedGraphQLError(error: RateLimitedError, http: boolean): GraphQLError {
  const graphqlError = toGraphQLError(error, http ? 429 : undefined);
  if (http) {
    (graphqlError.extensions as Record<string, unknown>).http = {
      status: 429,
      headers: new Map([['retry-after', String(error.retryAfterSeconds)]]),
    };
  }
  return graphqlError;
}

/** The HTTP side: counts each operation once Apollo knows what it is, before it executes. */
export function rateLimitPlugin(limiter: RateLimiter): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, contextValue }) {
          if (!operation) return;
          const { kind, points } = operationPoints(operation);
          try {
            await limiter.consume(contextValue.principal, contextValue.clientIp, kind, points);
          } catch (error) {
            if (error instanceof RateLimitedError) throw rateLimitedGraphQLError(error, true);
            throw error;
          }
        },
      };
    },
  };
}
