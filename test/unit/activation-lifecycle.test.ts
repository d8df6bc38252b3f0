import fc from 'fast-check';

import {
  ACTIVATION_EVENT_KINDS,
  ACTIVATION_TRANSITIONS,
  activationWindow,
  applyActivationEvent,
  cancel,
  expireOutcome,
  findSuperseded,
  newActivation,
  recordOutcome,
  supersede,
  validateSchedule,
} from '../../src/domain/activation-lifecycle';
import type {
  ActivationEvent,
  ActivationEventKind,
  ActivationOutcome,
  ActivationState,
  SupersessionCandidate,
} from '../../src/domain/activation-lifecycle';
import { ConflictError, InvalidInputError } from '../../src/domain/errors';
import { ACTIVATION_OUTCOME_CODES, ACTIVATION_STATUSES, CANCELLATION_SENTINEL } from '../../src/domain/model';
import type { ActivationStatus } from '../../src/domain/model';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const T0 = new Date('2030-01-15T09:00:00Z');
const at = (offsetMs: number) => new Date(T0.getTime() + offsetMs);
const SETTINGS = { skewMinutes: 2 };
const BOUND_MINUTES = 60;
const RULE = { windowMinutes: 30, executedWindowMinutes: 3, skewMinutes: 2 };

const EXECUTE_AT = at(60 * MINUTE);
const EXECUTED_AT = at(60 * MINUTE + 30_000);
const SUCCESS: ActivationOutcome = { code: 'success', executedAt: EXECUTED_AT, firmwareVersion: '0002012F' };
const FAILURE: ActivationOutcome = {
  code: 'hashMismatch',
  executedAt: EXECUTED_AT,
  firmwareVersion: '00020120',
};

const scheduled = newActivation(
  validateSchedule({ submittedAt: T0, executeAt: EXECUTE_AT, now: T0, settings: SETTINGS }),
  '00020120',
);

function stateIn(status: ActivationStatus): ActivationState {
  switch (status) {
    case 'SCHEDULED':
      return scheduled;
    case 'SUCCEEDED':
      return recordOutcome(scheduled, SUCCESS);
    case 'FAILED':
      return recordOutcome(scheduled, FAILURE);
    case 'CANCELLED':
      return cancel(scheduled);
    case 'SUPERSEDED':
      return supersede(scheduled);
    case 'OUTCOME_UNKNOWN':
      return expireOutcome(scheduled, at(60 * MINUTE + (BOUND_MINUTES + 1) * MINUTE), BOUND_MINUTES);
  }
}

const DUE = at(60 * MINUTE + (BOUND_MINUTES + 1) * MINUTE);
const EVENTS: Record<ActivationEventKind, ActivationEvent> = {
  CANCEL: { kind: 'CANCEL' },
  SUPERSEDE: { kind: 'SUPERSEDE' },
  OUTCOME_SUCCESS: { kind: 'OUTCOME', outcome: SUCCESS },
  OUTCOME_FAILURE: { kind: 'OUTCOME', outcome: FAILURE },
  EXPIRE: { kind: 'EXPIRE', now: DUE, outcomeBoundMinutes: BOUND_MINUTES },
};

/** `same`: the identical state object comes back; `conflict:X`: ConflictError reason X; else the new status. */
type Expected = ActivationStatus | 'same' | `conflict:${string}`;

