import { AsyncLocalStorage } from 'node:async_hooks';
import { QueryTooComplexError } from '../domain/errors';

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
}

const scope = new AsyncLocalStorage<Budget>();

/** Runs `work` with a fresh budget; `limit` 0 leaves it uncounted until `limitStatements` sets one. */
export function withStatementBudget<T>(limit: number, work: () => T): T {
  return scope.run({ used: 0, limit }, work);
}

/** Sets the limit of the budget this async context runs under (no-op outside one). */
export function limitStatements(limit: number): void {
  const budget = scope.getStore();
  if (budget) budget.limit = limit;
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

/**
 * Charges every connection taken from `pool` to the budget of the request taking it. TypeORM
 * takes connections with a callback inside a promise executor, so the error thrown here rejects
 * that promise: the statement is never sent and no connection is held.
 */
export function budgetPoolConnections(pool: ConnectablePool): void {
  const connect = pool.connect.bind(pool);
  pool.connect = (...args: unknown[]) => {
    spendStatement();
    return connect(...args);
  };
}
