/**
 * SQLSTATEs of a transaction PostgreSQL aborted because of another one: a deadlock (40P01) or a
 * serialization failure (40001). Nothing of the aborted transaction was written, and running the
 * same work again is what the PostgreSQL manual prescribes.
 */
const CONFLICT_SQLSTATES = new Set(['40P01', '40001']);

/** The SQLSTATE (or errno) of a database error, as node-postgres has it or TypeORM wraps it. */
export function sqlStateOf(error: unknown): unknown {
  const e = error as { code?: unknown; driverError?: { code?: unknown } } | null;
  return e?.driverError?.code ?? e?.code;
}

/** Whether `error` is a transaction PostgreSQL aborted for a concurrent one (see CONFLICT_SQLSTATES). */
export function isTransactionConflict(error: unknown): boolean {
  const code = sqlStateOf(error);
  return typeof code === 'string' && CONFLICT_SQLSTATES.has(code);
}

/**
 * Runs `transaction` (a whole transaction, idempotent) again when PostgreSQL aborted it for a
 * concurrent one, up to `attempts` runs in all, after a short random pause (so the two do not
 * meet again in step). Ingest takes its locks in several steps (the AD1s a restore touches, then
 * the AD1s its pairing touches), each in ID order, so two batches can still wait on each other
 * across steps; PostgreSQL then aborts one, which before this reached its client as INTERNAL.
 */
export async function retryTransactionConflicts<T>(
  transaction: () => Promise<T>,
  options: { readonly attempts?: number; readonly onRetry?: (error: unknown, attempt: number) => void } = {},
): Promise<T> {
  const attempts = options.attempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    try {
      return await transaction();
    } catch (error) {
      if (attempt >= attempts || !isTransactionConflict(error)) throw error;
      options.onRetry?.(error, attempt);
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20 * attempt));
    }
  }
}