// Written out independently of ACTIVATION_TRANSITIONS, so a change to the table has to be made twice.
const EXPECTED: Record<ActivationStatus, Record<ActivationEventKind, Expected>> = {
  SCHEDULED: {
    CANCEL: 'CANCELLED',
    SUPERSEDE: 'SUPERSEDED',
    OUTCOME_SUCCESS: 'SUCCEEDED',
    OUTCOME_FAILURE: 'FAILED',
    EXPIRE: 'OUTCOME_UNKNOWN',
  },
  SUCCEEDED: {
    CANCEL: 'conflict:ACTIVATION_NOT_PENDING',
    SUPERSEDE: 'same',
    OUTCOME_SUCCESS: 'same',
    OUTCOME_FAILURE: 'conflict:OUTCOME_CONFLICT',
    EXPIRE: 'same',
  },
  FAILED: {
    CANCEL: 'conflict:ACTIVATION_NOT_PENDING',
    SUPERSEDE: 'same',
    OUTCOME_SUCCESS: 'conflict:OUTCOME_CONFLICT',
    OUTCOME_FAILURE: 'same',
    EXPIRE: 'same',
  },
  CANCELLED: {
    CANCEL: 'same',
    SUPERSEDE: 'same',
    OUTCOME_SUCCESS: 'SUCCEEDED',
    OUTCOME_FAILURE: 'FAILED',
    EXPIRE: 'same',
  },
  SUPERSEDED: {
    CANCEL: 'conflict:ACTIVATION_NOT_PENDING',
    SUPERSEDE: 'same',
    OUTCOME_SUCCESS: 'SUCCEEDED',
    OUTCOME_FAILURE: 'FAILED',
    EXPIRE: 'same',
  },
  OUTCOME_UNKNOWN: {
    CANCEL: 'conflict:ACTIVATION_NOT_PENDING',
    SUPERSEDE: 'same',
    OUTCOME_SUCCESS: 'SUCCEEDED',
    OUTCOME_FAILURE: 'FAILED',
    EXPIRE: 'same',
  },
};

const cells = ACTIVATION_STATUSES.flatMap((status) =>
  ACTIVATION_EVENT_KINDS.map((kind) => [status, kind, EXPECTED[status][kind]] as const),
);

function conflictReason(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConflictError) return error.reason;
    throw error;
  }
  throw new Error('expected a ConflictError');
}

function invalidReason(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof InvalidInputError) return error.reason;
    throw error;
  }
  throw new Error('expected an InvalidInputError');
}

describe('transition table', () => {
  it('has a rule for every status x event', () => {
    expect(Object.keys(ACTIVATION_TRANSITIONS).sort()).toEqual([...ACTIVATION_STATUSES].sort());
    for (const status of ACTIVATION_STATUSES) {
      expect(Object.keys(ACTIVATION_TRANSITIONS[status]).sort()).toEqual([...ACTIVATION_EVENT_KINDS].sort());
    }
  });

  it.each(cells)('%s + %s -> %s', (status, kind, expected) => {
    const state = Object.freeze(stateIn(status));
    expect(state.status).toBe(status);
    const apply = () => applyActivationEvent(state, EVENTS[kind]);
    if (expected === 'same') {
      expect(apply()).toBe(state);
    } else if (expected.startsWith('conflict:')) {
      expect(conflictReason(apply)).toBe(expected.slice('conflict:'.length));
    } else {
      const next = apply();
      expect(next.status).toBe(expected);
      expect(next).not.toBe(state);
    }
  });
});

describe('validateSchedule', () => {
  const now = T0;

  it('treats a missing executeAt as immediate: requestedAt is the submission time', () => {
    expect(validateSchedule({ submittedAt: now, now, settings: SETTINGS })).toEqual({
      submittedAt: now,
      executeAt: null,
      requestedAt: now,
    });
    expect(validateSchedule({ submittedAt: now, executeAt: null, now, settings: SETTINGS }).requestedAt).toBe(
      now,
    );
  });

  it.each([
    ['now', 0],
    ['in the past within the skew tolerance', -2 * MINUTE],
    ['exactly at the horizon', 30 * DAY],
    ['tomorrow', DAY],
  ])('accepts executeAt %s', (_label, offset) => {
    const executeAt = at(offset);
    expect(validateSchedule({ submittedAt: now, executeAt, now, settings: SETTINGS }).requestedAt).toBe(
      executeAt,
    );
  });

  it.each([
    ['EXECUTE_AT_IN_PAST', -2 * MINUTE - 1, {}],
    ['EXECUTE_AT_IN_PAST', -DAY, {}],
    ['EXECUTE_AT_BEYOND_HORIZON', 30 * DAY + 1, {}],
    ['EXECUTE_AT_BEYOND_HORIZON', 7 * DAY + 1, { horizonDays: 7 }],
  ])('rejects with %s (offset %d ms)', (reason, offset, extra) => {
    const settings = { ...SETTINGS, ...extra };
    expect(
      invalidReason(() => validateSchedule({ submittedAt: now, executeAt: at(offset), now, settings })),
    ).toBe(reason);
  });

  it('refuses the cancellation sentinel as a schedule, even though it is beyond the horizon', () => {
    expect(
      invalidReason(() =>
        validateSchedule({ submittedAt: now, executeAt: CANCELLATION_SENTINEL, now, settings: SETTINGS }),
      ),
    ).toBe('EXECUTE_AT_IS_CANCELLATION');
  });

  it('names the executeAt field', () => {
    try {
      validateSchedule({ submittedAt: now, executeAt: at(-DAY), now, settings: SETTINGS });
      throw new Error('expected a rejection');
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidInputError);
      expect((error as InvalidInputError).field).toBe('executeAt');
      expect((error as InvalidInputError).code).toBe('BAD_USER_INPUT');
    }
  });
});

