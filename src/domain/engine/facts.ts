/**
 * The facts the decision engine decides on: plain, immutable data that the service layer loads
 * from PostgreSQL (or a backtest loads from history) and hands over in one object. Nothing here
 * has behaviour; the engine never fetches anything itself, so a decision can always be re-run
 * from exactly the facts it was given.
 *
 * Conventions: instants are `Date`s in UTC; device GUIDs, manufacturer and model codes, firmware
 * versions and image hashes are hex text (compared case-insensitively); anything the inventory
 * may not know is `null`, never a placeholder, because "unknown" must fail open.
 */
import type {
  ActivationOutcomeCode,
  ActivationStatus,
  DecisionOutcome,
  DeliveryPreference,
  DeviceType,
  SmiStatus,
} from '../model';
import type { AlertDecision } from './decision';

/** One DCC alert AD1 (`PowerOutageEvent`): the alert being decided. */
export interface PowerOutageAlertFact {
  /** Our id of the stored alert. */
  readonly id: string;
  /** `CommsHubDeviceID`: the CH that lost power. The AD1 never names the ESME. */
  readonly commsHubGuid: string;
  /** `StartDateTime`: outage start by the CH clock. Every window test uses this event time. */
  readonly startAt: Date;
  /** When the DSP received the alert. The hold bound runs from here. */
  readonly receivedAt: Date;
  /** Import MPAN as carried by the alert (possibly with a bad check digit: still decided). */
  readonly mpan: string;
  /** Registered distributor of the MPAN; `null` when the alert could not be routed. */
  readonly distributorId: string | null;
  /** DUIS `ThrottledAlertCount` (1 when not throttled): one message may stand for several. */
  readonly throttledCount: number;
  /** DUIS response id when present (part of the ingest natural key; recorded only). */
  readonly duisResponseId?: string | null;
}

/** A CH-ESME association ("this CH is powered by this ESME") over a half-open time range. */
export interface CommsHubAssociationFact {
  readonly commsHubGuid: string;
  readonly esmeGuid: string;
  /** Inclusive start. */
  readonly effectiveFrom: Date;
  /** Exclusive end; `null` while the association is current. */
  readonly effectiveTo: Date | null;
}

/** One entry of a device's firmware history: the version it ran from `effectiveFrom` on. */
export interface FirmwareVersionFact {
  readonly version: string;
  readonly effectiveFrom: Date;
}

/** What the DSP inventory knows about one device (CH or ESME). */
export interface DeviceFact {
  readonly guid: string;
  readonly type: DeviceType;
  /** 2-octet hex manufacturer id, `null` when the inventory does not know it. */
  readonly manufacturer: string | null;
  /** 4-octet hex model id, `null` when the inventory does not know it. */
  readonly model: string | null;
  /** Versions over time, in any order. Empty when nothing is known. */
  readonly firmwareHistory: readonly FirmwareVersionFact[];
  readonly smiStatus: SmiStatus | null;
  /** Area key used for outage clustering (feeder, substation, postcode sector). */
  readonly areaKey: string | null;
}

/** An affected-firmware rule: which device models/versions cut CH power when activated. */
export interface AffectedFirmwareRuleFact {
  readonly id: string;
  /** Bumped on every change; recorded with each decision so the ledger names the exact rule. */
  readonly version: number;
  /** `ESME` for meter activations; `CHF` for a Communications Hub's own firmware activation. */
  readonly deviceType: 'ESME' | 'CHF';
  readonly manufacturer: string;
  readonly model: string;
  /** Firmware versions that, when activated *from*, cut the CH's power. */
  readonly affectedFirmwareVersions: readonly string[];
  /** When set, the activation's target version must be known and equal. */
  readonly targetFirmwareVersion?: string | null;
  /** When set, the activation's image hash must be known and equal. */
  readonly targetImageHash?: string | null;
  /** Rule-specific window length; `null` uses the engine setting. */
  readonly windowMinutes?: number | null;
  /** Rule-specific skew tolerance; `null` uses the engine setting. */
  readonly skewMinutes?: number | null;
  /**
   * Longest Communications Hub power cut an activation under this rule can cause (the model and
   * image decide it: 3-15 min observed); `null` uses the engine setting.
   */
  readonly maxCommsHubOffMinutes?: number | null;
  /** Window after a known actual execution time; `null` uses the engine setting. */
  readonly executedWindowMinutes?: number | null;
  /** Disabled rules are ignored entirely. */
  readonly enabled: boolean;
  /** Shadow rules decide and record but never withhold. */
  readonly shadow: boolean;
}

