/**
 * TypeORM's `query()` returns SELECT and INSERT ... RETURNING rows as an array, but UPDATE and
 * DELETE ... RETURNING as `[rows, affectedCount]`. This gives the rows either way.
 */
export function returnedRows<T>(result: unknown): T[] {
  if (
    Array.isArray(result) &&
    result.length === 2 &&
    Array.isArray(result[0]) &&
    typeof result[1] === 'number'
  ) {
    return result[0] as T[];
  }
  return result as T[];
}