describe('recordOutcome', () => {
  it('records a success with its actual execution time and version', () => {
    expect(recordOutcome(scheduled, SUCCESS)).toEqual({
      ...scheduled,
      status: 'SUCCEEDED',
      actualExecutedAt: EXECUTED_AT,
      outcomeCode: 'success',
      resultingFirmwareVersion: '0002012F',
      overriddenStatus: null,
    });
  });

  it.each(['noImageHeld', 'hashMismatch', 'activationFailure'] as const)('%s -> FAILED', (code) => {
    const next = recordOutcome(scheduled, { code, executedAt: EXECUTED_AT });
    expect(next.status).toBe('FAILED');
    expect(next.outcomeCode).toBe(code);
    expect(next.resultingFirmwareVersion).toBeNull();
  });

  it.each(['CANCELLED', 'SUPERSEDED', 'OUTCOME_UNKNOWN'] as const)(
    'a late outcome over %s is recorded and says what it replaced',
    (status) => {
      const next = recordOutcome(stateIn(status), SUCCESS);
      expect(next.status).toBe('SUCCEEDED');
      expect(next.overriddenStatus).toBe(status);
      expect(next.actualExecutedAt).toBe(EXECUTED_AT);
    },
  );

  it.each([
    ['another execution time', { ...SUCCESS, executedAt: at(61 * MINUTE) }],
    ['another firmware version', { ...SUCCESS, firmwareVersion: '00020130' }],
    ['no firmware version', { code: 'success' as const, executedAt: EXECUTED_AT }],
  ])('an outcome with %s conflicts with the recorded one', (_label, outcome) => {
    expect(conflictReason(() => recordOutcome(stateIn('SUCCEEDED'), outcome))).toBe('OUTCOME_CONFLICT');
  });

  it('treats an equal execution time in another Date object as the same outcome', () => {
    const succeeded = stateIn('SUCCEEDED');
    expect(recordOutcome(succeeded, { ...SUCCESS, executedAt: new Date(EXECUTED_AT.getTime()) })).toBe(
      succeeded,
    );
  });

  it('rejects an unknown outcome code and an invalid execution time', () => {
    const bogus = { code: 'exploded', executedAt: EXECUTED_AT } as unknown as ActivationOutcome;
    expect(invalidReason(() => recordOutcome(scheduled, bogus))).toBe('INVALID_OUTCOME_CODE');
    expect(
      invalidReason(() => recordOutcome(scheduled, { code: 'success', executedAt: new Date(Number.NaN) })),
    ).toBe('INVALID_DATETIME');
  });
});

describe('expireOutcome', () => {
  it('leaves a SCHEDULED activation alone until requestedAt + bound has passed', () => {
    const boundary = at(60 * MINUTE + BOUND_MINUTES * MINUTE);
    expect(expireOutcome(scheduled, boundary, BOUND_MINUTES)).toBe(scheduled);
    expect(expireOutcome(scheduled, at(-DAY), BOUND_MINUTES)).toBe(scheduled);
    expect(expireOutcome(scheduled, new Date(boundary.getTime() + 1), BOUND_MINUTES).status).toBe(
      'OUTCOME_UNKNOWN',
    );
  });

  it('counts from the submission time for an immediate activation', () => {
    const immediate = newActivation(validateSchedule({ submittedAt: T0, now: T0, settings: SETTINGS }));
    expect(expireOutcome(immediate, at(BOUND_MINUTES * MINUTE + 1), BOUND_MINUTES).status).toBe(
      'OUTCOME_UNKNOWN',
    );
  });
});

