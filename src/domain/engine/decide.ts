/**
 * The decision on one AD1: a pure function of (facts, settings, now). It identifies candidates,
 * looks for release evidence, applies the guards that forbid withholding, and otherwise holds
 * until the hold bound before confirming the alert as OTA-induced. A previous decision only ever
 * moves forward: HELD -> SUPPRESSED/PAIRED/RELEASED, SUPPRESSED/PAIRED -> RELEASED (late);
 * DELIVERED and RELEASED are final because the DNO already has the alert.
 */
import type { Candidate, Identification } from './candidate';
import { activationExecuted, identify } from './candidate';
import type { AlertDecision, DecisionReason } from './decision';
import { buildDecision } from './decision-record';
import type { Findings, Verdict } from './decision-record';
import { isWithheld, sameDecision } from './decision';
import {
  activationReleaseReason,
  budgetEvidence,
  budgetAllows,
  campaignCluster,
  evidenceDeadline,
  findCluster,
  holdCeiling,
  overlappingRestoreIds,
  timelineEvidence,
  verificationState,
} from './evidence';
import type { PowerOutageAlertFact, PowerOutageAlertFacts } from './facts';
import type { EngineSettings } from './settings';
import { isLearned } from './clocks';
import { addMinutes, earliest } from './time';

const MINUTE_MS = 60_000;
const HOUR_MS = 3600_000;

/**
 * The outcome for "send it": RELEASED when it had been held or withheld (the DNO gets it after
 * a delay), DELIVERED when it never was. `late` marks a release after a suppression.
 */
function notWithheld(previous: AlertDecision | null, reason: DecisionReason): Verdict {
  const wasWithheld = previous !== null && isWithheld(previous.outcome);
  const wasSuppressed = previous !== null && isSuppression(previous.outcome);
  return { outcome: wasWithheld ? 'RELEASED' : 'DELIVERED', reason, dueAt: null, late: wasSuppressed };
}

const isSuppression = (outcome: AlertDecision['outcome']): boolean =>
  outcome === 'SUPPRESSED' || outcome === 'PAIRED';

/** The hold ceiling: the one promised when the alert was held stands, even if the setting grew since. */
function effectiveCeiling(facts: PowerOutageAlertFacts, settings: EngineSettings): Date {
  return ceilingAfter(facts.alert, facts.previousDecision, settings);
}

function ceilingAfter(
  alert: PowerOutageAlertFact,
  previous: AlertDecision | null,
  settings: EngineSettings,
): Date {
  const promised = previous?.outcome === 'HELD' ? previous.evidence.timeline?.ceilingAt : undefined;
  const ceiling = holdCeiling(alert, settings);
  return promised ? earliest(ceiling, new Date(promised)) : ceiling;
}

/**
 * The liveness guarantee, checked on a stored decision: a HELD AD1 is due again after `now` and
 * no later than its hold ceiling (`receivedAt + holdMinutes`, or the earlier one it was promised).
 * The engine never holds otherwise. Should a stored hold still break it (a defect, a lost timer)
 * once the engine has decided the alert again, the service releases the alert with the decision
 * returned here (`HOLD_CEILING_ENFORCED`, the hold's evidence kept) rather than withhold it from
 * its DNO for good. `null`: not HELD, or a hold that keeps the guarantee.
 */
export function enforceHoldCeiling(
  alert: PowerOutageAlertFact,
  decision: AlertDecision,
  settings: EngineSettings,
  now: Date,
): AlertDecision | null {
  if (decision.outcome !== 'HELD') return null;
  const ceiling = ceilingAfter(alert, decision, settings).getTime();
  const due = decision.dueAt?.getTime();
  if (due !== undefined && now.getTime() < due && due <= ceiling) return null;
  return {
    ...decision,
    outcome: 'RELEASED',
    reason: 'HOLD_CEILING_ENFORCED',
    decidedAt: now,
    dueAt: null,
    late: false,
  };
}

/** How far the meter's restore times move to compare with the hub's outage start (hub - meter offset). */
function restoreShiftMs(identification: Identification): number {
  return identification.esmeClock === null
    ? 0
    : identification.commsHubClock.offsetMs - identification.esmeClock.offsetMs;
}

/**
 * True when DCC's outcome confirms the candidate: the activation ran, and its execution time,
 * clocks accounted for, puts the outage start in the narrow window.
 */
function confirmedByOutcome(candidate: Candidate, settings: EngineSettings): boolean {
  return (
    activationExecuted(candidate.activation, settings) &&
    candidate.timing === 'EXECUTED' &&
    !candidate.clockUnsure
  );
}

/**
 * DCC's outcome dated the run on a meter clock that is known (its messages bound it closely), and
 * only the hub's clock, which nothing bounds, could put the outage in the window. A meter's answer
 * bounds the meter's clock (and so can settle a window anchored on it), never the hub's.
 */