/** One SR11.3 Activate Firmware request (or a CH firmware activation) and what became of it. */
export interface FirmwareActivationFact {
  readonly id: string;
  /** DUIS request id `EUI64:EUI64:counter` (counter is uint64, hence text). */
  readonly requestId: string;
  /** The ESME (or CH) being activated. */
  readonly deviceGuid: string;
  readonly status: ActivationStatus;
  /** Requested `ExecutionDateTime`, or the submission time for an immediate activation. */
  readonly requestedAt: Date;
  /** Actual execution time from the immediate response or 0x8F66/0x8F67; `null` until known. */
  readonly actualExecutedAt: Date | null;
  readonly outcomeCode: ActivationOutcomeCode | null;
  /** 32-byte `FirmwareHash` as hex; `null` when not recorded. */
  readonly imageHash: string | null;
  readonly targetFirmwareVersion?: string | null;
  /** Version the device ran when the activation was requested, if the lifecycle recorded it. */
  readonly firmwareVersionBefore?: string | null;
  /**
   * True for an activation to run at once (no ExecutionDateTime): its requested time is the
   * submission, a DCC time; a future-dated one runs when the device's own clock reaches it.
   */
  readonly immediate?: boolean;
  /** When the request reached the service. */
  readonly submittedAt?: Date | null;
  /** When the outcome arrived, if it has: with `actualExecutedAt` it bounds the meter's clock. */
  readonly outcomeReceivedAt?: Date | null;
}

/** GBCS supply-restored device alert codes (0x8F35, 0x8F36; per phase 0x8F37-0x8F3C), as hex text. */
export const SUPPLY_RESTORED_ALERT_CODES = [
  '8F35',
  '8F36',
  '8F37',
  '8F38',
  '8F39',
  '8F3A',
  '8F3B',
  '8F3C',
] as const;
/** One of {@link SUPPLY_RESTORED_ALERT_CODES}. */
export type SupplyRestoredAlertCode = (typeof SUPPLY_RESTORED_ALERT_CODES)[number];

/** A Supply Outage Restored alert from an ESME: the meter measured a real loss of mains. */
export interface SupplyRestoredAlertFact {
  readonly id: string;
  /** The ESME that raised it. Alerts from any other device are ignored by the engine. */
  readonly esmeGuid: string;
  readonly alertCode: SupplyRestoredAlertCode;
  /** `interruptionValue`: when the meter lost supply (meter clock). */
  readonly interruptionAt: Date;
  /** `restorationValue`: when supply came back (meter clock). */
  readonly restorationAt: Date;
  readonly receivedAt: Date;
}

/** Another AD1 in the same area near the outage start, as the service found it. */
export interface NeighbourOutageAlertFact {
  readonly alertId: string;
  /** Its CH, when known: AD1s from the alert's own CH never count towards a cluster. */
  readonly commsHubGuid?: string | null;
  readonly startAt: Date;
  /** Its `ThrottledAlertCount`: a throttled message weighs as many alerts as it stands for. */
  readonly throttledCount: number;
  /** True when that device was itself inside an activation window (computed by the service). */
  readonly inActivationWindow: boolean;
  /** Its current outcome, when known: a neighbour withheld as OTA-induced is no feeder fault. */
  readonly outcome?: DecisionOutcome | null;
}

