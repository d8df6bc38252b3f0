/**
 * The lifecycle of one SR11.3 Activate Firmware request as a pure state machine: scheduling rules,
 * the transitions driven by cancel, supersede, outcome and expiry events, and the suppression
 * window each state implies. Every transition returns a new state and never mutates its input.
 */
import { ConflictError, InvalidInputError } from './errors';
import { compareRequestCounters, isCancellationSentinel } from './identifiers';
import { ACTIVATION_OUTCOME_CODES } from './model';
import type { ActivationOutcomeCode, ActivationStatus } from './model';
import { suppressionWindow } from './suppression-window';
import type { SuppressionWindow, WindowSettings } from './suppression-window';

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;

/** The default limit on how far ahead an activation may be future-dated (a setting, not a DUIS rule). */
export const DEFAULT_HORIZON_DAYS = 30;

/** Statuses a late outcome may replace: the activation was written off, but the device still reported. */
export type LateOutcomeStatus = 'CANCELLED' | 'SUPERSEDED' | 'OUTCOME_UNKNOWN';

/** What the domain knows about one activation. Services persist it; transitions derive new ones. */
export interface ActivationState {
  readonly status: ActivationStatus;
  /** When the SR11.3 was submitted. */
  readonly submittedAt: Date;
  /** The requested ExecutionDateTime, or null for an immediate activation. */
  readonly executeAt: Date | null;
  /** When the activation was asked to happen: executeAt, or submittedAt for an immediate one. */
  readonly requestedAt: Date;
  /** When the device reports it executed (immediate response or 0x8F66/0x8F67). */
  readonly actualExecutedAt: Date | null;
  readonly outcomeCode: ActivationOutcomeCode | null;
  /** The firmware version the device reported with its outcome. */
  readonly resultingFirmwareVersion: string | null;
  /** The firmware version the ESME ran before the activation (what affected-firmware rules match). */
  readonly firmwareVersionBefore: string | null;
  /** When a late outcome replaced CANCELLED, SUPERSEDED or OUTCOME_UNKNOWN, the status it replaced. */
  readonly overriddenStatus: LateOutcomeStatus | null;
}

// ---------------------------------------------------------------------------------------------
// Scheduling

/** Limits on ExecutionDateTime. */
export interface ScheduleSettings {
  /** How many days ahead an activation may be dated; default DEFAULT_HORIZON_DAYS. */
  readonly horizonDays?: number;
  /** Clock-skew tolerance: an executeAt this far in the past still counts as "now". */
  readonly skewMinutes: number;
}

export interface ScheduleRequest {
  readonly submittedAt: Date;
  /** Omitted or null for an immediate activation. */
  readonly executeAt?: Date | null;
  readonly now: Date;
  readonly settings: ScheduleSettings;
}

/** A schedule that passed validateSchedule, ready for newActivation. */
export interface ValidSchedule {
  readonly submittedAt: Date;
  readonly executeAt: Date | null;
  readonly requestedAt: Date;
}

/**
 * Check a requested ExecutionDateTime against `now`: not in the past beyond the skew tolerance,
 * not beyond the horizon (both bounds inclusive), and not the year-3000 cancellation sentinel,
 * which callers must route to cancel instead.
 */
export function validateSchedule(request: ScheduleRequest): ValidSchedule {
  const { submittedAt, now, settings } = request;
  const executeAt = request.executeAt ?? null;
  if (executeAt === null) return { submittedAt, executeAt: null, requestedAt: submittedAt };
  if (Number.isNaN(executeAt.getTime())) {
    throw new InvalidInputError('INVALID_DATETIME', 'executeAt is not a valid date-time', 'executeAt');
  }
  if (isCancellationSentinel(executeAt)) {
    throw new InvalidInputError(
      'EXECUTE_AT_IS_CANCELLATION',
      'executeAt 3000-12-31T00:00:00Z means "cancel"; use the cancel operation instead',
      'executeAt',
    );
  }
  const t = executeAt.getTime();
  if (t < now.getTime() - settings.skewMinutes * MINUTE_MS) {
    throw new InvalidInputError('EXECUTE_AT_IN_PAST', 'executeAt is in the past', 'executeAt', {
      now: now.toISOString(),
    });
  }
  const horizonDays = settings.horizonDays ?? DEFAULT_HORIZON_DAYS;
  if (t > now.getTime() + horizonDays * DAY_MS) {
    throw new InvalidInputError(
      'EXECUTE_AT_BEYOND_HORIZON',
      `executeAt is more than ${horizonDays} days ahead`,
      'executeAt',
      { horizonDays },
    );
  }
  return { submittedAt, executeAt, requestedAt: executeAt };
}

