import { InvalidInputError } from '../domain/errors';

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
  instant: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/,
  bigint: /^[0-9]{1,18}$/,
  uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
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
      (!shapes.some((s) => s === CURSOR_PART.instant) ||
        parts.every((p, i) => shapes[i] !== CURSOR_PART.instant || !Number.isNaN(Date.parse(p as string))))
    )
      return parts as string[];
  } catch {
    // fall through to the error below
  }
  throw new InvalidInputError('INVALID_CURSOR', 'after is not a cursor this query returned', 'after');
}

/** Builds a page from rows fetched with LIMIT first + 1. */
export function toPage<T>(rows: T[], first: number, cursorOf: (row: T) => readonly string[]): Page<T> {
  const hasNextPage = rows.length > first;
  const nodes = hasNextPage ? rows.slice(0, first) : rows;
  const last = nodes.at(-1);
  return { nodes, hasNextPage, endCursor: last === undefined ? null : encodeCursor(cursorOf(last)) };
}
