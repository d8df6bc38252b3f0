import type { EntityManager } from 'typeorm';
import type { DecisionOutcome } from '../domain/model';
import type { AlertEntity } from '../entities';

/**
 * Safety-budget counters, kept per minute (migration SafetyBudgetCounters).
 *
 * The budget counts, per DNO and per area, the AD1s received within `budget.windowMinutes` and
 * how many of them are withheld (SUPPRESSED or PAIRED). Counting them from the alert table read
 * every AD1 of the DNO in the window for every batch: thousands of rows a batch in a storm,
 * growing with the storm. Instead each decision transaction adds its changes to one row per
 * scope, key and minute of receipt, and a read sums at most `windowMinutes + 1` rows per key.
 *
 * The window is counted in whole minutes: an AD1 counts while the minute it was received in
 * overlaps the window, so the window reaches back up to a minute further than
 * `budget.windowMinutes` (more withheld AD1s counted: the budget is spent sooner, never later).
 */
export const BUDGET_MINUTE_MS = 60_000;

export type BudgetScope = 'DNO' | 'AREA';

/** What one scope, key and minute of receipt gained (or lost) in a transaction. */
export interface BudgetDelta {
  readonly scope: BudgetScope;
  readonly key: string;
  /** Start of the minute the AD1s were received in, epoch ms. */
  readonly minute: number;
  readonly alerts: number;
  readonly suppressions: number;
}

/** The part of a decision change the counters need. */
export interface BudgetChange {
  readonly alert: Pick<AlertEntity, 'id' | 'kind' | 'distributorId' | 'areaKey' | 'receivedAt'>;
  readonly revision: number;
  readonly previousOutcome: DecisionOutcome | null;
  readonly outcome: DecisionOutcome;
}

/** An outcome the budget counts as a suppression: SUPPRESSED or PAIRED (not HELD: undecided). */
export const isBudgetSuppression = (outcome: DecisionOutcome | null): boolean =>
  outcome === 'SUPPRESSED' || outcome === 'PAIRED';

export const budgetMinuteOf = (receivedAt: Date): number =>
  Math.floor(receivedAt.getTime() / BUDGET_MINUTE_MS) * BUDGET_MINUTE_MS;

/** Whether an AD1 received then is counted in a window that starts after `since`. */
export const inBudgetWindow = (receivedAt: Date, since: Date): boolean =>
  budgetMinuteOf(receivedAt) + BUDGET_MINUTE_MS > since.getTime();

/**
 * The counter changes these decision changes make: an AD1's first decision (revision 1) counts
 * it as received; a change into or out of SUPPRESSED/PAIRED moves its withheld count. Restores
 * are not counted. Net-zero rows are left out; the rest come sorted by scope, key and minute.
 */
export function budgetDeltas(changes: readonly BudgetChange[]): BudgetDelta[] {
  const sums = new Map<string, { -readonly [K in keyof BudgetDelta]: BudgetDelta[K] }>();
  const add = (
    scope: BudgetScope,
    key: string | null,
    minute: number,
    alerts: number,
    suppressions: number,
  ) => {
    if (key === null) return;
    const id = `${scope}\u0000${key}\u0000${minute}`;
    const sum = sums.get(id) ?? { scope, key, minute, alerts: 0, suppressions: 0 };
    sum.alerts += alerts;
    sum.suppressions += suppressions;
    sums.set(id, sum);
  };
  for (const change of changes) {
    if (change.alert.kind !== 'AD1') continue;
    const alerts = change.revision === 1 ? 1 : 0;
    const suppressions =
      Number(isBudgetSuppression(change.outcome)) - Number(isBudgetSuppression(change.previousOutcome));
    if (alerts === 0 && suppressions === 0) continue;
    const minute = budgetMinuteOf(change.alert.receivedAt);
    add('DNO', change.alert.distributorId, minute, alerts, suppressions);
    add('AREA', change.alert.areaKey, minute, alerts, suppressions);
  }
  return [...sums.values()].filter((d) => d.alerts !== 0 || d.suppressions !== 0).sort(byScopeKeyMinute);
}

/** Scope, then key, then minute (recordSafetyBudget sorts the same way in SQL: that fixes the lock order). */
function byScopeKeyMinute(a: BudgetDelta, b: BudgetDelta): number {
  if (a.scope !== b.scope) return a.scope < b.scope ? -1 : 1;
  if (a.key !== b.key) return a.key < b.key ? -1 : 1;
  return a.minute - b.minute;
}

/**
 * Adds a transaction's decision changes to the counters, in one statement. Call it once per
 * decision transaction, after every decision and before the DNO sequence locks: its row locks
 * (held to commit) are then always taken in one sorted statement and always before the
 * sequence rows, so concurrent transactions cannot deadlock on them.
 */
export async function recordSafetyBudget(tx: EntityManager, changes: readonly BudgetChange[]): Promise<void> {
  const deltas = budgetDeltas(changes);
  if (deltas.length === 0) return;
  // Into this connection's shard (migration ShardedBudgetCounters): concurrent transactions on
  // other connections add to other rows instead of waiting for this one to commit.
  await tx.query(
    `INSERT INTO safety_budget_minute AS b (scope, key, minute, shard, alerts, suppressions)
     SELECT s, k, m, pg_backend_pid() % 16, a, n
       FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::int[], $5::int[]) AS u(s, k, m, a, n)
      ORDER BY 1, 2, 3
     ON CONFLICT (scope, key, minute, shard) DO UPDATE
        SET alerts = b.alerts + EXCLUDED.alerts, suppressions = b.suppressions + EXCLUDED.suppressions`,
    [
      deltas.map((d) => d.scope),
      deltas.map((d) => d.key),
      deltas.map((d) => new Date(d.minute)),
      deltas.map((d) => d.alerts),
      deltas.map((d) => d.suppressions),
    ],
  );
}

/**
 * SQL: one scope's counters per key over the window, as `key, suppressions, alerts` rows.
 * `keys` (an array expression, or null for every key) and `since` (a timestamptz) are SQL.
 */
export const budgetCountsSql = (scope: BudgetScope, keys: string | null, since: string): string =>
  `SELECT key, sum(suppressions)::int AS suppressions, sum(alerts)::int AS alerts
     FROM safety_budget_minute
    WHERE scope = '${scope}'${keys ? ` AND key = ANY((${keys})::text[])` : ''}
      AND minute > ${since}::timestamptz - interval '1 minute'
    GROUP BY key`;