/** A new SCHEDULED activation for a validated schedule. */
export function newActivation(
  schedule: ValidSchedule,
  firmwareVersionBefore: string | null = null,
): ActivationState {
  return {
    status: 'SCHEDULED',
    submittedAt: schedule.submittedAt,
    executeAt: schedule.executeAt,
    requestedAt: schedule.requestedAt,
    actualExecutedAt: null,
    outcomeCode: null,
    resultingFirmwareVersion: null,
    firmwareVersionBefore,
    overriddenStatus: null,
  };
}

// ---------------------------------------------------------------------------------------------
// Events and the transition table

/** An outcome from an immediate SR11.3 response or a 0x8F66/0x8F67 alert. */
export interface ActivationOutcome {
  readonly code: ActivationOutcomeCode;
  /** When the device says it executed (or tried to). */
  readonly executedAt: Date;
  readonly firmwareVersion?: string | null;
}

export type ActivationEvent =
  | { readonly kind: 'CANCEL' }
  | { readonly kind: 'SUPERSEDE' }
  | { readonly kind: 'OUTCOME'; readonly outcome: ActivationOutcome }
  | { readonly kind: 'EXPIRE'; readonly now: Date; readonly outcomeBoundMinutes: number };

/** The columns of the transition table: outcomes split by whether the activation succeeded. */
export const ACTIVATION_EVENT_KINDS = [
  'CANCEL',
  'SUPERSEDE',
  'OUTCOME_SUCCESS',
  'OUTCOME_FAILURE',
  'EXPIRE',
] as const;
export type ActivationEventKind = (typeof ACTIVATION_EVENT_KINDS)[number];

/**
 * What an event does in a status. MOVE changes status; KEEP leaves the state untouched (a no-op,
 * which makes redelivered events harmless); RECONCILE compares an outcome with the recorded one;
 * REJECT throws a ConflictError with `reason`.
 */
export type TransitionRule =
  | { readonly action: 'MOVE'; readonly to: ActivationStatus }
  | { readonly action: 'KEEP' }
  | { readonly action: 'RECONCILE' }
  | { readonly action: 'REJECT'; readonly reason: string };

const move = (to: ActivationStatus): TransitionRule => ({ action: 'MOVE', to });
const KEEP: TransitionRule = { action: 'KEEP' };
const RECONCILE: TransitionRule = { action: 'RECONCILE' };
const NOT_PENDING: TransitionRule = { action: 'REJECT', reason: 'ACTIVATION_NOT_PENDING' };

/**
 * Every status x event. Choices the sources leave open:
 * - Cancelling a CANCELLED activation is a no-op so a retried cancel is safe; cancelling anything
 *   else that is no longer SCHEDULED is a conflict.
 * - Supersession only touches SCHEDULED activations; for others it changes nothing.
 * - A late outcome over CANCELLED, SUPERSEDED or OUTCOME_UNKNOWN is recorded (overriddenStatus keeps
 *   what it replaced): the device reports what it actually did, and only a real execution time can
 *   tell whether an AD1 was OTA-induced.
 * - EXPIRE moves SCHEDULED to OUTCOME_UNKNOWN only once the outcome bound has passed.
 */
export const ACTIVATION_TRANSITIONS: Readonly<
  Record<ActivationStatus, Readonly<Record<ActivationEventKind, TransitionRule>>>
> = {
  SCHEDULED: {
    CANCEL: move('CANCELLED'),
    SUPERSEDE: move('SUPERSEDED'),
    OUTCOME_SUCCESS: move('SUCCEEDED'),
    OUTCOME_FAILURE: move('FAILED'),
    EXPIRE: move('OUTCOME_UNKNOWN'),
  },
  SUCCEEDED: {
    CANCEL: NOT_PENDING,
    SUPERSEDE: KEEP,
    OUTCOME_SUCCESS: RECONCILE,
    OUTCOME_FAILURE: RECONCILE,
    EXPIRE: KEEP,
  },
  FAILED: {
    CANCEL: NOT_PENDING,
    SUPERSEDE: KEEP,
    OUTCOME_SUCCESS: RECONCILE,
    OUTCOME_FAILURE: RECONCILE,
    EXPIRE: KEEP,
  },
  CANCELLED: {
    CANCEL: KEEP,
    SUPERSEDE: KEEP,
    OUTCOME_SUCCESS: move('SUCCEEDED'),
    OUTCOME_FAILURE: move('FAILED'),
    EXPIRE: KEEP,
  },
  SUPERSEDED: {
    CANCEL: NOT_PENDING,
    SUPERSEDE: KEEP,
    OUTCOME_SUCCESS: move('SUCCEEDED'),
    OUTCOME_FAILURE: move('FAILED'),
    EXPIRE: KEEP,
  },
  OUTCOME_UNKNOWN: {
    CANCEL: NOT_PENDING,
    SUPERSEDE: KEEP,
    OUTCOME_SUCCESS: move('SUCCEEDED'),
    OUTCOME_FAILURE: move('FAILED'),
    EXPIRE: KEEP,
  },
};

