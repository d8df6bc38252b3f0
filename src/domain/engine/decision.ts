/**
 * What the engine produces for one AD1: the decision, its stable reason code and the evidence
 * it used, plus helpers the service needs around it (has it changed? when is it due again?).
 */
import type {
  ActivationOutcomeCode,
  ActivationStatus,
  DecisionOutcome,
  DeliveryPreference,
  DeviceType,
} from '../model';
import type { SuppressionWindow } from '../suppression-window';

/**
 * Stable reason codes. Clients and the ledger branch on these; never rename one, only add.
 * Grouped by the outcomes they normally come with (docs/ENGINE.md has the full table):
 * - not a candidate, delivered (or released when it had been withheld): the first eleven;
 * - `AWAITING_EVIDENCE` (HELD), `OTA_INDUCED` (SUPPRESSED / PAIRED);
 * - release evidence: the rest, up to `SAFETY_BUDGET_SPENT`;
 * - active verification: `AWAITING_VERIFICATION` (HELD) and the three ways it releases;
 * - `HOLD_CEILING_ENFORCED` (RELEASED): the service's last resort, never the engine's own verdict
 *   (see enforceHoldCeiling in decide.ts).
 */
export const DECISION_REASONS = [
  'UNKNOWN_DEVICE',
  'NO_COMMS_HUB_LINK',
  'AMBIGUOUS_COMMS_HUB_LINK',
  'UNKNOWN_MODEL',
  'NO_MATCHING_RULE',
  'NO_ACTIVATION_WINDOW',
  'UNKNOWN_FIRMWARE_VERSION',
  'FIRMWARE_NOT_AFFECTED',
  'UNROUTED_ALERT',
  'UNKNOWN_AREA',
  'SHADOW_RULE',
  'AWAITING_EVIDENCE',
  'OTA_INDUCED',
  'SUPPLY_RESTORED_OVERLAP',
  'AREA_CLUSTER',
  'ACTIVATION_FAILED',
  'ACTIVATION_CANCELLED',
  'ACTIVATION_SUPERSEDED',
  'OUTCOME_NOT_RECEIVED',
  'HOLD_EXPIRED',
  'SAFETY_BUDGET_SPENT',
  'AWAITING_VERIFICATION',
  'VERIFICATION_UNANSWERED',
  'VERIFICATION_NOT_ACTIVATED',
  'VERIFICATION_BUDGET_SPENT',
  'HOLD_CEILING_ENFORCED',
] as const;
/** One of {@link DECISION_REASONS}. */
export type DecisionReason = (typeof DECISION_REASONS)[number];

/** How far one identification path (via the ESME, or via the CH's own activation) got. */
export type PathOutcome = 'CANDIDATE' | 'NOT_APPLICABLE' | DecisionReason;

/** A device as the decision saw it. */
export interface DeviceEvidence {
  readonly guid: string;
  readonly type: DeviceType;
  readonly manufacturer: string | null;
  readonly model: string | null;
  readonly smiStatus: string | null;
  readonly areaKey: string | null;
}

/** The activation whose window the decision used. */
export interface ActivationEvidence {
  readonly id: string;
  readonly requestId: string;
  readonly deviceGuid: string;
  readonly status: ActivationStatus;
  readonly outcomeCode: ActivationOutcomeCode | null;
  readonly requestedAt: string;
  readonly actualExecutedAt: string | null;
  readonly imageHash: string | null;
  readonly targetFirmwareVersion: string | null;
}

/** The firmware the device ran before the activation, and where that came from. */
export interface FirmwareEvidence {
  readonly versionBefore: string;
  readonly source: 'ACTIVATION' | 'INVENTORY_HISTORY';
}

/** A device clock as a decision judged it (offset = device time - true time), in seconds. */
export interface ClockEvidence {
  readonly deviceGuid: string;
  /** The correction applied. */
  readonly offsetSeconds: number;
  /** What the device's own messages allow; `null` for a side they say nothing about. */
  readonly lowSeconds: number | null;
  readonly highSeconds: number | null;
  /** How many of its messages bounded it (0: the skew allowance stood in). */
  readonly samples: number;
}

