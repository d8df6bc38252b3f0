/**
 * A decision as the ledger records it: the verdict, and the evidence it rests on, in JSON-ready
 * form (instants as ISO text) so that a reader never has to guess why.
 */
import type { DecisionOutcome } from '../model';
import type { Candidate, Identification, NearMiss } from './candidate';
import type { ClockEstimate } from './clocks';
import type {
  AlertDecision,
  BudgetEvidence,
  ClockEvidence,
  ClusterEvidence,
  DecisionEvidence,
  DecisionReason,
  DeviceEvidence,
  TimelineEvidence,
} from './decision';
import type { VerificationState } from './evidence';
import type { DeviceFact, PowerOutageAlertFacts } from './facts';
import { iso, isoOrNull } from './time';

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

function clockEvidence(clock: ClockEstimate): ClockEvidence {
  const seconds = (ms: number | null) => (ms === null ? null : Math.round(ms / 1000));
  return {
    deviceGuid: clock.deviceGuid,
    offsetSeconds: Math.round(clock.offsetMs / 1000),
    lowSeconds: seconds(clock.lowMs),
    highSeconds: seconds(clock.highMs),
    samples: clock.samples,
  };
}

export interface Verdict {
  readonly outcome: DecisionOutcome;
  readonly reason: DecisionReason;
  readonly dueAt: Date | null;
  readonly late: boolean;
}

export interface Findings {
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

export function buildDecision(
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
            ...('timing' in used
              ? {
                  timing: used.timing,
                  timingEvidenceId: used.timingEvidenceId,
                  clockUnsure: used.clockUnsure,
                  clocks: {
                    commsHub: clockEvidence(used.clocks.commsHub),
                    anchor: clockEvidence(used.clocks.anchor),
                    shiftSeconds: Math.round(used.clocks.shiftMs / 1000),
                  },
                }
              : {}),
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
