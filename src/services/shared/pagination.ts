import { InvalidInputError } from '../../domain/errors';

/** Keyset pagination: opaque cursors that encode the sort key of the last row seen. */
export interface Page<T> {
  readonly nodes: T[];
  readonly endCursor: string | null;
  readonly hasNextPage: boolean;
}

export const MAX_PAGE_SIZE = 500;

export function pageSize(first: number | null | undefined, fallback = 50): number {
  const n = first ?? fallback;
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE_SIZE) {
    throw new InvalidInputError('INVALID_PAGE_SIZE', `first must be between 1 and ${MAX_PAGE_SIZE}`, 'first');
  }
  return n;
}

export function encodeCursor(parts: readonly string[]): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

/** Cursor parts that are SQL-cast (timestamptz, bigint, uuid) must have their shape: a forged one is INVALID_CURSOR, not a failed statement. */
export const CURSOR_PART = {
  // Years 1000-9999 only: PostgreSQL has no year 0, and a calendar check follows (isRealInstant).
  instant: /^[1-9]\d{3}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/,
  bigint: /^[0-9]{1,18}$/,
  uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  eui64: /^[0-9A-F]{2}(-[0-9A-F]{2}){7}$/,
} as const;

export function decodeCursor(
  cursor: string | null | undefined,
  arity: number,
  shapes: readonly RegExp[] = [],
): string[] | null {
  if (cursor === null || cursor === undefined) return null;
  try {
    const parts: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(parts) &&
      parts.length === arity &&
      parts.every((p, i) => typeof p === 'string' && (shapes[i]?.test(p) ?? true)) &&
      parts.every((p, i) => shapes[i] !== CURSOR_PART.instant || isRealInstant(p as string))
    )
      return parts as string[];
  } catch {
    // fall through to the error below
  }
  throw new InvalidInputError('INVALID_CURSOR', 'after is not a cursor this query returned', 'after');
}

/**
 * A real calendar instant: JavaScript reads 2026-02-30 as 2026-03-02, PostgreSQL refuses it; the
 * ISO string must come back from the date unchanged.
 */
function isRealInstant(value: string): boolean {
  const time = Date.parse(value);
  return !Number.isNaN(time) && new Date(time).toISOString() === value;
}

const SEQUENCE = /^(0|[1-9][0-9]{0,18})$/;
const BIGINT_MAX = 9_223_372_036_854_775_807n;

/**
 * A stream position (`after`, `upTo`): a non-negative integer that fits a bigint column, as a
 * string. Anything else is INVALID_CURSOR before it reaches SQL.
 */
export function parseSequence(value: string, field: string, what = 'a sequence'): string {
  if (!SEQUENCE.test(value) || BigInt(value) > BIGINT_MAX) {
    throw new InvalidInputError(
      'INVALID_CURSOR',
      `${field} must be ${what} (a non-negative integer of at most 19 digits, below 2^63)`,
      field,
    );
  }
  return value;
}

/** Builds a page from rows fetched with LIMIT first + 1. */
export function toPage<T>(rows: T[], first: number, cursorOf: (row: T) => readonly string[]): Page<T> {
  const hasNextPage = rows.length > first;
  const nodes = hasNextPage ? rows.slice(0, first) : rows;
  const last = nodes.at(-1);
  return { nodes, hasNextPage, endCursor: last === undefined ? null : encodeCursor(cursorOf(last)) };
}