/** Counters of one safety-budget scope (a DNO or an area) over the budget window. */
export interface SafetyBudgetCounters {
  /** AD1s withheld (SUPPRESSED or PAIRED, not since released) in the window, excluding this one. */
  readonly suppressions: number;
  /** AD1s received in the window for the scope, including this one. */
  readonly alerts: number;
}

/** The outage area of the alert: its key, the neighbouring AD1s and the area's budget counters. */
export interface OutageAreaFacts {
  /** The area key the service used (of the CH, or of the ESME when the CH has none). */
  readonly key: string;
  /** AD1s in this area whose start lies near the alert's start (at least +/- cluster minutes). */
  readonly neighbourAlerts: readonly NeighbourOutageAlertFact[];
  readonly budget: SafetyBudgetCounters;
}

/** Status of one verification request (SR 11.2 Read Firmware Version sent to an ESME). */
export type VerificationStatus = 'PENDING' | 'ANSWERED' | 'TIMED_OUT' | 'SKIPPED';

/**
 * A verification request to an ESME and its answer, if any. An answer means the ESME, and the
 * hub it powers, had power when it answered; its firmware version shows whether the activation ran.
 */
export interface VerificationFact {
  readonly id: string;
  /** The device asked: the ESME (or the CH, for a CH's own activation). */
  readonly deviceGuid: string;
  /** When the request was made (SKIPPED: when it would have been, had the budget allowed). */
  readonly requestedAt: Date;
  /** No answer by then counts as no answer. */
  readonly timeoutAt: Date;
  readonly status: VerificationStatus;
  /** When the meter answered (its response's time); `null` while unanswered. */
  readonly answeredAt: Date | null;
  /** The version the meter reported; `null` when unanswered or not reported. */
  readonly firmwareVersion: string | null;
  /** When the answer arrived; with `requestedAt` and `answeredAt` it bounds the meter's clock. */
  readonly answerReceivedAt?: Date | null;
}

/** Another AD1 of the same hub (earlier or later), as stored. */
export interface CommsHubAlertFact {
  readonly id: string;
  /** Outage start by the hub clock. */
  readonly startAt: Date;
  readonly receivedAt: Date;
  /** Its current decision outcome, `null` before its first decision. */
  readonly outcome: DecisionOutcome | null;
}

/** Everything the engine needs to decide one AD1. */
export interface PowerOutageAlertFacts {
  readonly alert: PowerOutageAlertFact;
  /** Inventory facts for the CH and for every ESME it was associated with (one per GUID). */
  readonly devices: readonly DeviceFact[];
  /** The CH's association history (any order). */
  readonly associations: readonly CommsHubAssociationFact[];
  /** Affected-firmware rules (all of them; the engine filters enabled and matching ones). */
  readonly rules: readonly AffectedFirmwareRuleFact[];
  /** Activations of the associated ESMEs and of the CH itself. */
  readonly activations: readonly FirmwareActivationFact[];
  /** Supply-restored alerts from the associated ESMEs known so far. */
  readonly supplyRestoredAlerts: readonly SupplyRestoredAlertFact[];
  /**
   * The hub's other AD1s around this one (the days before it and after): they bound the hub's
   * clock, and one whose outage was under way at an activation's requested time means the
   * meter had no mains then and runs the activation when supply returns.
   */
  readonly commsHubAlerts?: readonly CommsHubAlertFact[];
  /** Verification requests to the associated ESMEs and to the CH (any order; the engine filters). */
  readonly verifications: readonly VerificationFact[];
  /** The outage area; `null` when neither device has an area key. */
  readonly area: OutageAreaFacts | null;
  /** Safety-budget counters of the alert's DNO (ignored when the alert is unrouted). */
  readonly dnoBudget: SafetyBudgetCounters;
  /** The DNO's delivery preference: PAIR makes OTA-induced alerts PAIRED instead of SUPPRESSED. */
  readonly deliveryPreference: DeliveryPreference;
  /** The latest decision already recorded for this AD1, when re-evaluating. */
  readonly previousDecision: AlertDecision | null;
}
