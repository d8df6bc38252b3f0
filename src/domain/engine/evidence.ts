/**
 * The tests for release evidence around a candidate: an overlapping supply-restored alert, an
 * area cluster, what became of the activation, and the safety budget. Each returns plain data
 * that goes into the decision's evidence as is.
 */
import type { Candidate } from './candidate';
import type {
  DecisionReason,
  BudgetEvidence,
  BudgetScopeEvidence,
  ClusterEvidence,
  TimelineEvidence,
} from './decision';
import type {
  FirmwareActivationFact,
  OutageAreaFacts,
  PowerOutageAlertFact,
  SafetyBudgetCounters,
  SupplyRestoredAlertFact,
  VerificationFact,
} from './facts';
import { SUPPLY_RESTORED_ALERT_CODES } from './facts';
import { activationExecuted } from './candidate';
import type { EngineSettings } from './settings';
import { addMinutes, compareText, iso, isoOrNull, sameCode, sortedUnique } from './time';

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

/**
 * Ids (sorted, unique) of the ESME's supply-restored alerts that overlap the outage. Meter and
 * hub clocks differ: a restore overlaps as its times stand, or once moved by `shiftMs` (hub
 * offset - meter offset, from their messages). A restore the outage follows rather than overlaps
 * does not count: the one a deferred activation's window is anchored on (`exceptId`), and any
 * whose supply was back before the meter ran the activation (`executedAt`, a meter time: the
 * meter runs a deferred activation once it has mains, so its cut starts after the restoration).
 */