function unconfirmableClock(candidate: Candidate, settings: EngineSettings): boolean {
  return (
    activationExecuted(candidate.activation, settings) &&
    candidate.timing === 'EXECUTED' &&
    candidate.clockUnsure &&
    isLearned(candidate.clocks.anchor, 2 * settings.skewMinutes * MINUTE_MS) &&
    !isLearned(candidate.clocks.commsHub, 2 * settings.skewMinutes * MINUTE_MS)
  );
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
      restoreShiftMs(identification),
      candidate.timing === 'DEFERRED_RESTORE' ? candidate.timingEvidenceId : null,
      candidate.timing === 'EXECUTED' && candidate.path === 'ESME'
        ? candidate.activation.actualExecutedAt
        : null,
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
  const byOutcome = confirmedByOutcome(candidate, settings);
  if (findings.restoreIds.length > 0) return notWithheld(previous, 'SUPPLY_RESTORED_OVERLAP');
  // A cluster releases, unless the cluster's span holds as many campaign AD1s as others, or DCC's
  // outcome puts this very outage in its meter's narrow window. Even then a feeder fault may have
  // struck seconds after the activation (a storm does): the outcome alone does not confirm, and
  // the meter is asked once its hub should be back; a dark hub's meter cannot answer.
  // A suppression made on DCC's outcome before the cluster formed is released too, unless the
  // meter itself answered: what the engine would not suppress knowing the cluster, it does not keep.
  const cluster = findings.cluster;
  const clusterDoubt = cluster?.found === true && !campaignCluster(cluster);
  const kept = previous !== null && isSuppression(previous.outcome);
  if (clusterDoubt && (!byOutcome || (kept && activationRan !== true)))
    return notWithheld(previous, 'AREA_CLUSTER');
  const activationReason = activationReleaseReason(candidate.activation, settings, activationRan);
  if (activationReason !== null) return notWithheld(previous, activationReason);

  // A suppression, once made, stands until release evidence arrives. The guards below stop
  // *new* suppressions only: a budget that fills up later must not release old ones in bulk.
  if (kept) return null;

  if (facts.alert.distributorId === null) return notWithheld(previous, 'UNROUTED_ALERT');
  if (facts.area === null && settings.requireAreaKey) return notWithheld(previous, 'UNKNOWN_AREA');
  // A spent budget that no evidence could satisfy delivers at once; a spent share that DCC's
  // outcome (or the meter's answer, by setting) may still satisfy waits for that evidence.
  const allows = (evidence: { byOutcome: boolean; confirmed: boolean }): boolean =>
    budgetAllows(findings.budget, evidence, settings);
  if (!allows({ byOutcome: true, confirmed: true })) return notWithheld(previous, 'SAFETY_BUDGET_SPENT');

  // The activation ran and explains the outage: DCC's outcome anchors the narrow window on the
  // actual execution time, or the meter itself reported the new firmware. A meter that reports
  // it but whose run could have been any time since the request (no outcome, nothing showing
  // when it could run) does not date this outage.
  const untimed = candidate.timing === 'OUTCOME_PENDING';
  // DCC's outcome dated the run, and only a hub clock that its messages do not bound (an AD1 that
  // queued on its way says nothing of how fast the hub's clock runs) could put this outage in the
  // narrow window. The meter's answer would say that it ran, which the outcome already says, not
  // when the hub lost power: nothing to come can confirm it, so it goes now.
  if (unconfirmableClock(candidate, settings)) return notWithheld(previous, 'NO_ACTIVATION_WINDOW');
  const outcomeConfirms = byOutcome && !clusterDoubt;
  const confirmed = outcomeConfirms || (activationRan === true && !untimed);
  if (activationRan === true && untimed && !byOutcome) return notWithheld(previous, 'OUTCOME_NOT_RECEIVED');
  const withhold: Verdict = allows({ byOutcome: outcomeConfirms, confirmed })
    ? {
        outcome: facts.deliveryPreference === 'PAIR' ? 'PAIRED' : 'SUPPRESSED',
        reason: 'OTA_INDUCED',
        dueAt: null,
        late: false,
      }
    : notWithheld(previous, 'SAFETY_BUDGET_SPENT');
  const ceiling = effectiveCeiling(facts, settings);

  // The ceiling ends every hold: decide with what is known.
  if (now.getTime() >= ceiling.getTime()) return confirmed ? withhold : notWithheld(previous, 'HOLD_EXPIRED');

  // Until the hub must be back and its messages have crossed the network, the absence of an
  // outcome proves nothing: wait, whatever is already known, so that a restore or a cluster can
  // still release the alert and the decision does not depend on the order facts arrive in.
  const evidenceAt = evidenceDeadline(facts.alert, candidate, settings);
  if (now.getTime() < evidenceAt.getTime()) return held('AWAITING_EVIDENCE', evidenceAt, ceiling);
  if (confirmed) return withhold;
  // Only DCC's outcome could lift the spent share, and it has not come: asking the meter is no use.
  if (!allows({ byOutcome: false, confirmed: true })) return notWithheld(previous, 'SAFETY_BUDGET_SPENT');
  return askTheMeter(verification, previous, ceiling, settings, now);
}

