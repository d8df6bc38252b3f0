import { GraphQLError, Kind } from 'graphql';
import type { GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import { QueryRunnerAlreadyReleasedError, QueryRunnerProviderAlreadyReleasedError } from 'typeorm';
import { DomainError } from '../domain/errors';
import type { ErrorCode } from '../domain/errors';
import { withoutSuggestions } from './schema-privacy';
import { isTransactionConflict, sqlStateOf } from '../db/transaction-retry';

/**
 * The one place failures become client-visible error codes. Clients branch on
 * `extensions.code` (and `extensions.reason` for bad input), never on messages. Outside
 * development no stack trace, SQL or driver message leaves the server.
 */

/**
 * PostgreSQL SQLSTATEs and driver errors that mean "the database is not there right now": retry.
 * Besides these, every connection exception (class 08). 25006 (read-only transaction): a write
 * reached a standby, as a connection made through the proxy just before it noticed a failover
 * does; the next connection reaches the new primary.
 */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300', '25006']);
const UNAVAILABLE_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

/** The stable reason of the class 22/23 SQLSTATEs that input can cause. */
const DATA_EXCEPTION_REASONS: Readonly<Record<string, string>> = {
  '22001': 'VALUE_TOO_LONG',
  '22003': 'NUMBER_OUT_OF_RANGE',
  '22007': 'INVALID_DATE_TIME',
  '22008': 'INVALID_DATE_TIME',
  '22021': 'INVALID_CHARACTERS',
  '22P05': 'INVALID_CHARACTERS',
  '22P02': 'INVALID_VALUE',
  '23502': 'MISSING_VALUE',
  '23503': 'UNKNOWN_REFERENCE',
};

export function classify(
  error: unknown,
): { code: ErrorCode; extensions: Record<string, unknown> } | undefined {
  if (error instanceof DomainError) return { code: error.code, extensions: { ...error.details } };
  const sqlState = sqlStateOf(error);
  if (sqlState === '23505') return { code: 'CONFLICT', extensions: { reason: 'DUPLICATE' } };
  // Aborted for a concurrent transaction (a deadlock, a serialization failure), retries spent:
  // nothing was written, and the same request again will go through.
  if (isTransactionConflict(error)) {
    return { code: 'UNAVAILABLE', extensions: { retryable: true, reason: 'TRANSACTION_CONFLICT' } };
  }
  // Data exceptions (class 22) and integrity violations (class 23) come from values the client
  // sent that a parser let through: bad input, never INTERNAL. Parsers should refuse them first.
  if (typeof sqlState === 'string' && /^2[23][0-9A-Z]{3}$/.test(sqlState)) {
    return {
      code: 'BAD_USER_INPUT',
      extensions: {
        reason:
          DATA_EXCEPTION_REASONS[sqlState] ??
          (sqlState.startsWith('22') ? 'INVALID_VALUE' : 'CONSTRAINT_VIOLATED'),
      },
    };
  }
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
]);

/**
 * Codes kept as Apollo gives them, because Apollo clients branch on them: on
 * PERSISTED_QUERY_NOT_FOUND the client sends the query with its hash, on
 * PERSISTED_QUERY_NOT_SUPPORTED it stops sending hashes (src/http/persisted-queries.ts).
 */
const APOLLO_PROTOCOL_CODES = new Set(['PERSISTED_QUERY_NOT_FOUND', 'PERSISTED_QUERY_NOT_SUPPORTED']);

/**
 * graphql-js stops coercing variables after 50 errors and adds this one, which carries neither a
 * code nor the variable's node: without this it was the only error of a bad request that read as
 * INTERNAL.
 */
const VARIABLE_ERROR_LIMIT_MESSAGE =
  'Too many errors processing variables, error limit reached. Execution aborted.';

/** A variable that could not be coerced to its type, however many there were (graphql-js's wording). */
function isVariableCoercionError(error: GraphQLError): boolean {
  if (error.message === VARIABLE_ERROR_LIMIT_MESSAGE) return true;
  const node = error.nodes?.length === 1 ? error.nodes[0] : undefined;
  return (
    node?.kind === Kind.VARIABLE_DEFINITION &&
    error.message.startsWith(`Variable "$${node.variable.name.value}"`)
  );
}

/** Apollo `formatError`. */
export function createErrorFormatter(
  exposeInternals: boolean,
  onInternal: (error: unknown) => void,
  /**
   * Suggestions off (production): no message keeps graphql-js's "Did you mean ...?" hint. Apollo
   * strips it from validation errors only; variable coercion spells out enum values and input
   * fields the same way ("Did you mean the enum value "PAIR"?").
   */
  options: { readonly suggestions?: boolean } = {},
) {
  const format = formatWith(exposeInternals, onInternal);
  if (options.suggestions !== false) return format;
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const result = format(formatted, error);
    return { ...result, message: withoutSuggestions(result.message) };
  };
}

function formatWith(exposeInternals: boolean, onInternal: (error: unknown) => void) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    // An error thrown mid-stream reaches graphql-ws's onError wrapped in a GraphQLError without a
    // path, which unwrapResolverError leaves alone: look through it to the cause.
    const known = classify(original) ?? classify(rootCause(original));
    if (known) {
      return {
        // A domain error's message is written for clients; a driver's is not (SQL, values).
        message: domainCause(original) ? formatted.message : publicMessage(known),
        locations: formatted.locations,
        path: formatted.path,
        extensions: { ...known.extensions, code: known.code },
      };
    }
    const code = formatted.extensions?.code;
    if (original instanceof GraphQLError && isVariableCoercionError(original)) {
      const cause = domainCause(original)?.details ?? {};
      const extensions = stripStack(formatted.extensions);
      const reason =
        original.message === VARIABLE_ERROR_LIMIT_MESSAGE
          ? 'TOO_MANY_INVALID_VARIABLES'
          : 'INVALID_VARIABLES';
      return { ...formatted, extensions: { ...extensions, reason, ...cause, code: 'BAD_USER_INPUT' } };
    }
    // GraphQL's own failures (parse, validation, variable coercion, a malformed request) become
    // BAD_USER_INPUT with Apollo's code as the reason (GRAPHQL_PARSE_FAILED,
    // GRAPHQL_VALIDATION_FAILED, BAD_REQUEST...), so every error carries a code from one short
    // list; a scalar that rejected its input gives the domain reason instead (INVALID_EUI64...).
    if (original instanceof GraphQLError && typeof code === 'string' && code !== 'INTERNAL_SERVER_ERROR') {
      const cause = domainCause(original)?.details ?? {};
      const extensions = stripStack(formatted.extensions);
      if (APOLLO_PROTOCOL_CODES.has(code)) return { ...formatted, extensions: { ...extensions, code } };
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
/** What a client is told of a database failure: its code and reason, never the driver's text. */
export function publicMessage(known: { code: ErrorCode; extensions: Record<string, unknown> }): string {
  if (known.code === 'UNAVAILABLE') return 'the database is unavailable; retry';
  const reason = typeof known.extensions.reason === 'string' ? ` (${known.extensions.reason})` : '';
  return known.code === 'CONFLICT'
    ? `the change conflicts with stored data${reason}`
    : `a value was refused by the database${reason}`;
}

function rootCause(error: unknown): unknown {
  let current: unknown = error;
  for (let depth = 0; current instanceof GraphQLError && current.originalError && depth < 5; depth++) {
    current = current.originalError;
  }
  return current;
}

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
