import type { DnoMessageKind } from '../../domain/delivery';
import type { DecisionOutcome, DeliveryPreference } from '../../domain/model';
import type { AlertEntity } from '../../entities';
import type { SharedEvent } from '../../realtime/shared-events';
import type { DecisionChange } from '../shared/decision-change';
import type { AlertNow } from './current-alerts';

/** The message as stored in the outbox and sent to the DNO: everything it needs, pre-shaped. */
export interface DnoMessagePayload {
  readonly alert: {
    id: string;
    kind: 'AD1' | 'SUPPLY_RESTORED';
    alertCode: string;
    deviceGuid: string;
    mpan: string | null;
    mpanCheckDigitValid: boolean;
    distributorId: string | null;
    unroutedReason: string | null;
    areaKey: string | null;
    eventAt: string;
    restoredAt: string | null;
    throttledCount: number;
    duisResponseId: string | null;
    receivedAt: string;
    pairedAlertId: string | null;
    /** How it was routed (absent from messages written before 2026-12-07). */
    routedBy?: string | null;
  };
  readonly decision: {
    revision: number;
    outcome: DecisionOutcome;
    reasonCode: string;
    late: boolean;
    decidedAt: string;
  };
  /** The AD1 this message pairs with (OTA_INDUCED: the AD1 itself; SUPPLY_RESTORED: its outage alert). */
  readonly pairedAlertId: string | null;
  /** OTA_INDUCED (and ANNOTATE classification): what made the AD1 OTA-induced. */
  readonly otaInduced: {
    /** The activated device, which decides who reads the rest (absent before 2026-12-08). */
    deviceGuid?: string | null;
    activationId: string | null;
    activationRequestId: string | null;
    actualExecutedAt: string | null;
    manufacturer: string | null;
    model: string | null;
    firmwareBefore: string | null;
    firmwareAfter: string | null;
    ruleId: string | null;
    ruleVersion: number | null;
    windowFrom: string | null;
    windowTo: string | null;
  } | null;
  // No `evidence`: the decision's evidence is in the ledger (explainAlert) and no DNO field shows
  // it, yet it was 60% of a message's bytes (1,489 -> 582 on average), all written under the
  // DNO's sequence lock. Messages stored before still carry it; nothing reads it.
  /**
   * W3C traceparent of the message's `poa.dno.publish` span, when tracing was on: each delivery
   * of it is traced under it and hands its own on in the result's `extensions.traceparent`.
   */
  readonly traceParent?: string;
}

export interface DnoMessage {
  readonly distributorId: string;
  readonly sequence: string;
  readonly kind: DnoMessageKind;
  readonly createdAt: Date;
  readonly payload: DnoMessagePayload;
}

/**
 * What a DNO's stream hands to each subscriber: a message and its alerts as they are now. Events
 * of one message showing the same reads of its alerts share their execution (SharedEvent):
 * every subscriber of the DNO with the same selection and rights gets one result.
 */
export interface DnoEvent extends SharedEvent {
  readonly message: DnoMessage;
  /**
   * The message's alert and the one it pairs with, as the `alert(id)` query returns them now
   * (null: no longer on record); undefined when the database could not be read, and the message
   * goes out as it was written.
   */
  readonly now?: ReadonlyMap<string, AlertNow | null>;
}

/** What a transaction enqueued: handed to `published` once it has committed. */
export interface Enqueued {
  /** The newest sequence each DNO got: what to wake subscribers with. */
  readonly sequences: ReadonlyMap<string, string>;
  /** The decision changes committed with it (for metrics). */
  readonly changes: readonly DecisionChange[];
}

export const NOTHING_ENQUEUED: Enqueued = { sequences: new Map(), changes: [] };

export interface DeliveryStatus {
  readonly distributorId: string;
  readonly newestSequence: string;
  readonly acknowledgedSequence: string;
  readonly lag: string;
  readonly preference: DeliveryPreference;
  /** When the DNO's consumer last acknowledged (even a position it had passed), or null when it never has. */
  readonly acknowledgedAt: Date | null;
  /** Seconds from acknowledgedAt to now on the service clock, or null when it never acknowledged. */
  readonly secondsSinceAcknowledgement: number | null;
}

/**
 * The alert as it was when the message was written: its row's fields that the API shows, and the
 * decision the message was sent on. Null for messages written before they carried `routedBy`.
 */
export function alertAsWritten(p: DnoMessagePayload): AlertEntity | null {
  if (p.alert.routedBy === undefined) return null;
  return alertOfPayload(p);
}

/** The alert of a message's payload, with whatever fields it carries (`routedBy` may be missing). */
export function alertOfPayload(p: DnoMessagePayload): AlertEntity {
  return {
    ...p.alert,
    routedBy: p.alert.routedBy ?? null,
    naturalKey: '',
    eventAt: new Date(p.alert.eventAt),
    restoredAt: p.alert.restoredAt ? new Date(p.alert.restoredAt) : null,
    receivedAt: new Date(p.alert.receivedAt),
    throttledSequenceId: null,
    ingestedBy: '',
    inActivationWindow: false,
    outcome: p.decision.outcome,
    reason: p.decision.reasonCode,
    revision: p.decision.revision,
    dueAt: null,
  } as AlertEntity;
}