export function overlappingRestoreIds(
  restores: readonly SupplyRestoredAlertFact[],
  esmeGuid: string | null,
  startAt: Date,
  settings: EngineSettings,
  shiftMs = 0,
  exceptId: string | null = null,
  /** When the meter ran the activation (its clock): a supply that came back before it had ended. */
  executedAt: Date | null = null,
): string[] {
  if (esmeGuid === null) return [];
  const moved = new Date(startAt.getTime() - shiftMs);
  return sortedUnique(
    restores
      .filter(
        (r) =>
          r.id !== exceptId &&
          (executedAt === null || r.restorationAt.getTime() > executedAt.getTime()) &&
          sameCode(r.esmeGuid, esmeGuid) &&
          isSupplyRestoredCode(r.alertCode) &&
          (restoreOverlapsOutage(r, startAt, settings.skewMinutes) ||
            restoreOverlapsOutage(r, moved, settings.skewMinutes)),
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
  const byId = new Map<string, { id: string; at: number; weight: number; campaign: boolean }>();
  for (const n of area.neighbourAlerts) {
    if (n.alertId === alert.id) continue;
    if (n.commsHubGuid && sameCode(n.commsHubGuid, alert.commsHubGuid)) continue;
    const at = n.startAt.getTime();
    if (at < t - span || at > t + span) continue;
    // A neighbour withheld as OTA-induced is one more meter of a campaign, not a feeder fault.
    const campaign = n.inActivationWindow || n.outcome === 'SUPPRESSED' || n.outcome === 'PAIRED';
    if (!byId.has(n.alertId))
      byId.set(n.alertId, { id: n.alertId, at, weight: alertWeight(n.throttledCount), campaign });
  }
  const all = [...byId.values()].sort((a, b) => a.at - b.at || compareText(a.id, b.id));
  const points = all.filter((p) => !p.campaign);

  // Every span worth trying starts at a point before the outage start, or at the start itself.
  const lefts = [...points.filter((p) => p.at <= t).map((p) => p.at), t];
  let best: { weight: number; ids: string[]; left: number } = { weight: 0, ids: [], left: t };
  for (const left of lefts) {
    const inside = points.filter((p) => p.at >= left && p.at <= left + span);
    const weight = inside.reduce((sum, p) => sum + p.weight, 0);
    if (weight > best.weight) best = { weight, ids: inside.map((p) => p.id), left };
  }
  const campaignWeight = all
    .filter((p) => p.campaign && p.at >= best.left && p.at <= best.left + span)
    .reduce((sum, p) => sum + p.weight, 0);
  return {
    areaKey: area.key,
    alertIds: sortedUnique(best.ids),
    weight: best.weight,
    size: settings.clusterSize,
    minutes: settings.clusterMinutes,
    found: best.weight >= settings.clusterSize,
    campaignWeight,
  };
}

/** True when a cluster's span holds at least as many campaign AD1s as others: verify, do not release. */
export function campaignCluster(cluster: ClusterEvidence): boolean {
  return cluster.found && (cluster.campaignWeight ?? 0) >= cluster.weight;
}

/**
 * Release evidence from the activation itself: failed (by setting for `activationFailure`),
 * cancelled, superseded, or its outcome lost (marked so, or still pending past the bound); or
 * the meter, asked, still runs the firmware from before the activation.
 */
export function activationReleaseReason(
  activation: FirmwareActivationFact,
  settings: EngineSettings,
  /** What asking the meter showed: a meter that reports the new firmware ran the activation. */
  activationRan: boolean | null = null,
): DecisionReason | null {
  if (activationRan === false) return 'VERIFICATION_NOT_ACTIVATED';
  switch (activation.status) {
    case 'FAILED':
      return activationExecuted(activation, settings) ? null : 'ACTIVATION_FAILED';
    case 'CANCELLED':
      return 'ACTIVATION_CANCELLED';
    case 'SUPERSEDED':
      return 'ACTIVATION_SUPERSEDED';
    // No outcome yet, or none in time: the activation may still run (on restoration, above all),
    // and a lost outcome is found out by asking the meter, not assumed either way.
    case 'OUTCOME_UNKNOWN':
    case 'SCHEDULED':
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

/**
 * What the budget forbids: `COUNT` when either scope's count is spent (no suppression at all),
 * else `SHARE` when either scope's share is (only the exempt ones; settings.budget.shareExempt),
 * else `null`.
 */
export function budgetLimit(budget: BudgetEvidence | null): 'COUNT' | 'SHARE' | null {
  if (budget === null) return null;
  const spent = [budget.dno?.spent ?? null, budget.area?.spent ?? null];
  if (spent.includes('COUNT')) return 'COUNT';
  return spent.includes('SHARE') ? 'SHARE' : null;
}

/**
 * Whether the budget lets this AD1 be withheld on its evidence: DCC's outcome dating the outage
 * in its meter's narrow window (`byOutcome`), or any confirmation (`confirmed`, the meter's
 * answer included). A spent count forbids it whatever the evidence; a spent share forbids all
 * but the evidence the setting exempts.
 */
export function budgetAllows(
  budget: BudgetEvidence | null,
  evidence: { readonly byOutcome: boolean; readonly confirmed: boolean },
  settings: EngineSettings,
): boolean {
  const limit = budgetLimit(budget);
  if (limit === null) return true;
  if (limit === 'COUNT') return false;
  switch (settings.budget.shareExempt) {
    case 'NONE':
      return false;
    case 'DCC_OUTCOME':
      return evidence.byOutcome;
    case 'CONFIRMED':
      return evidence.confirmed;
  }
}

/** The latest instant a HELD AD1 may stay held, whatever else: receivedAt + the hold ceiling. */
export function holdCeiling(alert: PowerOutageAlertFact, settings: EngineSettings): Date {
  return addMinutes(alert.receivedAt, settings.holdMinutes);
}

/** The longest hub power cut the candidate's rule allows for. */
export function maxCommsHubOff(candidate: Candidate, settings: EngineSettings): number {
  return candidate.rule.maxCommsHubOffMinutes ?? settings.maxCommsHubOffMinutes;
}

/**
 * When the hub must have power again if the cut was OTA-induced: the cut began at the outage
 * start (by the CH clock, so up to the skew later) and lasts at most the rule's longest cut.
 */
export function hubBackBy(alert: PowerOutageAlertFact, candidate: Candidate, settings: EngineSettings): Date {
  // The hub went dark by its stamped start (give or take the skew), and no later than the AD1's
  // receipt less the 3 minutes a hub waits before raising it: the earlier bound counts, so a
  // hub whose clock runs fast does not hold a genuine outage longer.
  const stamped = addMinutes(alert.startAt, candidate.skewMinutes);
  const raised = addMinutes(alert.receivedAt, -settings.commsHubAlertDelayMinutes);
  const dark = stamped.getTime() <= raised.getTime() ? stamped : raised;
  return addMinutes(dark, maxCommsHubOff(candidate, settings));
}

/**
 * The first instant evidence from the premises can be expected: the hub is back and a message it
 * sent then (the activation outcome, above all) has crossed the network. Before it, the absence
 * of an outcome says nothing: the meter cannot send one through a dark hub.
 */
export function evidenceDeadline(
  alert: PowerOutageAlertFact,
  candidate: Candidate,
  settings: EngineSettings,
): Date {
  return addMinutes(hubBackBy(alert, candidate, settings), settings.transitMinutes);
}

/** The verification requests for this outage and the answer that decides, if any. */
export interface VerificationState {
  /** Requests to the candidate's device made since the outage start, oldest first. */
  readonly requests: readonly VerificationFact[];
  /** Requests actually sent (not skipped by the request budget). */
  readonly sent: number;
  /** True when the request budget refused a request for this outage. */
  readonly skipped: boolean;
  /** A request still waiting for its answer at `now`, if any. */
  readonly pending: VerificationFact | null;
  /** See {@link VerificationEvidence.activationRan}. */
  readonly activationRan: boolean | null;
}

/**
 * What asking the meter has shown so far. Only requests made since the outage start count: an
 * answer proves the meter and its hub had power when it answered, and its firmware version says
 * whether the activation ran (the target version, or any other than the version before it).
 */
export function verificationState(
  alert: PowerOutageAlertFact,
  candidate: Candidate,
  verifications: readonly VerificationFact[],
  now: Date,
): VerificationState {
  const since = alert.startAt.getTime();
  const requests = verifications
    .filter((v) => sameCode(v.deviceGuid, candidate.device.guid) && v.requestedAt.getTime() >= since)
    .sort((a, b) => a.requestedAt.getTime() - b.requestedAt.getTime() || compareText(a.id, b.id));
  const answered = requests.filter(
    (v) => v.status === 'ANSWERED' && v.answeredAt !== null && v.answeredAt.getTime() >= since,
  );
  let activationRan: boolean | null = null;
  for (const answer of answered) {
    const ran = answerShowsActivation(answer.firmwareVersion, candidate);
    // The latest usable answer wins: a meter may answer once before it has finished rebooting.
    if (ran !== null) activationRan = ran;
  }
  return {
    requests,
    sent: requests.filter((v) => v.status !== 'SKIPPED').length,
    skipped: requests.some((v) => v.status === 'SKIPPED'),
    pending: requests.find((v) => v.status === 'PENDING' && now.getTime() < v.timeoutAt.getTime()) ?? null,
    activationRan,
  };
}

function answerShowsActivation(version: string | null, candidate: Candidate): boolean | null {
  if (version === null || version.trim() === '') return null;
  const target = candidate.activation.targetFirmwareVersion;
  if (target) {
    if (sameCode(version, target)) return true;
    return sameCode(version, candidate.firmware.versionBefore) ? false : null;
  }
  return !sameCode(version, candidate.firmware.versionBefore);
}

/** The timeline evidence of a candidate, as stored with the decision. */
export function timelineEvidence(
  alert: PowerOutageAlertFact,
  candidate: Candidate,
  state: VerificationState,
  ceiling: Date,
  settings: EngineSettings,
): TimelineEvidence {
  return {
    maxCommsHubOffMinutes: maxCommsHubOff(candidate, settings),
    hubBackBy: iso(hubBackBy(alert, candidate, settings)),
    evidenceAt: iso(evidenceDeadline(alert, candidate, settings)),
    ceilingAt: iso(ceiling),
    verification: {
      deviceGuid: candidate.device.guid,
      attempts: settings.verification.attempts,
      requests: state.requests.map((v) => ({
        id: v.id,
        requestedAt: iso(v.requestedAt),
        timeoutAt: iso(v.timeoutAt),
        status: v.status,
        answeredAt: isoOrNull(v.answeredAt),
        firmwareVersion: v.firmwareVersion,
      })),
      activationRan: state.activationRan,
    },
  };
}