/**
 * The window, as ISO text, with the bounds it was built from. `from` and `to` are in the hub's
 * clock: the window as anchored, widened by what the clocks' messages show of their offsets.
 */
export interface WindowEvidence {
  readonly from: string;
  readonly to: string;
  readonly anchor: string;
  readonly anchoredOnActual: boolean;
  readonly windowMinutes: number;
  readonly skewMinutes: number;
  /** How it is anchored: EXECUTED, REQUESTED, or where a deferred run falls (docs/ENGINE.md). */
  readonly timing?: string;
  /** The fact that placed a deferred window: a restore, an AD1 of the hub, or a read. */
  readonly timingEvidenceId?: string | null;
  /** True when only an unknown clock offset puts the outage start inside: the meter is asked. */
  readonly clockUnsure?: boolean;
  /** The two clocks: the hub's, and the anchor's (the meter's, or DCC's for its own times). */
  readonly clocks?: {
    readonly commsHub: ClockEvidence;
    readonly anchor: ClockEvidence;
    /** Correction applied to the anchor (hub offset - anchor offset). */
    readonly shiftSeconds: number;
  };
}

/**
 * When evidence about a candidate could exist, and what asking the meter found. Nothing from the
 * premises can travel while its hub is dark, so the hold lasts until the hub must be back and a
 * message has crossed the network (`evidenceAt`), then at most the verification timeouts, and
 * never past `ceilingAt`.
 */
export interface TimelineEvidence {
  /** The rule's longest hub power cut, minutes. */
  readonly maxCommsHubOffMinutes: number;
  /** Outage start + skew + longest cut: the hub has power again by then if the cut was OTA. */
  readonly hubBackBy: string;
  /** `hubBackBy` + transit: an outcome sent when the hub came back has arrived by then. */
  readonly evidenceAt: string;
  /** receivedAt + the hold ceiling: no hold lasts longer. */
  readonly ceilingAt: string;
  readonly verification: VerificationEvidence;
}

/** The verification requests made for this outage and what their answer showed. */
export interface VerificationEvidence {
  /** The device asked (the ESME, or the CH for a CH's own activation). */
  readonly deviceGuid: string;
  readonly attempts: number;
  readonly requests: readonly {
    readonly id: string;
    readonly requestedAt: string;
    readonly timeoutAt: string;
    readonly status: string;
    readonly answeredAt: string | null;
    readonly firmwareVersion: string | null;
  }[];
  /**
   * What the answer says of the activation: true when the meter runs the target version (or any
   * version other than the one before), false when it still runs the version before it, `null`
   * when there is no usable answer.
   */
  readonly activationRan: boolean | null;
}

/** The area-cluster test: the heaviest T-minute span around the outage start. */
export interface ClusterEvidence {
  readonly areaKey: string;
  /** Qualifying neighbour AD1s (not in a window) in the heaviest span, sorted. */
  readonly alertIds: readonly string[];
  /** Their weight, throttled counts included. */
  readonly weight: number;
  readonly size: number;
  readonly minutes: number;
  readonly found: boolean;
  /**
   * Weight of the AD1s in the same span that lie in activation windows themselves. A cluster
   * made mostly of them looks like a campaign, not a feeder fault: it is not released blindly.
   */
  readonly campaignWeight?: number;
}

/** One safety-budget scope at decision time. */
export interface BudgetScopeEvidence {
  readonly suppressions: number;
  readonly alerts: number;
  readonly maxSuppressions: number;
  readonly maxShare: number;
  readonly minSample: number;
  /** Why the scope is spent, or `null` when it still allows this suppression. */
  readonly spent: 'COUNT' | 'SHARE' | null;
}

/** Both budget scopes (area is `null` when the alert has no area). */
export interface BudgetEvidence {
  readonly windowMinutes: number;
  readonly dno: BudgetScopeEvidence | null;
  readonly area: BudgetScopeEvidence | null;
}

/**
 * The facts a decision used, JSON-serialisable (instants as ISO text) so the ledger can store it
 * as is and a reader never has to guess why.
 */
