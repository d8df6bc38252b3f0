/**
 * Liveness, as a property: whatever facts arrive, in whatever order and at whatever times, with
 * whatever settings (the hold ceiling changed between evaluations included), the engine never
 * holds an AD1 at or past its hold ceiling, and a hold it returns is due again after `now` and no
 * later than the ceiling. The facts here are those the timeline uses (docs/ENGINE.md, "Timeline"):
 * an activation whose outcome may come late or never, reads of the meter in every state,
 * restores, neighbours and other AD1s of the hub. `enforceHoldCeiling`, the service's last resort,
 * agrees: it leaves every hold the engine makes alone, and ends any at the ceiling.
 */
import fc from 'fast-check';
import type {
  AlertDecision,
  CommsHubAlertFact,
  EngineSettings,
  FirmwareActivationFact,
  PowerOutageAlertFacts,
  VerificationFact,
} from '../../../src/domain/engine';
import {
  DEFAULT_ENGINE_SETTINGS,
  decidePowerOutageAlert,
  enforceHoldCeiling,
} from '../../../src/domain/engine';
import type { VerificationStatus } from '../../../src/domain/engine/facts';
import type { ActivationStatus, DeliveryPreference } from '../../../src/domain/model';
import { ESME, MIN, NEW_FW, OLD_FW, T0, alert, facts, neighbour, restore, rule, scheduled } from './fixtures';

/** A fact and the time it becomes known, in ms after the AD1's receipt. */
type Arrival =
  | { readonly kind: 'outcome'; readonly at: number; readonly status: ActivationStatus; readonly ran: number }
  | { readonly kind: 'restore'; readonly at: number; readonly from: number; readonly minutes: number }
  | { readonly kind: 'neighbour'; readonly at: number; readonly offset: number; readonly inWindow: boolean }
  | { readonly kind: 'hubAlert'; readonly at: number; readonly offset: number }
  | {
      readonly kind: 'read';
      readonly at: number;
      readonly status: VerificationStatus;
      readonly timeout: number;
      readonly version: string | null;
    };

interface Case {
  readonly startOffset: number;
  readonly receiveDelay: number;
  readonly shadow: boolean;
  readonly preference: DeliveryPreference;
  readonly arrivals: readonly Arrival[];
  /** Evaluation times (ms after receipt), each with the settings in force then. */
  readonly evaluations: readonly { readonly at: number; readonly settings: EngineSettings }[];
}

/** An evaluation time: exactly `receivedAt + holdMinutes` of the settings in force. */
const AT_CEILING = -1;

const ms = (loMinutes: number, hiMinutes: number) =>
  fc.integer({ min: loMinutes * MIN, max: hiMinutes * MIN });

const settingsArb: fc.Arbitrary<EngineSettings> = fc
  .record({
    holdMinutes: fc.constantFrom(0.1, 1, 5, 12, 20, 30, 30, 45, 60),
    maxCommsHubOffMinutes: fc.integer({ min: 0, max: 20 }),
    transitMinutes: fc.integer({ min: 0, max: 3 }),
    skewMinutes: fc.integer({ min: 0, max: 3 }),
    maxClockSkewMinutes: fc.integer({ min: 0, max: 6 }),
    verification: fc.record({
      enabled: fc.boolean(),
      timeoutMinutes: fc.constantFrom(0.5, 1, 2, 5),
      attempts: fc.integer({ min: 1, max: 3 }),
    }),
  })
  .map((s) => ({ ...DEFAULT_ENGINE_SETTINGS, ...s }));

const arrivalArb: fc.Arbitrary<Arrival> = fc.oneof(
  fc.record({
    kind: fc.constant('outcome' as const),
    at: ms(0, 90),
    status: fc.constantFrom<ActivationStatus>(
      'SUCCEEDED',
      'FAILED',
      'CANCELLED',
      'SUPERSEDED',
      'OUTCOME_UNKNOWN',
    ),
    ran: ms(-5, 40),
  }),
  fc.record({ kind: fc.constant('restore' as const), at: ms(0, 90), from: ms(-20, 20), minutes: ms(0, 60) }),
  fc.record({
    kind: fc.constant('neighbour' as const),
    at: ms(0, 60),
    offset: ms(-10, 10),
    inWindow: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('hubAlert' as const), at: ms(0, 60), offset: ms(-30, 60) }),
  fc.record({
    kind: fc.constant('read' as const),
    at: ms(0, 60),
    status: fc.constantFrom<VerificationStatus>('PENDING', 'ANSWERED', 'TIMED_OUT', 'SKIPPED'),
    timeout: ms(0, 5),
    version: fc.constantFrom(OLD_FW, NEW_FW, null),
  }),
);

