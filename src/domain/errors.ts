/**
 * Domain errors. Each carries a stable `code` (what clients branch on) and, for bad input, a
 * stable `reason` naming the rule that was broken. One module (src/schema/errors.ts) maps them to
 * GraphQL `extensions`; tests assert codes and reasons, never messages.
 */
export const ERROR_CODES = [
  'BAD_USER_INPUT',
  'NOT_FOUND',
  'FORBIDDEN',
  'UNAUTHENTICATED',
  'CONFLICT',
  'RATE_LIMITED',
  'QUERY_TOO_COMPLEX',
  'UNAVAILABLE',
  'OVERLOADED',
  'INTERNAL',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export abstract class DomainError extends Error {
  abstract readonly code: ErrorCode;
  constructor(
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Input that breaks a rule. `reason` is a stable SCREAMING_SNAKE identifier, `field` the input path. */
export class InvalidInputError extends DomainError {
  readonly code = 'BAD_USER_INPUT' as const;
  constructor(
    readonly reason: string,
    message: string,
    readonly field?: string,
    details: Record<string, unknown> = {},
  ) {
    super(message, { reason, ...(field === undefined ? {} : { field }), ...details });
  }
}

export class NotFoundError extends DomainError {
  readonly code = 'NOT_FOUND' as const;
  constructor(
    readonly entity: string,
    readonly key: string,
  ) {
    super(`${entity} ${key} was not found`, { entity, key });
  }
}

export class ForbiddenError extends DomainError {
  readonly code = 'FORBIDDEN' as const;
}

export class UnauthenticatedError extends DomainError {
  readonly code = 'UNAUTHENTICATED' as const;
}

/** The request is well-formed but clashes with the current state (for example a finished activation). */
export class ConflictError extends DomainError {
  readonly code = 'CONFLICT' as const;
  constructor(
    readonly reason: string,
    message: string,
    details: Record<string, unknown> = {},
  ) {
    super(message, { reason, ...details });
  }
}

/** Too many requests from one principal: retry after `retryAfterSeconds`. */
export class RateLimitedError extends DomainError {
  readonly code = 'RATE_LIMITED' as const;
  constructor(
    readonly retryAfterSeconds: number,
    readonly limit: number,
  ) {
    super(`too many mutations: at most ${limit} a minute; retry after ${retryAfterSeconds} s`, {
      retryAfterSeconds,
      limit,
    });
  }
}

/**
 * An operation that would cost too much to run: nested deeper than the depth limit (reason DEPTH,
 * with `depth` and `limit`) or estimated dearer than the complexity limit (reason COMPLEXITY, with
 * `cost` and `limit`).
 */
export class QueryTooComplexError extends DomainError {
  readonly code = 'QUERY_TOO_COMPLEX' as const;
  constructor(
    readonly reason: 'DEPTH' | 'COMPLEXITY' | 'STATEMENTS',
    message: string,
    details: { readonly limit: number; readonly cost?: number; readonly depth?: number },
  ) {
    super(message, { reason, ...details });
  }
}

/**
 * The service is at its limit of concurrent work of this kind (`limit` batches in flight and its
 * wait queue full, or a queued batch waited too long): refused before it started, so nothing
 * was written. Retry after `retryAfterSeconds`.
 */
export class OverloadedError extends DomainError {
  readonly code = 'OVERLOADED' as const;
  constructor(
    readonly retryAfterSeconds: number,
    readonly limit: number,
    what = 'ingest batches',
  ) {
    super(`too many ${what} in progress (${limit}); retry after ${retryAfterSeconds} s`, {
      retryable: true,
      retryAfterSeconds,
      limit,
    });
  }
}

/**
 * A subscription past the number one WebSocket connection may run at once (reason
 * TOO_MANY_SUBSCRIPTIONS, with `limit`): end one first, or open another connection.
 */
export class TooManySubscriptionsError extends DomainError {
  readonly code = 'RATE_LIMITED' as const;
  constructor(readonly limit: number) {
    super(`this connection already runs ${limit} subscriptions; complete one or use another connection`, {
      reason: 'TOO_MANY_SUBSCRIPTIONS',
      limit,
    });
  }
}
