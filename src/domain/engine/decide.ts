/**
 * The decision on one AD1: a pure function of (facts, settings, now). It identifies candidates,
 * looks for release evidence, applies the guards that forbid withholding, and otherwise holds
 * until the hold bound before confirming the alert as OTA-induced. A previous decision only ever
 * moves forward: HELD -> SUPPRESSED/PAIRED/RELEASED, SUPPRESSED/PAIRED -> RELEASED (late);
 * DELIVERED and RELEASED are final because the DNO already has the alert.
 */
import type { DecisionOutcome } from '../model';
import type { Candidate, Identification, NearMiss } from './candidate';
import { activationExecuted, identify } from './candidate';
import type {
  AlertDecision,
  BudgetEvidence,
  ClusterEvidence,
  DecisionEvidence,
  DecisionReason,
  DeviceEvidence,
  TimelineEvidence,
} from './decision';
import { isWithheld, sameDecision } from './decision';
import {
  activationReleaseReason,
  budgetEvidence,
  budgetSpent,
  evidenceDeadline,
  findCluster,
  holdCeiling,
  overlappingRestoreIds,
  timelineEvidence,
  verificationState,
} from './evidence';
import type { VerificationState } from './evidence';
import type { DeviceFact, PowerOutageAlertFacts } from './facts';
import type { EngineSettings } from './settings';
import { addMinutes, earliest, iso, isoOrNull } from './time';

function deviceEvidence(device: DeviceFact | null): DeviceEvidence | null {
  if (device === null) return null;
  return {
    guid: device.guid,
    type: device.type,
    manufacturer: device.manufacturer,
    model: device.model,
    smiStatus: device.smiStatus,
    areaKey: device.areaKey,
  };
}

interface Verdict {
  readonly outcome: DecisionOutcome;
  readonly reason: DecisionReason;
  readonly dueAt: Date | null;
  readonly late: boolean;
}

interface Findings {
  readonly identification: Identification;
  /** The candidate decided on, or the pair that came closest (evidence only). */
  readonly used: Candidate | NearMiss | null;
  readonly isCandidate: boolean;
  readonly restoreIds: readonly string[];
  readonly cluster: ClusterEvidence | null;
  readonly budget: BudgetEvidence | null;
  /** Candidates only: what asking the meter has shown. */
  readonly verification: VerificationState | null;
  readonly timeline: TimelineEvidence | null;
}

/**
 * The outcome for "send it": RELEASED when it had been held or withheld (the DNO gets it after
 * a delay), DELIVERED when it never was. `late` marks a release after a suppression.
 */
function notWithheld(previous: AlertDecision | null, reason: DecisionReason): Verdict {
  const wasWithheld = previous !== null && isWithheld(previous.outcome);
  const wasSuppressed =
    previous !== null && (previous.outcome === 'SUPPRESSED' || previous.outcome === 'PAIRED');
  return { outcome: wasWithheld ? 'RELEASED' : 'DELIVERED', reason, dueAt: null, late: wasSuppressed };
}

function buildDecision(
  facts: PowerOutageAlertFacts,
  verdict: Verdict,
  findings: Findings,
  now: Date,
  shadow: AlertDecision | null,
): AlertDecision {
  const { alert } = facts;
  const { identification: id, used } = findings;
  const candidate = findings.isCandidate && used !== null ? used : null;
  const evidence: DecisionEvidence = {
    alert: {
      id: alert.id,
      commsHubGuid: alert.commsHubGuid,
      mpan: alert.mpan,
      distributorId: alert.distributorId,
      startAt: iso(alert.startAt),
      receivedAt: iso(alert.receivedAt),
      throttledCount: alert.throttledCount,
    },
    commsHub: deviceEvidence(id.commsHub),
    association:
      id.association === null
        ? null
        : {
            esmeGuid: id.association.esmeGuid,
            effectiveFrom: iso(id.association.effectiveFrom),
            effectiveTo: isoOrNull(id.association.effectiveTo),
          },
    esme: deviceEvidence(id.esme),
    paths: id.paths,
    rule:
      used === null
        ? null
        : {
            id: used.rule.id,
            version: used.rule.version,
            deviceType: used.rule.deviceType,
            shadow: used.rule.shadow,
          },
    activation:
      used === null
        ? null
        : {
            id: used.activation.id,
            requestId: used.activation.requestId,
            deviceGuid: used.activation.deviceGuid,
            status: used.activation.status,
            outcomeCode: used.activation.outcomeCode,
            requestedAt: iso(used.activation.requestedAt),
            actualExecutedAt: isoOrNull(used.activation.actualExecutedAt),
            imageHash: used.activation.imageHash,
            targetFirmwareVersion: used.activation.targetFirmwareVersion ?? null,
          },
    firmware: used === null ? null : used.firmware,
    window:
      used === null
        ? null
        : {
            from: iso(used.window.from),
            to: iso(used.window.to),
            anchor: iso(used.window.anchor),
            anchoredOnActual: used.window.anchoredOnActual,
            windowMinutes: used.windowMinutes,
            skewMinutes: used.skewMinutes,
          },
    supplyRestoredAlertIds: findings.restoreIds,
    cluster: findings.cluster,
    budget: findings.budget,
    timeline: findings.timeline,
    deliveryPreference: facts.deliveryPreference,
  };
  return {
    alertId: alert.id,
    outcome: verdict.outcome,
    reason: verdict.reason,
    decidedAt: now,
    dueAt: verdict.dueAt,
    late: verdict.late,
    // Only a decision that used a candidate names its rule and activation; a near miss is in the
    // evidence but did not decide anything.
    ruleId: candidate?.rule.id ?? null,
    ruleVersion: candidate?.rule.version ?? null,
    activationId: candidate?.activation.id ?? null,
    window: candidate?.window ?? null,
    evidence,
    shadow,
  };
}