const caseArb: fc.Arbitrary<Case> = fc.record({
  startOffset: ms(-10, 50),
  receiveDelay: ms(0, 10),
  shadow: fc.constantFrom(false, false, false, true),
  preference: fc.constantFrom<DeliveryPreference>('FILTER', 'PAIR', 'ANNOTATE', 'RAW'),
  arrivals: fc.array(arrivalArb, { maxLength: 6 }),
  evaluations: fc.array(
    // AT_CEILING: exactly at the ceiling of the settings in force, where a hold must end.
    fc.record({ at: fc.oneof(ms(0, 60), fc.constant(AT_CEILING)), settings: settingsArb }),
    { minLength: 1, maxLength: 6 },
  ),
});

/** What is known `offset` ms after receipt. */
function known(c: Case, offset: number): PowerOutageAlertFacts {
  const startAt = new Date(T0.getTime() + c.startOffset);
  const receivedAt = new Date(startAt.getTime() + c.receiveDelay);
  const abs = (delta: number) => new Date(receivedAt.getTime() + delta);
  const arrived = c.arrivals.filter((a) => a.at <= offset);
  const outcome = arrived.find((a) => a.kind === 'outcome');
  const activations: FirmwareActivationFact[] = [
    outcome?.kind === 'outcome'
      ? scheduled({
          status: outcome.status,
          actualExecutedAt:
            outcome.status === 'SUCCEEDED' || outcome.status === 'FAILED' ? at(outcome.ran) : null,
          outcomeCode:
            outcome.status === 'SUCCEEDED'
              ? 'success'
              : outcome.status === 'FAILED'
                ? 'activationFailure'
                : null,
        })
      : scheduled(),
  ];
  const verifications: VerificationFact[] = arrived.flatMap((a, i) =>
    a.kind === 'read'
      ? [
          {
            id: `v${i}`,
            deviceGuid: ESME,
            requestedAt: abs(a.at),
            timeoutAt: abs(a.at + a.timeout),
            status: a.status,
            answeredAt: a.status === 'ANSWERED' ? abs(a.at) : null,
            firmwareVersion: a.status === 'ANSWERED' ? a.version : null,
          },
        ]
      : [],
  );
  const commsHubAlerts: CommsHubAlertFact[] = arrived.flatMap((a, i) =>
    a.kind === 'hubAlert'
      ? [
          {
            id: `h${i}`,
            startAt: new Date(startAt.getTime() + a.offset),
            receivedAt: abs(a.at),
            outcome: null,
          },
        ]
      : [],
  );
  return facts({
    alert: alert({ startAt, receivedAt }),
    rules: [rule({ shadow: c.shadow })],
    activations,
    supplyRestoredAlerts: arrived.flatMap((a, i) =>
      a.kind === 'restore'
        ? [
            restore({
              id: `r${i}`,
              interruptionAt: new Date(startAt.getTime() + a.from),
              restorationAt: new Date(startAt.getTime() + a.from + a.minutes),
              receivedAt: abs(a.at),
            }),
          ]
        : [],
    ),
    area: {
      key: 'FEEDER-1',
      neighbourAlerts: arrived.flatMap((a, i) =>
        a.kind === 'neighbour'
          ? [
              neighbour(`n${i}`, {
                startAt: new Date(startAt.getTime() + a.offset),
                inActivationWindow: a.inWindow,
              }),
            ]
          : [],
      ),
      budget: { suppressions: 0, alerts: 1 },
    },
    commsHubAlerts,
    verifications,
    deliveryPreference: c.preference,
  });
}