/** The table column an event falls in. */
export function eventKindOf(event: ActivationEvent): ActivationEventKind {
  if (event.kind !== 'OUTCOME') return event.kind;
  return event.outcome.code === 'success' ? 'OUTCOME_SUCCESS' : 'OUTCOME_FAILURE';
}

function isOutcomeDue(state: ActivationState, now: Date, outcomeBoundMinutes: number): boolean {
  return state.requestedAt.getTime() + outcomeBoundMinutes * MINUTE_MS < now.getTime();
}

function checkOutcome(outcome: ActivationOutcome): void {
  if (!(ACTIVATION_OUTCOME_CODES as readonly string[]).includes(outcome.code)) {
    throw new InvalidInputError(
      'INVALID_OUTCOME_CODE',
      `unknown activation outcome ${String(outcome.code)}`,
      'code',
    );
  }
  if (!(outcome.executedAt instanceof Date) || Number.isNaN(outcome.executedAt.getTime())) {
    throw new InvalidInputError('INVALID_DATETIME', 'executedAt is not a valid date-time', 'executedAt');
  }
}

function sameOutcome(state: ActivationState, outcome: ActivationOutcome): boolean {
  return (
    state.outcomeCode === outcome.code &&
    state.actualExecutedAt?.getTime() === outcome.executedAt.getTime() &&
    state.resultingFirmwareVersion === (outcome.firmwareVersion ?? null)
  );
}

/**
 * Apply one event. Returns the same object when nothing changes, so callers can skip a write with
 * `next === state`. Throws ConflictError `ACTIVATION_NOT_PENDING` or `OUTCOME_CONFLICT`.
 */
export function applyActivationEvent(state: ActivationState, event: ActivationEvent): ActivationState {
  if (event.kind === 'OUTCOME') checkOutcome(event.outcome);
  const rule = ACTIVATION_TRANSITIONS[state.status][eventKindOf(event)];
  switch (rule.action) {
    case 'KEEP':
      return state;
    case 'REJECT':
      throw new ConflictError(rule.reason, `the activation is ${state.status}, not SCHEDULED`, {
        status: state.status,
      });
    case 'RECONCILE': {
      if (event.kind !== 'OUTCOME') return state;
      if (sameOutcome(state, event.outcome)) return state;
      throw new ConflictError('OUTCOME_CONFLICT', 'a different outcome is already recorded', {
        status: state.status,
        recordedCode: state.outcomeCode,
        recordedExecutedAt: state.actualExecutedAt?.toISOString() ?? null,
        receivedCode: event.outcome.code,
        receivedExecutedAt: event.outcome.executedAt.toISOString(),
      });
    }
    case 'MOVE':
      switch (event.kind) {
        case 'OUTCOME':
          return {
            ...state,
            status: rule.to,
            actualExecutedAt: event.outcome.executedAt,
            outcomeCode: event.outcome.code,
            resultingFirmwareVersion: event.outcome.firmwareVersion ?? null,
            overriddenStatus: state.status === 'SCHEDULED' ? null : (state.status as LateOutcomeStatus),
          };
        case 'EXPIRE':
          return isOutcomeDue(state, event.now, event.outcomeBoundMinutes)
            ? { ...state, status: rule.to }
            : state;
        default:
          return { ...state, status: rule.to };
      }
  }
}

/** Cancel a SCHEDULED activation (DUIS: SR11.3 with the year-3000 sentinel). */
export function cancel(state: ActivationState): ActivationState {
  return applyActivationEvent(state, { kind: 'CANCEL' });
}

/** Mark a SCHEDULED activation as replaced by a newer SR11.3; see findSuperseded for which ones. */
export function supersede(state: ActivationState): ActivationState {
  return applyActivationEvent(state, { kind: 'SUPERSEDE' });
}

/**
 * Record the device's outcome: success gives SUCCEEDED, any other code FAILED. A repeat of the
 * recorded outcome is a no-op; a different one is a ConflictError `OUTCOME_CONFLICT`.
 */
export function recordOutcome(state: ActivationState, outcome: ActivationOutcome): ActivationState {
  return applyActivationEvent(state, { kind: 'OUTCOME', outcome });
}

/** Give up waiting: a SCHEDULED activation whose requestedAt + bound is before `now` becomes OUTCOME_UNKNOWN. */
export function expireOutcome(
  state: ActivationState,
  now: Date,
  outcomeBoundMinutes: number,
): ActivationState {
  return applyActivationEvent(state, { kind: 'EXPIRE', now, outcomeBoundMinutes });
}

// ---------------------------------------------------------------------------------------------
// Supersession

