import type { EntityManager } from 'typeorm';
import { preparedQuery } from '../../db/prepared';
import type { DecisionOutcome } from '../../domain/model';
import type { AlertEntity } from '../../entities';

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

/** Scope, then key, then minute: a stable order for the rows a transaction adds to. */
function byScopeKeyMinute(a: BudgetDelta, b: BudgetDelta): number {
  if (a.scope !== b.scope) return a.scope < b.scope ? -1 : 1;
  if (a.key !== b.key) return a.key < b.key ? -1 : 1;
  return a.minute - b.minute;
}

/**
 * SQL adding a transaction's decision changes to the counters, with its five parameters from
 * `$first` on (budgetRecordParams). Each transaction adds to its own connection's shard (the
 * backend's process ID; migration ShardedBudgetCounters): no other transaction holds those rows,
 * so this takes part in no lock order and may run anywhere in the transaction, even inside
 * another statement (DeliveryService.enqueue runs it with the outbox's).
 */
export const budgetRecordSql = (first: number): string =>
  `INSERT INTO safety_budget_minute AS b (scope, key, minute, shard, alerts, suppressions)
     SELECT s, k, m, pg_backend_pid(), a, n
       FROM unnest($${first}::text[], $${first + 1}::text[], $${first + 2}::timestamptz[], $${first + 3}::int[],
                   $${first + 4}::int[]) AS u(s, k, m, a, n)
     ON CONFLICT (scope, key, minute, shard) DO UPDATE
        SET alerts = b.alerts + EXCLUDED.alerts, suppressions = b.suppressions + EXCLUDED.suppressions`;

/** The parameters of budgetRecordSql for these changes (empty arrays: nothing to add). */
export function budgetRecordParams(changes: readonly BudgetChange[]): unknown[] {
  const deltas = budgetDeltas(changes);
  return [
    deltas.map((d) => d.scope),
    deltas.map((d) => d.key),
    deltas.map((d) => new Date(d.minute)),
    deltas.map((d) => d.alerts),
    deltas.map((d) => d.suppressions),
  ];
}

const RECORD_ALONE = budgetRecordSql(1);

/** Adds a transaction's decision changes to the counters, in one statement of its own. */
export async function recordSafetyBudget(tx: EntityManager, changes: readonly BudgetChange[]): Promise<void> {
  if (budgetDeltas(changes).length === 0) return;
  await preparedQuery(tx, 'poa_sieve_budget_record', RECORD_ALONE, budgetRecordParams(changes));
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