/** The hold ceiling: the one promised when the alert was held stands, even if the setting grew since. */
function effectiveCeiling(facts: PowerOutageAlertFacts, settings: EngineSettings): Date {
  const previous = facts.previousDecision;
  const promised = previous?.outcome === 'HELD' ? previous.evidence.timeline?.ceilingAt : undefined;
  const ceiling = holdCeiling(facts.alert, settings);
  return promised ? earliest(ceiling, new Date(promised)) : ceiling;
}

/** Gathers the release evidence around a candidate. */
function investigate(
  facts: PowerOutageAlertFacts,
  identification: Identification,
  candidate: Candidate,
  settings: EngineSettings,
  now: Date,
): Findings {
  const verification = verificationState(facts.alert, candidate, facts.verifications, now);
  return {
    verification,
    timeline: timelineEvidence(
      facts.alert,
      candidate,
      verification,
      effectiveCeiling(facts, settings),
      settings,
    ),
    identification,
    used: candidate,
    isCandidate: true,
    restoreIds: overlappingRestoreIds(
      facts.supplyRestoredAlerts,
      identification.esme?.guid ?? null,
      facts.alert.startAt,
      settings,
    ),
    cluster: facts.area === null ? null : findCluster(facts.alert, facts.area, settings),
    budget: budgetEvidence(facts.alert, facts.dnoBudget, facts.area, settings),
  };
}

/**
 * The verdict for a candidate, given the previous decision (null, HELD, SUPPRESSED or PAIRED).
 * Returns `null` when a previous suppression stands unchanged.
 */
function judgeCandidate(
  facts: PowerOutageAlertFacts,
  candidate: Candidate,
  findings: Findings,
  previous: AlertDecision | null,
  settings: EngineSettings,
  now: Date,
): Verdict | null {
  // Release evidence, strongest proof of a genuine outage first.
  const verification = findings.verification;
  const activationRan = verification?.activationRan ?? null;
  if (findings.restoreIds.length > 0) return notWithheld(previous, 'SUPPLY_RESTORED_OVERLAP');
  if (findings.cluster?.found) return notWithheld(previous, 'AREA_CLUSTER');
  const activationReason = activationReleaseReason(candidate.activation, settings, now, activationRan);
  if (activationReason !== null) return notWithheld(previous, activationReason);

  // A suppression, once made, stands until release evidence arrives. The guards below stop
  // *new* suppressions only: a budget that fills up later must not release old ones in bulk.
  if (previous !== null && (previous.outcome === 'SUPPRESSED' || previous.outcome === 'PAIRED')) return null;

  if (facts.alert.distributorId === null) return notWithheld(previous, 'UNROUTED_ALERT');
  if (facts.area === null && settings.requireAreaKey) return notWithheld(previous, 'UNKNOWN_AREA');
  if (findings.budget !== null && budgetSpent(findings.budget)) {
    return notWithheld(previous, 'SAFETY_BUDGET_SPENT');
  }

  // The activation ran and explains the outage: the outcome anchors the (narrow) window on the
  // actual execution time, or the meter itself reported the new firmware.
  const confirmed =
    (activationExecuted(candidate.activation, settings) && candidate.window.anchoredOnActual) ||
    activationRan === true;
  const withhold: Verdict = {
    outcome: facts.deliveryPreference === 'PAIR' ? 'PAIRED' : 'SUPPRESSED',
    reason: 'OTA_INDUCED',
    dueAt: null,
    late: false,
  };
  const ceiling = effectiveCeiling(facts, settings);
  const held = (reason: DecisionReason, until: Date): Verdict => ({
    outcome: 'HELD',
    reason,
    dueAt: earliest(until, ceiling),
    late: false,
  });

  // The ceiling ends every hold: decide with what is known.
  if (now.getTime() >= ceiling.getTime()) return confirmed ? withhold : notWithheld(previous, 'HOLD_EXPIRED');

  // Until the hub must be back and its messages have crossed the network, the absence of an
  // outcome proves nothing: wait, whatever is already known, so that a restore or a cluster can
  // still release the alert and the decision does not depend on the order facts arrive in.
  const evidenceAt = evidenceDeadline(facts.alert, candidate, settings);
  if (now.getTime() < evidenceAt.getTime()) return held('AWAITING_EVIDENCE', evidenceAt);
  if (confirmed) return withhold;

  // No outcome although it could have arrived: ask the meter (the service sends the request when
  // it sees AWAITING_VERIFICATION with no request pending). An answer confirms or releases; no
  // answer after every attempt means the meter and its hub are still dark: a genuine outage.
  if (!settings.verification.enabled || verification === null) return notWithheld(previous, 'HOLD_EXPIRED');
  if (verification.skipped) return notWithheld(previous, 'VERIFICATION_BUDGET_SPENT');
  if (verification.pending !== null) return held('AWAITING_VERIFICATION', verification.pending.timeoutAt);
  if (verification.sent < settings.verification.attempts) {
    const timeoutAt = addMinutes(now, settings.verification.timeoutMinutes);
    // An attempt the ceiling would cut short is not worth a read of the meter: decide now, as the
    // ceiling would (HOLD_EXPIRED), rather than hold again for a fraction of an attempt.
    if (timeoutAt.getTime() > ceiling.getTime()) return notWithheld(previous, 'HOLD_EXPIRED');
    return held('AWAITING_VERIFICATION', timeoutAt);
  }
  return notWithheld(previous, 'VERIFICATION_UNANSWERED');
}

