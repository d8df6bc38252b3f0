import type { EntityManager } from 'typeorm';
import type {
  AffectedFirmwareRuleFact,
  AlertDecision,
  DeviceFact,
  EngineSettings,
  PowerOutageAlertFact,
  PowerOutageAlertFacts,
  SafetyBudgetCounters,
  SupplyRestoredAlertCode,
  SupplyRestoredAlertFact,
} from '../../domain/engine';
import type { DecisionOutcome } from '../../domain/model';
import type { AlertEntity } from '../../entities';
import { MINUTE_MS, decodeFacts, readFactsRow } from './outage-facts-row';
import type { DecodedFacts, FactsRow, NeighbourFact } from './outage-facts-row';
import { budgetDeltas, inBudgetWindow, isBudgetSuppression } from './safety-budget';
import type { BudgetChange } from './safety-budget';

export interface OutageFactsBundle {
  readonly rules: readonly AffectedFirmwareRuleFact[];
  /** The engine's facts for one AD1 of the batch. */
  factsFor(
    alert: AlertEntity,
    previousDecision: AlertDecision | null,
    inActivationWindow: ReadonlyMap<string, boolean>,
  ): PowerOutageAlertFacts;
  /** Counts one more suppression (made earlier in this batch) for the alert's DNO and area. */
  countSuppression(alert: AlertEntity, delta: 1 | -1): void;
  /**
   * Withheld (HELD, SUPPRESSED, PAIRED) AD1s in the area of any of these alerts, within the
   * cluster interval of it, as they stood when the facts were read: the neighbours a new AD1 may
   * now form a cluster with. The facts already hold them (the neighbour query covers the same
   * areas and a wider interval), so this needs no statement of its own.
   */
  withheldNeighbours(alerts: readonly AlertEntity[]): string[];
}

export function toOutageAlertFact(a: AlertEntity): PowerOutageAlertFact {
  return {
    id: a.id,
    commsHubGuid: a.deviceGuid,
    startAt: a.eventAt,
    receivedAt: a.receivedAt,
    mpan: a.mpan ?? '',
    distributorId: a.distributorId,
    throttledCount: a.throttledCount,
    duisResponseId: a.duisResponseId,
  };
}

/** The engine's view of a stored supply-restored alert. */
export function restoreFactOf(a: AlertEntity): SupplyRestoredAlertFact {
  return {
    id: a.id,
    esmeGuid: a.deviceGuid,
    alertCode: a.alertCode as SupplyRestoredAlertCode,
    interruptionAt: a.eventAt,
    restorationAt: a.restoredAt ?? a.eventAt,
    receivedAt: a.receivedAt,
  };
}

/**
 * Loads every fact the engine needs to decide a batch of AD1s, set-based and in one statement:
 * associations, devices with firmware history, rules, activations, restores, area neighbours,
 * safety-budget counters (when some alert can need them) and delivery preferences.
 */
export async function loadOutageFacts(
  tx: EntityManager,
  alerts: readonly AlertEntity[],
  now: Date,
  settings: EngineSettings,
  /** Decision changes this transaction made before (not yet in the stored budget counters). */
  earlier: readonly BudgetChange[] = [],
  /**
   * True when `alerts` are not stored yet (a new batch, decided before it is written): the
   * statement cannot see them, so they join the area neighbours here.
   */
  unstored = false,
): Promise<OutageFactsBundle> {
  const row = await readFactsRow(tx, alerts, now, settings);
  const facts = decodeFacts(row);
  if (unstored) facts.neighbours.push(...unstoredNeighbours(alerts));
  const budgetSince = new Date(now.getTime() - settings.budget.windowMinutes * MINUTE_MS);
  const budgets = budgetCounts(row, alerts, earlier, budgetSince);
  return bundleOf(facts, budgets, budgetSince, settings.clusterMinutes * MINUTE_MS);
}

/** A batch's AD1s that are not stored yet, as each other's neighbours. */
function unstoredNeighbours(alerts: readonly AlertEntity[]): NeighbourFact[] {
  return alerts
    .filter((a): a is AlertEntity & { areaKey: string } => a.areaKey !== null)
    .map((a) => ({
      id: a.id,
      commsHubGuid: a.deviceGuid,
      areaKey: a.areaKey,
      startAt: a.eventAt,
      throttledCount: a.throttledCount,
      inActivationWindow: false,
      outcome: null,
    }));
}

type Counts = Map<string, { suppressions: number; alerts: number }>;

/** The stored budget counters of the batch's DNOs and areas, with this transaction's own changes added. */
function budgetCounts(
  row: FactsRow,
  alerts: readonly AlertEntity[],
  earlier: readonly BudgetChange[],
  budgetSince: Date,
): { dnoCounts: Counts; areaCounts: Counts } {
  const counts = (list: FactsRow['dno_budgets']) =>
    new Map((list ?? []).map(([key, suppressions, total]) => [key, { suppressions, alerts: total }]));
  const dnoCounts = counts(row.dno_budgets);
  const areaCounts = counts(row.area_budgets);
  if (row.budget_counted) {
    // The stored counters hold what committed and nothing of this transaction (it adds its own
    // last): add the changes it made before this batch, and count the batch's new AD1s as
    // received, as a count of the alert table would have.
    for (const d of budgetDeltas(earlier)) {
      if (inBudgetWindow(new Date(d.minute), budgetSince))
        add(d.scope === 'DNO' ? dnoCounts : areaCounts, d.key, d.alerts, d.suppressions);
    }
    for (const a of alerts) {
      if (a.revision > 0 || !inBudgetWindow(a.receivedAt, budgetSince)) continue;
      add(dnoCounts, a.distributorId, 1, 0);
      add(areaCounts, a.areaKey, 1, 0);
    }
  }
  return { dnoCounts, areaCounts };
}

