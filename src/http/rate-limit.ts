import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLError } from 'graphql';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { Principal } from '../auth/principal';
import { RateLimitedError } from '../domain/errors';
import type { GraphQLContext } from '../schema/context';
import { toGraphQLError } from '../schema/errors';

/**
 * A per-principal budget of mutations a minute (RATE_LIMIT_MUTATIONS_PER_MINUTE; 0 turns it
 * off), in this process's memory: each instance counts its own callers. A token is keyed by its
 * role and subject (so one subject holding two roles has two budgets), a caller without a token
 * by IP address. Over budget: RATE_LIMITED with `retryAfterSeconds` (HTTP 429 and Retry-After).
 * Queries and subscriptions are bounded by the query limits instead (src/schema/limits.ts).
 */
export interface MutationRateLimiter {
  /** Counts one mutation; throws RateLimitedError when the caller is over budget. */
  consume(principal: Principal, clientIp: string | undefined): Promise<void>;
}

export function rateLimitKey(principal: Principal, clientIp: string | undefined): string {
  return principal.kind === 'user'
    ? `user:${principal.role}:${principal.subject}`
    : `ip:${clientIp ?? 'unknown'}`;
}

export function createMutationRateLimiter(perMinute: number): MutationRateLimiter | undefined {
  if (perMinute <= 0) return undefined;
  const limiter = new RateLimiterMemory({ keyPrefix: 'mutations', points: perMinute, duration: 60 });
  return {
    async consume(principal, clientIp) {
      try {
        await limiter.consume(rateLimitKey(principal, clientIp), 1);
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) {
          throw new RateLimitedError(Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)), perMinute);
        }
        throw rejection;
      }
    },
  };
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

/** The HTTP side: counts mutations once Apollo knows the operation type, before they execute. */
export function mutationRateLimitPlugin(limiter: MutationRateLimiter): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, contextValue }) {
          if (operation?.operation !== 'mutation') return;
          try {
            await limiter.consume(contextValue.principal, contextValue.clientIp);
          } catch (error) {
            if (error instanceof RateLimitedError) throw rateLimitedGraphQLError(error, true);
            throw error;
          }
        },
      };
    },
  };
}