function held(reason: DecisionReason, until: Date, ceiling: Date): Verdict {
  return { outcome: 'HELD', reason, dueAt: earliest(until, ceiling), late: false };
}

/**
 * No outcome although it could have arrived: ask the meter (the service sends the request when it
 * sees AWAITING_VERIFICATION with no request pending). An answer confirms or releases; no answer
 * after every attempt means the meter and its hub are still dark: a genuine outage.
 */
function askTheMeter(
  verification: Findings['verification'],
  previous: AlertDecision | null,
  ceiling: Date,
  settings: EngineSettings,
  now: Date,
): Verdict {
  if (!settings.verification.enabled || verification === null) return notWithheld(previous, 'HOLD_EXPIRED');
  if (verification.skipped) return notWithheld(previous, 'VERIFICATION_BUDGET_SPENT');
  if (verification.pending !== null)
    return held('AWAITING_VERIFICATION', verification.pending.timeoutAt, ceiling);
  if (verification.sent < settings.verification.attempts) {
    const timeoutAt = addMinutes(now, settings.verification.timeoutMinutes);
    // An attempt the ceiling would cut short is not worth a read of the meter: decide now, as the
    // ceiling would (HOLD_EXPIRED), rather than hold again for a fraction of an attempt.
    if (timeoutAt.getTime() > ceiling.getTime()) return notWithheld(previous, 'HOLD_EXPIRED');
    return held('AWAITING_VERIFICATION', timeoutAt, ceiling);
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
        restoreShiftMs(identification),
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

/**
 * Late evidence about an AD1 the DNO already has. It is withdrawn (SUPPRESSED, or PAIRED with a
 * late companion) only when DCC's outcome, arriving after the delivery, puts the outage in its
 * meter's narrow window, or the meter's answer shows a deferred run that nothing else explains;
 * and only as a new suppression would be: no restore, no cluster that DCC's outcome does not
 * override, routed, in budget. Anything less leaves the delivery standing. `null`: no change.
 */
function correction(
  facts: PowerOutageAlertFacts,
  previous: AlertDecision,
  identification: Identification,
  settings: EngineSettings,
  now: Date,
): AlertDecision | null {
  const candidate = identification.candidates.find((c) => !c.rule.shadow);
  if (candidate === undefined) return null;
  const findings = investigate(facts, identification, candidate, settings, now);
  const byOutcome = confirmedByOutcome(candidate, settings);
  const deferredRun =
    findings.verification?.activationRan === true &&
    (candidate.timing === 'DEFERRED_RESTORE' || candidate.timing === 'DEFERRED_OUTAGE');
  if (!byOutcome && !deferredRun) return null;
  if (findings.restoreIds.length > 0) return null;
  // A delivered AD1 in a cluster of others is not withdrawn: only the meter could tell a feeder
  // fault from the cut, and it is not asked about an AD1 already delivered.
  if (findings.cluster?.found && (!byOutcome || !campaignCluster(findings.cluster))) return null;
  if (activationReleaseReason(candidate.activation, settings, findings.verification?.activationRan ?? null))
    return null;
  if (facts.alert.distributorId === null) return null;
  if (facts.area === null && settings.requireAreaKey) return null;
  if (!budgetAllows(findings.budget, { byOutcome, confirmed: true }, settings)) return null;
  const verdict: Verdict = {
    outcome: facts.deliveryPreference === 'PAIR' ? 'PAIRED' : 'SUPPRESSED',
    reason: 'OTA_INDUCED',
    dueAt: null,
    late: false,
  };
  const next = buildDecision(facts, verdict, findings, now, previous.shadow);
  return sameDecision(next, previous) ? null : next;
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

  // Past the correction bound a decision is final: late evidence no longer changes it.
  const open = now.getTime() <= facts.alert.receivedAt.getTime() + settings.correctionHours * HOUR_MS;
  if (previous !== null && previous.outcome !== 'HELD' && !open) {
    return progressShadow(facts, previous, identification, settings, now);
  }
  // Delivered or released: the DNO has it. Only DCC's word withdraws it (see {@link correction}).
  if (previous !== null && !isWithheld(previous.outcome)) {
    return (
      correction(facts, previous, identification, settings, now) ??
      progressShadow(facts, previous, identification, settings, now)
    );
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