export interface DecisionEvidence {
  readonly alert: {
    readonly id: string;
    readonly commsHubGuid: string;
    readonly mpan: string;
    readonly distributorId: string | null;
    readonly startAt: string;
    readonly receivedAt: string;
    readonly throttledCount: number;
  };
  readonly commsHub: DeviceEvidence | null;
  /** The CH-ESME association valid at the outage start, if exactly one was. */
  readonly association: {
    readonly esmeGuid: string;
    readonly effectiveFrom: string;
    readonly effectiveTo: string | null;
  } | null;
  readonly esme: DeviceEvidence | null;
  readonly paths: { readonly esme: PathOutcome; readonly commsHub: PathOutcome };
  readonly rule: {
    readonly id: string;
    readonly version: number;
    readonly deviceType: 'ESME' | 'CHF';
    readonly shadow: boolean;
  } | null;
  readonly activation: ActivationEvidence | null;
  readonly firmware: FirmwareEvidence | null;
  readonly window: WindowEvidence | null;
  /** Ids of supply-restored alerts from the ESME overlapping the outage, sorted. */
  readonly supplyRestoredAlertIds: readonly string[];
  readonly cluster: ClusterEvidence | null;
  readonly budget: BudgetEvidence | null;
  /** Candidates only: the hold's timeline and the verification of the meter. */
  readonly timeline: TimelineEvidence | null;
  readonly deliveryPreference: DeliveryPreference;
}

/** The decision on one AD1. */
export interface AlertDecision {
  readonly alertId: string;
  readonly outcome: DecisionOutcome;
  readonly reason: DecisionReason;
  /** The `now` of the evaluation that produced this decision. */
  readonly decidedAt: Date;
  /** HELD only: the latest time it must be decided again (never after receivedAt + hold ceiling). */
  readonly dueAt: Date | null;
  /** True for a RELEASED that follows a SUPPRESSED or PAIRED: the DNO gets the alert late. */
  readonly late: boolean;
  readonly ruleId: string | null;
  readonly ruleVersion: number | null;
  readonly activationId: string | null;
  readonly window: SuppressionWindow | null;
  readonly evidence: DecisionEvidence;
  /**
   * Shadow rules only: what the rule would have decided had it been enforced (its own `shadow`
   * is always `null`). The top-level outcome is then never a withholding one.
   */
  readonly shadow: AlertDecision | null;
}

/** True for outcomes that keep the AD1 from being sent as an ordinary outage alert. */
export function isWithheld(outcome: DecisionOutcome): boolean {
  return outcome === 'HELD' || outcome === 'SUPPRESSED' || outcome === 'PAIRED';
}

/**
 * When the service must evaluate this AD1 again even if no new fact arrives: the due time of a
 * HELD decision, or of a shadow rule's HELD would-be decision; otherwise `null` (later changes
 * are driven by new facts only).
 */
export function nextEvaluationAt(decision: AlertDecision): Date | null {
  if (decision.outcome === 'HELD') return decision.dueAt;
  if (decision.shadow?.outcome === 'HELD') return decision.shadow.dueAt;
  return null;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a instanceof Date || b instanceof Date) {
    return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => deepEqual(v, b[i]))
    );
  }
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    // Key order may differ when a decision is rebuilt from the database, so compare by key set.
    const ra = a as Record<string, unknown>;
    const rb = b as Record<string, unknown>;
    const keys = new Set([...Object.keys(ra), ...Object.keys(rb)]);
    return [...keys].every((k) => deepEqual(ra[k], rb[k]));
  }
  return a === b;
}

/**
 * True when two decisions say the same thing (everything but `decidedAt`). The service appends
 * a ledger entry only when the new decision differs from the last one.
 */
export function sameDecision(a: AlertDecision, b: AlertDecision): boolean {
  const { decidedAt: _a, shadow: shadowA, ...restA } = a;
  const { decidedAt: _b, shadow: shadowB, ...restB } = b;
  if (!deepEqual(restA, restB)) return false;
  if (shadowA === null || shadowB === null) return shadowA === shadowB;
  return sameDecision(shadowA, shadowB);
}
