import { AsyncLocalStorage } from 'node:async_hooks';
import { QueryTooComplexError } from '../domain/errors';
import type { Semaphore } from '../semaphore';

/**
 * A budget of database work for one GraphQL query operation. The complexity limit counts fields;
 * this counts the work they cause: 1,000 aliased `suppressionStats` fit under the field count yet
 * ran 1,000 aggregations each, and six such requests at once starved ingest. Each time the
 * request takes a connection from a pool (every statement outside a transaction, every
 * transaction) costs one unit, counted before it waits for the connection
 * (`budgetPoolConnections`), so a request past its limit is refused at once, with
 * QUERY_TOO_COMPLEX reason STATEMENTS, instead of queueing in front of everyone else.
 * Mutations and subscriptions carry no budget (batch limits and the rate limit bound them), nor
 * do background jobs.
 */
interface Budget {
  used: number;
  /** 0: not counted (not a query, or the limit is off). */
  limit: number;
  /** A GraphQL query operation: its connections count against the readers' share of the pool. */
  reader: boolean;
  /** A reader that waits for its place as long as it takes (a stream catching up), never refused. */
  patient?: boolean;
}

const scope = new AsyncLocalStorage<Budget>();

/**
 * Runs `work` with a fresh budget; a `reader` (a query operation) with `limit` statements (0:
 * uncounted). Until `budgetQuery` says otherwise, work is neither counted nor a reader.
 */
export function withStatementBudget<T>(limit: number, work: () => T, reader = false): T {
  return scope.run({ used: 0, limit, reader }, work);
}

/**
 * Runs `work` as a reader of the pool that waits for its place without a bound: a DNO stream
 * catching up. A storm of subscribers replaying their backlogs then queues within the readers'
 * share, and ingest, the hold scheduler and the live tail of every stream keep the rest of the
 * pool; a replay is slower, never refused (its subscriber would only ask again).
 */
export function asPatientReader<T>(work: () => T): T {
  return scope.run({ used: 0, limit: 0, reader: true, patient: true }, work);
}

/** Marks the work of this async context a query operation with `limit` statements (no-op outside a budget). */
export function budgetQuery(limit: number): void {
  const budget = scope.getStore();
  if (!budget) return;
  budget.limit = limit;
  budget.reader = true;
}

/** Counts one unit of work; throws when the request has spent its budget. */
export function spendStatement(): void {
  const budget = scope.getStore();
  if (!budget || budget.limit <= 0) return;
  budget.used += 1;
  if (budget.used > budget.limit) {
    throw new QueryTooComplexError(
      'STATEMENTS',
      `this query needed more than ${budget.limit} database statements; ask for fewer fields, aliases or rows`,
      { limit: budget.limit },
    );
  }
}

/** The part of a node-postgres pool this needs. */
interface ConnectablePool {
  connect(...args: unknown[]): unknown;
}

type Release = (error?: unknown) => void;
type ConnectCallback = (error: Error | undefined, client: unknown, release: Release) => void;

/**
 * Charges every connection taken from `pool` to the budget of the request taking it, and, given
 * `readers`, makes the connections of query operations wait for a place in the readers' share
 * of the pool before they join the pool's own queue, giving it back with the connection. TypeORM
 * takes connections with a callback inside a promise executor, so an error thrown here rejects
 * that promise: the statement is never sent and no connection is held.
 */
export function budgetPoolConnections(pool: ConnectablePool, readers?: Semaphore): void {
  const connect = pool.connect.bind(pool);
  pool.connect = (...args: unknown[]) => {
    spendStatement();
    const budget = scope.getStore();
    if (!readers || !budget?.reader) return connect(...args);
    const patient = budget.patient === true;
    const callback = args[0];
    if (typeof callback === 'function')
      return connectAsReader(readers, connect, callback as ConnectCallback, patient);
    return new Promise((resolve, reject) =>
      connectAsReader(
        readers,
        connect,
        (error, client) => (error ? reject(error) : resolve(client)),
        patient,
      ),
    );
  };
}

/** Takes a place in `readers`, then a connection; the place goes back with the connection. */
function connectAsReader(
  readers: Semaphore,
  connect: (callback: ConnectCallback) => unknown,
  callback: ConnectCallback,
  patient: boolean,
) {
  readers.acquire(patient).then(
    (free) =>
      connect((error, client, release) => {
        if (error || !client) {
          free();
          return callback(error, client, release);
        }
        // Released either way: TypeORM calls the function it is handed, pg-pool's own
        // `pool.query` (the rate limiter's store) and promise callers call `client.release`.
        const releaseAndFree: Release = (releaseError) => {
          free();
          return release(releaseError);
        };
        (client as { release: Release }).release = releaseAndFree;
        callback(error, client, releaseAndFree);
      }),
    (error: Error) => callback(error, undefined, () => undefined),
  );
}
