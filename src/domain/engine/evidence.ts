/**
 * The tests for release evidence around a candidate: an overlapping supply-restored alert, an
 * area cluster, what became of the activation, and the safety budget. Each returns plain data
 * that goes into the decision's evidence as is.
 */
import type { DecisionReason, BudgetEvidence, BudgetScopeEvidence, ClusterEvidence } from './decision';
import type {
  FirmwareActivationFact,
  OutageAreaFacts,
  PowerOutageAlertFact,
  SafetyBudgetCounters,
  SupplyRestoredAlertFact,
} from './facts';
import { SUPPLY_RESTORED_ALERT_CODES } from './facts';
import { activationExecuted, outcomeDeadline } from './candidate';
import type { EngineSettings } from './settings';
import { addMinutes, compareText, sameCode, sortedUnique } from './time';

const MINUTE_MS = 60_000;

/** True for a code in 0x8F35-0x8F3C, written with or without `0x`, any case. */
export function isSupplyRestoredCode(code: string): boolean {
  const normalised = code.trim().toUpperCase().replace(/^0X/, '');
  return (SUPPLY_RESTORED_ALERT_CODES as readonly string[]).includes(normalised);
}

/**
 * True when the meter's measured interruption overlaps an outage that started at `startAt`:
 * `interruption - skew <= startAt <= restoration + skew`. CH and meter clocks differ, hence the
 * skew tolerance on both ends. The AD1 carries no end time, so its start is what is tested.
 */
export function restoreOverlapsOutage(
  restore: SupplyRestoredAlertFact,
  startAt: Date,
  skewMinutes: number,
): boolean {
  const a = restore.interruptionAt.getTime();
  const b = restore.restorationAt.getTime();
  // A restore whose two times are swapped (bad meter clock) still describes a real interruption.
  const from = Math.min(a, b) - skewMinutes * MINUTE_MS;
  const to = Math.max(a, b) + skewMinutes * MINUTE_MS;
  const t = startAt.getTime();
  return from <= t && t <= to;
}

/** Ids (sorted, unique) of the ESME's supply-restored alerts that overlap the outage. */
export function overlappingRestoreIds(
  restores: readonly SupplyRestoredAlertFact[],
  esmeGuid: string | null,
  startAt: Date,
  settings: EngineSettings,
): string[] {
  if (esmeGuid === null) return [];
  return sortedUnique(
    restores
      .filter(
        (r) =>
          sameCode(r.esmeGuid, esmeGuid) &&
          isSupplyRestoredCode(r.alertCode) &&
          restoreOverlapsOutage(r, startAt, settings.skewMinutes),
      )
      .map((r) => r.id),
  );
}

/** A throttled message stands for `count` alerts; anything unusable counts as the one it is. */
export function alertWeight(throttledCount: number): number {
  return Number.isFinite(throttledCount) && throttledCount >= 1 ? Math.floor(throttledCount) : 1;
}

/**
 * The area-cluster test. Qualifying neighbours are other AD1s in the area, from other CHs, from
 * devices not in an activation window (a campaign's own AD1s must not look like a feeder fault),
 * each weighing its throttled count; duplicates by id count once. A cluster is a span of
 * `clusterMinutes` that contains the outage start and at least `clusterSize` qualifying weight.
 * The heaviest such span is reported whether or not it reaches the size.
 */