describe('activationWindow', () => {
  it('is provisional on the requested time while SCHEDULED', () => {
    expect(activationWindow(scheduled, RULE)).toEqual({
      from: at(58 * MINUTE),
      to: at(90 * MINUTE),
      anchor: EXECUTE_AT,
      anchoredOnActual: false,
    });
  });

  it('re-anchors on the actual execution time once SUCCEEDED, and narrows to the executed window', () => {
    expect(activationWindow(stateIn('SUCCEEDED'), RULE)).toEqual({
      from: new Date(EXECUTED_AT.getTime() - 2 * MINUTE),
      to: new Date(EXECUTED_AT.getTime() + 3 * MINUTE),
      anchor: EXECUTED_AT,
      anchoredOnActual: true,
    });
  });

  it.each(['CANCELLED', 'SUPERSEDED', 'OUTCOME_UNKNOWN', 'FAILED'] as const)('is null when %s', (status) => {
    expect(activationWindow(stateIn(status), RULE)).toBeNull();
    expect(activationWindow(stateIn(status), { ...RULE, activationFailureReleases: false })).toBeNull();
  });

  it('keeps a window for activationFailure only when the setting says it does not release', () => {
    const failed = recordOutcome(scheduled, { code: 'activationFailure', executedAt: EXECUTED_AT });
    expect(activationWindow(failed, RULE)).toBeNull();
    expect(activationWindow(failed, { ...RULE, activationFailureReleases: true })).toBeNull();
    expect(activationWindow(failed, { ...RULE, activationFailureReleases: false })).toMatchObject({
      anchor: EXECUTED_AT,
      anchoredOnActual: true,
    });
  });

  it('opens a window again when a late success lands on a cancelled activation', () => {
    const late = recordOutcome(stateIn('CANCELLED'), SUCCESS);
    expect(activationWindow(late, RULE)).toMatchObject({ anchor: EXECUTED_AT, anchoredOnActual: true });
  });
});

