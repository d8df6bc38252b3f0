import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { InvalidInputError } from '../../domain/errors';

/** Keyset pagination: opaque cursors that encode the sort key of the last row seen. */
export interface Page<T> {
  readonly nodes: T[];
  readonly endCursor: string | null;
  readonly hasNextPage: boolean;
  /** Every row the filter matches in the caller's scope, all pages: run only when asked for. */
  readonly count: () => Promise<number>;
}

export type SortDirection = 'ASC' | 'DESC';

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

/** One column of a keyset sort: its SQL, the cast of its cursor part, and that part's shape. */
export interface SortKey {
  readonly sql: string;
  /** Omitted where the column's own type should type the parameter (an index on it then applies). */
  readonly cast?: 'timestamptz' | 'bigint' | 'uuid';
  readonly shape: RegExp;
}

export interface KeysetOptions<T> {
  /** The sort, most significant first; the last key is unique. */
  readonly keys: readonly SortKey[];
  readonly direction: SortDirection;
  /** The direction a cursor without a direction part was issued for (cursors from before orderBy). */
  readonly defaultDirection: SortDirection;
  readonly first?: number | null;
  readonly after?: string | null;
  readonly cursorOf: (row: T) => readonly string[];
}

/**
 * One page of `qb` (filtered and scoped, not yet ordered or limited) in keyset order. A cursor
 * names its direction unless it is the default one, and is INVALID_CURSOR under another
 * direction: it marks a place in one order only. The count runs the same filter, unpaged.
 */
export async function keysetPage<T extends ObjectLiteral>(
  qb: SelectQueryBuilder<T>,
  options: KeysetOptions<T>,
): Promise<Page<T>> {
  const { keys, direction, defaultDirection } = options;
  const limit = pageSize(options.first);
  const cursor = decodeDirectedCursor(options.after, keys, direction, defaultDirection);
  const unpaged = qb.clone();
  keys.forEach((k, i) => (i === 0 ? qb.orderBy(k.sql, direction) : qb.addOrderBy(k.sql, direction)));
  if (cursor) {
    const placeholders = keys.map((k, i) => `:cursor${i}${k.cast ? `::${k.cast}` : ''}`);
    qb.andWhere(
      `(${keys.map((k) => k.sql).join(', ')}) ${direction === 'ASC' ? '>' : '<'} (${placeholders.join(', ')})`,
      Object.fromEntries(cursor.map((part, i) => [`cursor${i}`, part])),
    );
  }
  const rows = await qb.take(limit + 1).getMany();
  const hasNextPage = rows.length > limit;
  const nodes = hasNextPage ? rows.slice(0, limit) : rows;
  const last = nodes.at(-1);
  const parts = (row: T) => [
    ...options.cursorOf(row),
    ...(direction === defaultDirection ? [] : [direction]),
  ];
  return {
    nodes,
    hasNextPage,
    endCursor: last === undefined ? null : encodeCursor(parts(last)),
    count: () => unpaged.getCount(),
  };
}

function decodeDirectedCursor(
  after: string | null | undefined,
  keys: readonly SortKey[],
  direction: SortDirection,
  defaultDirection: SortDirection,
): string[] | null {
  const shapes = keys.map((k) => k.shape);
  if (direction === defaultDirection) return decodeCursor(after, keys.length, shapes);
  const parts = decodeCursor(after, keys.length + 1, [...shapes, new RegExp(`^${direction}$`)]);
  return parts && parts.slice(0, keys.length);
}