/**
 * Decides as if every rule in `identification` were enforced: the shared core of real and
 * would-be (shadow) decisions.
 */
function decideEnforced(
  facts: PowerOutageAlertFacts,
  identification: Identification,
  candidates: readonly Candidate[],
  previous: AlertDecision | null,
  settings: EngineSettings,
  now: Date,
): AlertDecision {
  if (candidates.length === 0) {
    const findings: Findings = {
      identification,
      used: identification.nearMiss,
      isCandidate: false,
      restoreIds: overlappingRestoreIds(
        facts.supplyRestoredAlerts,
        identification.esme?.guid ?? null,
        facts.alert.startAt,
        settings,
      ),
      cluster: null,
      budget: null,
      verification: null,
      timeline: null,
    };
    // Identification always names a reason when it finds no candidate.
    return buildDecision(
      facts,
      notWithheld(previous, identification.reason ?? 'NO_MATCHING_RULE'),
      findings,
      now,
      null,
    );
  }
  const candidate = candidates[0];
  const findings = investigate(facts, identification, candidate, settings, now);
  const verdict = judgeCandidate(facts, candidate, findings, previous, settings, now);
  if (verdict === null && previous !== null) return previous;
  return buildDecision(facts, verdict ?? notWithheld(previous, 'HOLD_EXPIRED'), findings, now, null);
}

/** A decision for an AD1 the DNO already has: only a shadow rule's would-be part may progress. */
function progressShadow(
  facts: PowerOutageAlertFacts,
  previous: AlertDecision,
  identification: Identification,
  settings: EngineSettings,
  now: Date,
): AlertDecision {
  const previousShadow = previous.shadow;
  if (previousShadow === null || !isWithheld(previousShadow.outcome)) return previous;
  // The would-be record follows whichever enabled rule matches: a shadow rule promoted to
  // enforced while its record was open keeps being tracked rather than turning into a gap.
  const wouldBe = decideEnforced(
    facts,
    identification,
    identification.candidates,
    previousShadow,
    settings,
    now,
  );
  return sameDecision(wouldBe, previousShadow) ? previous : { ...previous, decidedAt: now, shadow: wouldBe };
}

/**
 * Decides one AD1 (see docs/ENGINE.md for the rules and reason codes).
 *
 * Pure and deterministic: reads no clock (`now` is the evaluation time), no environment, and
 * gives the same decision for the same facts whatever their order. Idempotent: when nothing new
 * is known, it returns `facts.previousDecision` itself (same object), so the service can tell
 * "no change" by identity or with {@link sameDecision}.
 *
 * @param facts    everything known about the alert at `now`, including its previous decision
 * @param settings validated engine settings
 * @param now      the evaluation time; a HELD decision must be re-evaluated at its `dueAt`
 */
export function decidePowerOutageAlert(
  facts: PowerOutageAlertFacts,
  settings: EngineSettings,
  now: Date,
): AlertDecision {
  const previous = facts.previousDecision;
  const enabledRules = facts.rules.filter((r) => r.enabled);
  const identification = identify(facts, enabledRules, settings, now);

  // Delivered or released: the DNO has it. Nothing can take it back.
  if (previous !== null && !isWithheld(previous.outcome)) {
    return progressShadow(facts, previous, identification, settings, now);
  }

  const enforced = identification.candidates.filter((c) => !c.rule.shadow);
  let next: AlertDecision;
  if (enforced.length > 0 || identification.candidates.length === 0) {
    next = decideEnforced(facts, identification, enforced, previous, settings, now);
  } else {
    // Only shadow rules see a candidate: record what they would do, withhold nothing.
    const shadowCandidates = identification.candidates;
    const wouldBe = decideEnforced(facts, identification, shadowCandidates, null, settings, now);
    const verdict = notWithheld(previous, 'SHADOW_RULE');
    next = {
      ...wouldBe,
      outcome: verdict.outcome,
      reason: verdict.reason,
      dueAt: null,
      late: verdict.late,
      shadow: wouldBe,
    };
  }
  return previous !== null && sameDecision(previous, next) ? previous : next;
}