export function findCluster(
  alert: PowerOutageAlertFact,
  area: OutageAreaFacts,
  settings: EngineSettings,
): ClusterEvidence {
  const span = settings.clusterMinutes * MINUTE_MS;
  const t = alert.startAt.getTime();
  const byId = new Map<string, { id: string; at: number; weight: number }>();
  for (const n of area.neighbourAlerts) {
    if (n.alertId === alert.id || n.inActivationWindow) continue;
    if (n.commsHubGuid && sameCode(n.commsHubGuid, alert.commsHubGuid)) continue;
    const at = n.startAt.getTime();
    if (at < t - span || at > t + span) continue;
    if (!byId.has(n.alertId))
      byId.set(n.alertId, { id: n.alertId, at, weight: alertWeight(n.throttledCount) });
  }
  const points = [...byId.values()].sort((a, b) => a.at - b.at || compareText(a.id, b.id));

  // Every span worth trying starts at a point before the outage start, or at the start itself.
  const lefts = [...points.filter((p) => p.at <= t).map((p) => p.at), t];
  let best: { weight: number; ids: string[] } = { weight: 0, ids: [] };
  for (const left of lefts) {
    const inside = points.filter((p) => p.at >= left && p.at <= left + span);
    const weight = inside.reduce((sum, p) => sum + p.weight, 0);
    if (weight > best.weight) best = { weight, ids: inside.map((p) => p.id) };
  }
  return {
    areaKey: area.key,
    alertIds: sortedUnique(best.ids),
    weight: best.weight,
    size: settings.clusterSize,
    minutes: settings.clusterMinutes,
    found: best.weight >= settings.clusterSize,
  };
}

/**
 * Release evidence from the activation itself: failed (by setting for `activationFailure`),
 * cancelled, superseded, or its outcome lost (marked so, or still pending past the bound).
 */
export function activationReleaseReason(
  activation: FirmwareActivationFact,
  settings: EngineSettings,
  now: Date,
): DecisionReason | null {
  switch (activation.status) {
    case 'FAILED':
      return activationExecuted(activation, settings) ? null : 'ACTIVATION_FAILED';
    case 'CANCELLED':
      return 'ACTIVATION_CANCELLED';
    case 'SUPERSEDED':
      return 'ACTIVATION_SUPERSEDED';
    case 'OUTCOME_UNKNOWN':
      return 'OUTCOME_NOT_RECEIVED';
    case 'SCHEDULED':
      return now.getTime() > outcomeDeadline(activation, settings).getTime() ? 'OUTCOME_NOT_RECEIVED' : null;
    case 'SUCCEEDED':
      return null;
  }
}

function budgetScope(
  counters: SafetyBudgetCounters,
  maxSuppressions: number,
  settings: EngineSettings,
): BudgetScopeEvidence {
  const { maxShare, minSample } = settings.budget;
  // Would suppressing this one break the budget? Counting it in makes the limits inclusive:
  // with max 10, the 10th suppression is allowed and the 11th is not.
  const after = counters.suppressions + 1;
  const spent: BudgetScopeEvidence['spent'] =
    after > maxSuppressions
      ? 'COUNT'
      : counters.alerts >= minSample && after / Math.max(counters.alerts, 1) > maxShare
        ? 'SHARE'
        : null;
  return {
    suppressions: counters.suppressions,
    alerts: counters.alerts,
    maxSuppressions,
    maxShare,
    minSample,
    spent,
  };
}

/** A DNO's budget as it stands: whether its next suppression would be refused (for metrics). */
export function dnoBudgetState(
  counters: SafetyBudgetCounters,
  settings: EngineSettings,
): BudgetScopeEvidence {
  return budgetScope(counters, settings.budget.maxSuppressionsPerDno, settings);
}

/** Both budget scopes as they stand; the DNO scope is absent for an unrouted alert. */
export function budgetEvidence(
  alert: PowerOutageAlertFact,
  dnoBudget: SafetyBudgetCounters,
  area: OutageAreaFacts | null,
  settings: EngineSettings,
): BudgetEvidence {
  return {
    windowMinutes: settings.budget.windowMinutes,
    dno:
      alert.distributorId === null
        ? null
        : budgetScope(dnoBudget, settings.budget.maxSuppressionsPerDno, settings),
    area: area === null ? null : budgetScope(area.budget, settings.budget.maxSuppressionsPerArea, settings),
  };
}

/** True when either scope forbids one more suppression. */
export function budgetSpent(budget: BudgetEvidence): boolean {
  return (
    (budget.dno !== null && budget.dno.spent !== null) || (budget.area !== null && budget.area.spent !== null)
  );
}

/** The latest instant a HELD AD1 may stay held: receivedAt + hold bound. */
export function holdDeadline(alert: PowerOutageAlertFact, settings: EngineSettings): Date {
  return addMinutes(alert.receivedAt, settings.holdMinutes);
}