/** The facts of a batch as the decision service asks for them, alert by alert. */
function bundleOf(
  facts: DecodedFacts,
  { dnoCounts, areaCounts }: { dnoCounts: Counts; areaCounts: Counts },
  budgetSince: Date,
  clusterMs: number,
): OutageFactsBundle {
  const { linksByCh, deviceFacts, activationsByDevice, restoresByEsme } = facts;
  const { verificationsByDevice, preferenceOf, hubAlertsByCh } = facts;
  const ruleFacts: AffectedFirmwareRuleFact[] = facts.rules;
  const neighboursByArea = groupByArea(facts.neighbours);
  const withheld = new Set<DecisionOutcome | null>(['HELD', 'SUPPRESSED', 'PAIRED']);

  return {
    rules: ruleFacts,
    countSuppression(alert, delta) {
      add(dnoCounts, alert.distributorId, 0, delta);
      add(areaCounts, alert.areaKey, 0, delta);
    },
    factsFor(alert, previousDecision, inActivationWindow) {
      const associations = linksByCh.get(alert.deviceGuid) ?? [];
      const related = [alert.deviceGuid, ...associations.map((a) => a.esmeGuid)];
      const start = alert.eventAt.getTime();
      // Budget: `suppressions` excludes this alert, `alerts` includes it (see docs/ENGINE.md).
      const selfWithheld = isBudgetSuppression(alert.outcome) ? 1 : 0;
      // The counts already include this alert when it was received inside the window.
      const selfUncounted = inBudgetWindow(alert.receivedAt, budgetSince) ? 0 : 1;
      const counters = (c: SafetyBudgetCounters | undefined): SafetyBudgetCounters => ({
        suppressions: Math.max(0, (c?.suppressions ?? 0) - selfWithheld),
        alerts: (c?.alerts ?? 0) + selfUncounted,
      });
      return {
        alert: toOutageAlertFact(alert),
        devices: [...new Set(related)]
          .map((g) => deviceFacts.get(g))
          .filter((d): d is DeviceFact => d !== undefined),
        associations,
        rules: ruleFacts,
        activations: related.flatMap((g) => activationsByDevice.get(g) ?? []),
        supplyRestoredAlerts: associations.flatMap((a) => restoresByEsme.get(a.esmeGuid) ?? []),
        commsHubAlerts: hubAlertsByCh.get(alert.deviceGuid) ?? [],
        verifications: [...new Set(related)].flatMap((g) => verificationsByDevice.get(g) ?? []),
        area:
          alert.areaKey === null
            ? null
            : {
                key: alert.areaKey,
                neighbourAlerts: (neighboursByArea.get(alert.areaKey) ?? [])
                  .filter((n) => n.id !== alert.id && Math.abs(n.startAt.getTime() - start) <= clusterMs)
                  .map((n) => ({
                    alertId: n.id,
                    commsHubGuid: n.commsHubGuid,
                    startAt: n.startAt,
                    throttledCount: n.throttledCount,
                    inActivationWindow: inActivationWindow.get(n.id) ?? n.inActivationWindow,
                    outcome: n.outcome,
                  })),
                budget: counters(areaCounts.get(alert.areaKey)),
              },
        dnoBudget: counters(alert.distributorId ? dnoCounts.get(alert.distributorId) : undefined),
        deliveryPreference: (alert.distributorId && preferenceOf.get(alert.distributorId)) || 'FILTER',
        previousDecision,
      };
    },
    withheldNeighbours(of) {
      const ids = new Set<string>();
      for (const alert of of) {
        if (alert.areaKey === null) continue;
        const start = alert.eventAt.getTime();
        for (const n of neighboursByArea.get(alert.areaKey) ?? []) {
          if (withheld.has(n.outcome) && Math.abs(n.startAt.getTime() - start) <= clusterMs) ids.add(n.id);
        }
      }
      return [...ids];
    },
  };
}

/** Adds to one key's budget counters (withheld counts never below zero). */
function add(
  map: Map<string, { suppressions: number; alerts: number }>,
  key: string | null,
  alerts: number,
  suppressions: number,
): void {
  if (key === null) return;
  const c = map.get(key) ?? { suppressions: 0, alerts: 0 };
  map.set(key, { alerts: c.alerts + alerts, suppressions: Math.max(0, c.suppressions + suppressions) });
}

function groupByArea(neighbours: readonly NeighbourFact[]): Map<string, NeighbourFact[]> {
  const map = new Map<string, NeighbourFact[]>();
  for (const n of neighbours) {
    const list = map.get(n.areaKey);
    if (list) list.push(n);
    else map.set(n.areaKey, [n]);
  }
  return map;
}