/** How long after the AD1's receipt an instant is, in ms: the time `known` takes. */
function sinceReceipt(c: Case, instant: Date): number {
  return instant.getTime() - (T0.getTime() + c.startOffset + c.receiveDelay);
}

/** T0 plus `delta` ms. */
function at(delta: number): Date {
  return new Date(T0.getTime() + delta);
}

/** The engine's decisions as the service makes them: at each time, with what is known, the last one carried. */
function run(c: Case): { decision: AlertDecision; now: Date; settings: EngineSettings; ceiling: number }[] {
  const out: { decision: AlertDecision; now: Date; settings: EngineSettings; ceiling: number }[] = [];
  let previous: AlertDecision | null = null;
  const times = c.evaluations.map(({ at: t, settings }) => ({
    offset: t === AT_CEILING ? settings.holdMinutes * MIN : t,
    settings,
  }));
  for (const { offset, settings } of times.sort((a, b) => a.offset - b.offset)) {
    const f = known(c, offset);
    const now = new Date(f.alert.receivedAt.getTime() + offset);
    // The ceiling in force: the setting's, or the earlier one a hold already promised.
    const promised = previous?.outcome === 'HELD' ? previous.evidence.timeline?.ceilingAt : undefined;
    const bySetting = f.alert.receivedAt.getTime() + settings.holdMinutes * MIN;
    const ceiling = promised ? Math.min(bySetting, Date.parse(promised)) : bySetting;
    previous = decidePowerOutageAlert({ ...f, previousDecision: previous }, settings, now);
    out.push({ decision: previous, now, settings, ceiling });
  }
  return out;
}

const RUNS = { numRuns: 400 };

describe('liveness: no AD1 is held at or past its hold ceiling', () => {
  it('at or after the ceiling the decision is never HELD', () => {
    fc.assert(
      fc.property(caseArb, (c) =>
        run(c).every(({ decision, now, ceiling }) => now.getTime() < ceiling || decision.outcome !== 'HELD'),
      ),
      RUNS,
    );
  });

  it('a HELD decision is due again after now and no later than the ceiling (its would-be record too)', () => {
    fc.assert(
      fc.property(caseArb, (c) =>
        run(c).every(({ decision, now, ceiling, settings }) => {
          const valid = (d: AlertDecision, bound: number) =>
            d.outcome !== 'HELD' ||
            (d.dueAt !== null && d.dueAt.getTime() > now.getTime() && d.dueAt.getTime() <= bound);
          const bySetting = decision.evidence.alert ? Date.parse(decision.evidence.alert.receivedAt) : 0;
          return (
            valid(decision, ceiling) &&
            (decision.shadow === null || valid(decision.shadow, bySetting + settings.holdMinutes * MIN))
          );
        }),
      ),
      RUNS,
    );
  });

  it('deciding a hold again at its due time moves on: released, withheld, or held until later', () => {
    fc.assert(
      fc.property(caseArb, (c) =>
        run(c).every(({ decision, settings }) => {
          if (decision.outcome !== 'HELD') return true;
          const f = known(c, sinceReceipt(c, decision.dueAt!));
          const next = decidePowerOutageAlert(
            { ...f, previousDecision: decision },
            settings,
            decision.dueAt!,
          );
          return next.outcome !== 'HELD' || next.dueAt!.getTime() > decision.dueAt!.getTime();
        }),
      ),
      RUNS,
    );
  });

  it('enforceHoldCeiling leaves every hold the engine makes alone, and ends each at its ceiling', () => {
    fc.assert(
      fc.property(caseArb, (c) =>
        run(c).every(({ decision, now, settings }) => {
          const f = known(c, sinceReceipt(c, now));
          if (enforceHoldCeiling(f.alert, decision, settings, now) !== null) return false;
          if (decision.outcome !== 'HELD') return true;
          const ceiling = Date.parse(decision.evidence.timeline!.ceilingAt);
          const ended = enforceHoldCeiling(f.alert, decision, settings, new Date(ceiling));
          return (
            ended?.outcome === 'RELEASED' && ended.reason === 'HOLD_CEILING_ENFORCED' && ended.dueAt === null
          );
        }),
      ),
      RUNS,
    );
  });
});