describe('findSuperseded', () => {
  type Row = SupersessionCandidate & { id: string };
  const row = (
    id: string,
    status: ActivationStatus,
    submitted: number,
    requested: number,
    counter?: string,
  ): Row => ({
    id,
    status,
    submittedAt: at(submitted),
    requestedAt: at(requested),
    ...(counter === undefined ? {} : { originatorId: '90-B3-D5-1F-30-01-00-00', counter }),
  });
  const ids = (rows: Row[]) => rows.map((r) => r.id);

  it('supersedes older SCHEDULED activations that were not yet due, and nothing else', () => {
    const existing = [
      row('future', 'SCHEDULED', 0, 10 * DAY),
      row('due', 'SCHEDULED', 0, MINUTE),
      row('done', 'SUCCEEDED', 0, 2 * DAY),
      row('cancelled', 'CANCELLED', 0, 2 * DAY),
    ];
    const incoming = { submittedAt: at(HOUR), requestedAt: at(5 * DAY) };
    expect(findSuperseded(existing, incoming)).toEqual({
      superseded: [existing[0]],
      incomingIsStale: false,
    });
  });

  it('lets an immediate activation supersede a future-dated one', () => {
    const existing = [row('future', 'SCHEDULED', 0, DAY)];
    const immediate = { submittedAt: at(HOUR), requestedAt: at(HOUR) };
    expect(ids(findSuperseded(existing, immediate).superseded)).toEqual(['future']);
  });

  it('marks the incoming request stale when a newer one reached us first', () => {
    const existing = [row('newer', 'SCHEDULED', HOUR, 3 * DAY)];
    const older = { submittedAt: at(0), requestedAt: at(2 * DAY) };
    expect(findSuperseded(existing, older)).toEqual({ superseded: [], incomingIsStale: true });
  });

  it("orders one originator's requests by counter, not by our receipt time", () => {
    const existing = [row('counter-10', 'SCHEDULED', HOUR, 3 * DAY, '10')];
    const counter9 = {
      submittedAt: at(2 * HOUR),
      requestedAt: at(2 * DAY),
      originatorId: '90-B3-D5-1F-30-01-00-00',
      counter: '9',
    };
    expect(findSuperseded(existing, counter9)).toEqual({ superseded: [], incomingIsStale: true });
    expect(ids(findSuperseded(existing, { ...counter9, counter: '11' }).superseded)).toEqual(['counter-10']);
  });

  it("never lets one supplier's request supersede another's, in either direction", () => {
    const existing = [row('old-supplier', 'SCHEDULED', 0, 3 * DAY, '10')];
    const newSupplier = {
      submittedAt: at(HOUR),
      requestedAt: at(2 * DAY),
      originatorId: '90-B3-D5-1F-30-02-00-00',
      counter: '1',
    };
    expect(findSuperseded(existing, newSupplier)).toEqual({ superseded: [], incomingIsStale: false });
    const sooner = [row('new-supplier', 'SCHEDULED', 2 * HOUR, 4 * DAY, '1')].map((r) => ({
      ...r,
      originatorId: '90-B3-D5-1F-30-02-00-00',
    }));
    expect(
      findSuperseded(sooner, {
        submittedAt: at(HOUR),
        requestedAt: at(2 * DAY),
        originatorId: '90-B3-D5-1F-30-01-00-00',
        counter: '11',
      }),
    ).toEqual({ superseded: [], incomingIsStale: false });
  });

  it('ignores a redelivery of the same request', () => {
    const existing = [row('same', 'SCHEDULED', 0, DAY, '10')];
    const again = {
      submittedAt: at(MINUTE),
      requestedAt: at(DAY),
      originatorId: '90-B3-D5-1F-30-01-00-00',
      counter: '10',
    };
    expect(findSuperseded(existing, again)).toEqual({ superseded: [], incomingIsStale: false });
  });

  it('on a tie in submission time, the request that reached us last wins', () => {
    const existing = [row('first', 'SCHEDULED', 0, DAY)];
    expect(findSuperseded(existing, { submittedAt: at(0), requestedAt: at(DAY) })).toEqual({
      superseded: [existing[0]],
      incomingIsStale: false,
    });
  });
});

describe('properties', () => {
  const outcome = fc.record({
    code: fc.constantFrom(...ACTIVATION_OUTCOME_CODES),
    executedAt: fc.integer({ min: 0, max: 3 * 60 }).map((m) => at(m * MINUTE)),
    firmwareVersion: fc.constantFrom('0002012F', '00020120', null),
  });
  const event: fc.Arbitrary<ActivationEvent> = fc.oneof(
    fc.constant({ kind: 'CANCEL' as const }),
    fc.constant({ kind: 'SUPERSEDE' as const }),
    outcome.map((o) => ({ kind: 'OUTCOME' as const, outcome: o })),
    fc.integer({ min: 0, max: 4 * 60 }).map((m) => ({
      kind: 'EXPIRE' as const,
      now: at(m * MINUTE),
      outcomeBoundMinutes: BOUND_MINUTES,
    })),
  );

  it('once SUCCEEDED or FAILED, no event sequence changes the outcome; windows only exist when something executed', () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 12 }), fc.boolean(), (events, activationFailureReleases) => {
        let state = scheduled;
        for (const e of events) {
          const before = state;
          try {
            state = applyActivationEvent(state, e);
          } catch (error) {
            expect(error).toBeInstanceOf(ConflictError);
          }
          if (before.status === 'SUCCEEDED' || before.status === 'FAILED') expect(state).toBe(before);
          const window = activationWindow(state, { ...RULE, activationFailureReleases });
          const expectsWindow =
            state.status === 'SCHEDULED' ||
            state.status === 'SUCCEEDED' ||
            (state.status === 'FAILED' &&
              state.outcomeCode === 'activationFailure' &&
              !activationFailureReleases);
          expect(window !== null).toBe(expectsWindow);
          if (window !== null) expect(window.anchoredOnActual).toBe(state.status !== 'SCHEDULED');
        }
      }),
    );
  });
});