/** The facts needed to order two SR11.3 requests for the same ESME. */
export interface SupersessionFacts {
  readonly submittedAt: Date;
  readonly requestedAt: Date;
  /** The DUIS originator (supplier) ID and counter, when known, to break ties in submission time. */
  readonly originatorId?: string;
  readonly counter?: string;
}

export interface SupersessionCandidate extends SupersessionFacts {
  readonly status: ActivationStatus;
}

/** Both DUIS counters when the two requests come from one originator, else null. */
function sameOriginatorCounters(a: SupersessionFacts, b: SupersessionFacts): [string, string] | null {
  if (a.originatorId === undefined || a.originatorId !== b.originatorId) return null;
  if (a.counter === undefined || b.counter === undefined) return null;
  return [a.counter, b.counter];
}

/**
 * Which of two requests was sent later (positive when `a`). One originator's DUIS counter only
 * grows, so it outranks our receipt times, which can be out of order; across originators (a change
 * of supplier) only the submission time is comparable.
 */
function compareSent(a: SupersessionFacts, b: SupersessionFacts): number {
  const counters = sameOriginatorCounters(a, b);
  if (counters !== null) return compareRequestCounters(...counters);
  return Math.sign(a.submittedAt.getTime() - b.submittedAt.getTime());
}

function isSameRequest(a: SupersessionFacts, b: SupersessionFacts): boolean {
  const counters = sameOriginatorCounters(a, b);
  return counters !== null && compareRequestCounters(...counters) === 0;
}

/**
 * `newer` replaces `older` only if both come from one supplier and `older` was not yet due when
 * `newer` was sent: an activation already due has, as far as we know, executed on the device, so
 * it keeps its window and waits for its outcome. On a tie in send order the request that reached
 * us last wins.
 */
function replaces(newer: SupersessionFacts, older: SupersessionFacts, tieWins: boolean): boolean {
  if (isSameRequest(newer, older)) return false;
  // One supplier cannot replace another's request (after a change of supplier, the old one's
  // pending request stays on the meter until it is cancelled).
  if (
    newer.originatorId !== undefined &&
    older.originatorId !== undefined &&
    newer.originatorId !== older.originatorId
  )
    return false;
  const order = compareSent(newer, older);
  return (
    (order > 0 || (order === 0 && tieWins)) && older.requestedAt.getTime() >= newer.submittedAt.getTime()
  );
}

/**
 * Given the activations of one ESME and a new SR11.3 for it, which SCHEDULED ones the new one
 * supersedes, and whether the new one is itself already stale (a newer request reached us first,
 * as happens when copies arrive out of order) and should be stored as SUPERSEDED. A redelivery of
 * the same request (same originator and counter) supersedes nothing.
 */
export function findSuperseded<T extends SupersessionCandidate>(
  existing: readonly T[],
  incoming: SupersessionFacts,
): { superseded: T[]; incomingIsStale: boolean } {
  const scheduled = existing.filter((a) => a.status === 'SCHEDULED');
  return {
    superseded: scheduled.filter((a) => replaces(incoming, a, true)),
    incomingIsStale: scheduled.some((a) => replaces(a, incoming, false)),
  };
}

// ---------------------------------------------------------------------------------------------
// Windows

export interface ActivationWindowRule extends WindowSettings {
  /**
   * Whether an `activationFailure` outcome releases (no window). Default true: PRODUCT.md lists it
   * as release evidence "by setting", and releasing is the fail-open side. Set false for models
   * known to cut the Communications Hub's power even when the activation fails.
   */
  readonly activationFailureReleases?: boolean;
}

/**
 * The suppression window an activation implies: anchored on the actual execution time once known,
 * else provisionally on requestedAt while SCHEDULED. Null when nothing executed or nothing is known
 * to have executed: CANCELLED, SUPERSEDED, OUTCOME_UNKNOWN (PRODUCT.md releases on a missing
 * outcome), and FAILED, except `activationFailure` when activationFailureReleases is false.
 */
export function activationWindow(
  state: ActivationState,
  rule: ActivationWindowRule,
): SuppressionWindow | null {
  switch (state.status) {
    case 'SCHEDULED':
      return suppressionWindow(state.requestedAt, false, rule);
    case 'SUCCEEDED':
      return anchored(state, rule);
    case 'FAILED':
      return state.outcomeCode === 'activationFailure' && rule.activationFailureReleases === false
        ? anchored(state, rule)
        : null;
    case 'CANCELLED':
    case 'SUPERSEDED':
    case 'OUTCOME_UNKNOWN':
      return null;
  }
}

function anchored(state: ActivationState, rule: WindowSettings): SuppressionWindow {
  return state.actualExecutedAt === null
    ? suppressionWindow(state.requestedAt, false, rule)
    : suppressionWindow(state.actualExecutedAt, true, rule);
}
