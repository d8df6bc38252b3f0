import { GraphQLError } from 'graphql';
import type { GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import { QueryRunnerAlreadyReleasedError, QueryRunnerProviderAlreadyReleasedError } from 'typeorm';
import { DomainError } from '../domain/errors';
import type { ErrorCode } from '../domain/errors';

/**
 * The one place failures become client-visible error codes. Clients branch on
 * `extensions.code` (and `extensions.reason` for bad input), never on messages. Outside
 * development no stack trace, SQL or driver message leaves the server.
 */

/**
 * PostgreSQL SQLSTATEs and driver errors that mean "the database is not there right now": retry.
 * Besides these, every connection exception (class 08).
 */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);
const UNAVAILABLE_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

export function classify(
  error: unknown,
): { code: ErrorCode; extensions: Record<string, unknown> } | undefined {
  if (error instanceof DomainError) return { code: error.code, extensions: { ...error.details } };
  const sqlState =
    (error as { code?: unknown; driverError?: { code?: unknown } } | null)?.driverError?.code ??
    (error as { code?: unknown } | null)?.code;
  if (sqlState === '23505') return { code: 'CONFLICT', extensions: { reason: 'DUPLICATE' } };
  if (
    typeof sqlState === 'string' &&
    (UNAVAILABLE_SQLSTATES.has(sqlState) ||
      UNAVAILABLE_ERRNOS.has(sqlState) ||
      /^08[0-9A-Z]{3}$/.test(sqlState))
  ) {
    return { code: 'UNAVAILABLE', extensions: { retryable: true } };
  }
  // When a transaction's connection fails between two statements, TypeORM releases it at once
  // and the next statement finds it gone: the connection was lost, not misused.
  if (
    error instanceof QueryRunnerProviderAlreadyReleasedError ||
    error instanceof QueryRunnerAlreadyReleasedError
  ) {
    return { code: 'UNAVAILABLE', extensions: { retryable: true } };
  }
  const message = error instanceof Error ? error.message : '';
  if (
    /Connection terminated|timeout exceeded when trying to connect|Connection ended unexpectedly|not queryable/i.test(
      message,
    )
  ) {
    return { code: 'UNAVAILABLE', extensions: { retryable: true } };
  }
  return undefined;
}

/** Apollo's request-level codes: each means the client sent something unusable. */
const APOLLO_BAD_REQUEST_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
]);

/** Apollo `formatError`. */
export function createErrorFormatter(exposeInternals: boolean, onInternal: (error: unknown) => void) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    const known = classify(original);
    if (known) {
      return {
        message: formatted.message,
        locations: formatted.locations,
        path: formatted.path,
        extensions: { ...known.extensions, code: known.code },
      };
    }
    const code = formatted.extensions?.code;
    // GraphQL's own failures (parse, validation, variable coercion, a malformed request) become
    // BAD_USER_INPUT with Apollo's code as the reason (GRAPHQL_PARSE_FAILED,
    // GRAPHQL_VALIDATION_FAILED, BAD_REQUEST...), so every error carries a code from one short
    // list; a scalar that rejected its input gives the domain reason instead (INVALID_EUI64...).
    if (original instanceof GraphQLError && typeof code === 'string' && code !== 'INTERNAL_SERVER_ERROR') {
      const cause = domainCause(original)?.details ?? {};
      const extensions = stripStack(formatted.extensions);
      if (APOLLO_BAD_REQUEST_CODES.has(code)) {
        const reason = code === 'BAD_USER_INPUT' ? (extensions.reason ?? 'INVALID_VARIABLES') : code;
        return { ...formatted, extensions: { ...extensions, reason, ...cause, code: 'BAD_USER_INPUT' } };
      }
      return { ...formatted, extensions: { ...extensions, ...cause, code } };
    }
    onInternal(original);
    return {
      message: exposeInternals ? formatted.message : 'Internal server error',
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: 'INTERNAL' },
    };
  };
}

/**
 * The DomainError behind a GraphQLError, if any. A scalar rejecting a literal is wrapped once; one
 * rejecting a variable is wrapped twice (graphql-js coercion, then the variable error).
 */
function domainCause(error: unknown): DomainError | undefined {
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    if (current instanceof DomainError) return current;
    current = (current as { originalError?: unknown }).originalError;
  }
  return undefined;
}

function stripStack(extensions: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!extensions) return {};
  const { stacktrace: _stacktrace, ...rest } = extensions;
  return rest;
}

/** A GraphQLError carrying a domain error's code, for places outside resolvers (context, plugins). */
export function toGraphQLError(error: DomainError, httpStatus?: number): GraphQLError {
  return new GraphQLError(error.message, {
    extensions: {
      ...error.details,
      code: error.code,
      ...(httpStatus ? { http: { status: httpStatus } } : {}),
    },
  });
}
