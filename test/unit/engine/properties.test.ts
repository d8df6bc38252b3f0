/**
 * Property-based tests: the guarantees that must hold for any facts, not just the examples.
 */
import fc from 'fast-check';
import type {
  AlertDecision,
  EngineSettings,
  FirmwareActivationFact,
  NeighbourOutageAlertFact,
  PowerOutageAlertFacts,
  SupplyRestoredAlertFact,
} from '../../../src/domain/engine';
import { decidePowerOutageAlert, isWithheld, sameDecision } from '../../../src/domain/engine';
import type { ActivationOutcomeCode, ActivationStatus, DeliveryPreference } from '../../../src/domain/model';
import { ACTIVATION_STATUSES, DELIVERY_PREFERENCES } from '../../../src/domain/model';
import {
  MIN,
  T0,
  activation,
  alert,
  association,
  commsHub,
  device,
  facts,
  neighbour,
  restore,
  rule,
  settings as defaults,
} from './fixtures';

const RUNS = { numRuns: 300 };

type Missing = 'NONE' | 'CH' | 'ESME' | 'ASSOCIATION' | 'MODEL' | 'FIRMWARE';

interface ActivationSpec {
  readonly status: ActivationStatus;
  readonly code: ActivationOutcomeCode;
  readonly actualOffset: number | null;
}

interface Scenario {
  readonly startOffset: number;
  readonly receiveDelay: number;
  readonly activation: ActivationSpec | null;
  readonly restores: readonly { readonly interruption: number; readonly duration: number }[];
  readonly neighbours: readonly {
    readonly offset: number;
    readonly count: number;
    readonly inWindow: boolean;
  }[];
  readonly budget: { readonly suppressions: number; readonly alerts: number };
  readonly preference: DeliveryPreference;
  readonly shadow: boolean;
  readonly missing: Missing;
  readonly areaKnown: boolean;
  readonly routed: boolean;
}

const minutes = (lo: number, hi: number) => fc.integer({ min: lo * MIN, max: hi * MIN });

const activationSpec: fc.Arbitrary<ActivationSpec> = fc.record({
  status: fc.constantFrom(...ACTIVATION_STATUSES),
  code: fc.constantFrom<ActivationOutcomeCode>('noImageHeld', 'hashMismatch', 'activationFailure'),
  actualOffset: fc.option(minutes(-5, 45), { nil: null }),
});

const scenario: fc.Arbitrary<Scenario> = fc.record({
  startOffset: minutes(-10, 50),
  receiveDelay: minutes(0, 10),
  activation: fc.option(activationSpec, { nil: null, freq: 5 }),
  restores: fc.array(fc.record({ interruption: minutes(-30, 30), duration: minutes(0, 60) }), {
    maxLength: 2,
  }),
  neighbours: fc.array(
    fc.record({ offset: minutes(-15, 15), count: fc.integer({ min: 1, max: 3 }), inWindow: fc.boolean() }),
    { maxLength: 4 },
  ),
  budget: fc.record({
    suppressions: fc.integer({ min: 0, max: 30 }),
    alerts: fc.integer({ min: 1, max: 60 }),
  }),
  preference: fc.constantFrom(...DELIVERY_PREFERENCES),
  shadow: fc.boolean(),
  missing: fc.constantFrom<Missing>('NONE', 'NONE', 'NONE', 'CH', 'ESME', 'ASSOCIATION', 'MODEL', 'FIRMWARE'),
  areaKnown: fc.boolean(),
  routed: fc.boolean(),
});

const settingsArb: fc.Arbitrary<EngineSettings> = fc
  .record({
    holdMinutes: fc.integer({ min: 0, max: 15 }),
    clusterSize: fc.integer({ min: 1, max: 6 }),
    activationFailureReleases: fc.boolean(),
  })
  .map((s) => ({ ...defaults, ...s, budget: { ...defaults.budget, maxSuppressionsPerArea: 20 } }));

function activationFact(spec: ActivationSpec | null): FirmwareActivationFact[] {
  if (spec === null) return [];
  const executed = spec.status === 'SUCCEEDED' || spec.status === 'FAILED';
  return [
    activation({
      status: spec.status,
      outcomeCode: spec.status === 'SUCCEEDED' ? 'success' : spec.status === 'FAILED' ? spec.code : null,
      actualExecutedAt:
        executed && spec.actualOffset !== null ? new Date(T0.getTime() + spec.actualOffset) : null,
    }),
  ];
}

function restoreFacts(s: Scenario, startAt: Date): SupplyRestoredAlertFact[] {
  return s.restores.map((r, i) =>
    restore({
      id: `restore-${i}`,
      interruptionAt: new Date(startAt.getTime() + r.interruption),
      restorationAt: new Date(startAt.getTime() + r.interruption + r.duration),
    }),
  );
}

function neighbourFacts(s: Scenario, startAt: Date): NeighbourOutageAlertFact[] {
  return s.neighbours.map((n, i) =>
    neighbour(`n${i}`, {
      startAt: new Date(startAt.getTime() + n.offset),
      throttledCount: n.count,
      inActivationWindow: n.inWindow,
    }),
  );
}

function build(s: Scenario): PowerOutageAlertFacts {
  const startAt = new Date(T0.getTime() + s.startOffset);
  const ad1 = alert({
    startAt,
    receivedAt: new Date(startAt.getTime() + s.receiveDelay),
    distributorId: s.routed ? '10' : null,
  });
  const esme = device(
    s.missing === 'MODEL' ? { model: null } : s.missing === 'FIRMWARE' ? { firmwareHistory: [] } : {},
  );
  return facts({
    alert: ad1,
    devices: [...(s.missing === 'CH' ? [] : [commsHub()]), ...(s.missing === 'ESME' ? [] : [esme])],
    associations: s.missing === 'ASSOCIATION' ? [] : [association()],
    rules: [rule({ shadow: s.shadow })],
    activations: activationFact(s.activation),
    supplyRestoredAlerts: restoreFacts(s, startAt),
    area: s.areaKnown
      ? { key: 'FEEDER-1', neighbourAlerts: neighbourFacts(s, startAt), budget: s.budget }
      : null,
    dnoBudget: s.budget,
    deliveryPreference: s.preference,
  });
}

/** Evaluates at receipt, then at each later offset (ms after receipt), carrying the decision. */
function evaluate(
  f: PowerOutageAlertFacts,
  s: EngineSettings,
  laterOffsets: readonly number[],
): AlertDecision[] {
  const received = f.alert.receivedAt.getTime();
  const out: AlertDecision[] = [];
  let previous: AlertDecision | null = null;
  for (const offset of [0, ...[...laterOffsets].sort((a, b) => a - b)]) {
    previous = decidePowerOutageAlert({ ...f, previousDecision: previous }, s, new Date(received + offset));
    out.push(previous);
  }
  return out;
}

const offsets = fc.array(minutes(0, 30), { maxLength: 4 });
const holdBound = (f: PowerOutageAlertFacts, s: EngineSettings) =>
  f.alert.receivedAt.getTime() + s.holdMinutes * MIN;

describe('engine properties', () => {
  it('no activation => never SUPPRESSED or PAIRED (nor HELD)', () => {
    fc.assert(
      fc.property(scenario, settingsArb, offsets, (sc, s, later) => {
        const decisions = evaluate(build({ ...sc, activation: null }), s, later);
        return decisions.every((d) => !isWithheld(d.outcome));
      }),
      RUNS,
    );
  });

  it("a HELD decision's dueAt <= receivedAt + hold bound, and it is never HELD at or after it", () => {
    fc.assert(
      fc.property(scenario, settingsArb, offsets, (sc, s, later) => {
        const f = build(sc);
        const received = f.alert.receivedAt.getTime();
        const decisions = evaluate(f, s, later);
        return decisions.every((d) => {
          if (d.outcome !== 'HELD') return true;
          return (
            d.dueAt !== null &&
            d.dueAt.getTime() <= holdBound(f, s) &&
            d.decidedAt.getTime() < d.dueAt.getTime() &&
            d.decidedAt.getTime() >= received
          );
        });
      }),
      RUNS,
    );
  });

  it('a hold decided again at or after its due time moves on (never HELD until then), and none outlasts the bound', () => {
    fc.assert(
      fc.property(scenario, settingsArb, fc.integer({ min: 0, max: 60 * MIN }), (sc, s, extra) => {
        const f = build(sc);
        const first = decidePowerOutageAlert(f, s, f.alert.receivedAt);
        const dueAt = first.dueAt ?? new Date(holdBound(f, s));
        const later = decidePowerOutageAlert(
          { ...f, previousDecision: first },
          s,
          new Date(dueAt.getTime() + extra),
        );
        const fresh = decidePowerOutageAlert(f, s, new Date(holdBound(f, s) + extra));
        // At its due time a hold may become another (evidence, then a read of the meter), but
        // only until later: it never stands still.
        const moves = later.outcome !== 'HELD' || later.dueAt!.getTime() > dueAt.getTime() + extra;
        return moves && fresh.outcome !== 'HELD';
      }),
      RUNS,
    );
  });

  it('evidence due 1 ms before the ceiling: no verification the ceiling would cut, no second hold', () => {
    // Found by the property above (seed 1387007601): the AD1 was held until evidence could
    // arrive, then, 1 ms before the ceiling, held again to ask the meter.
    const f = build({
      startOffset: 0,
      receiveDelay: 6 * MIN + 1,
      activation: { status: 'SCHEDULED', code: 'noImageHeld', actualOffset: null },
      restores: [],
      neighbours: [],
      budget: { suppressions: 0, alerts: 1 },
      preference: 'FILTER',
      shadow: false,
      missing: 'NONE',
      areaKnown: true,
      routed: true,
    });
    const s: EngineSettings = {
      ...defaults,
      holdMinutes: 12,
      budget: { ...defaults.budget, maxSuppressionsPerArea: 20 },
    };
    const first = decidePowerOutageAlert(f, s, f.alert.receivedAt);
    expect(first).toMatchObject({ outcome: 'HELD', reason: 'AWAITING_EVIDENCE' });
    expect(first.dueAt!.getTime()).toBe(holdBound(f, s) - 1);
    const later = decidePowerOutageAlert({ ...f, previousDecision: first }, s, first.dueAt!);
    expect(later).toMatchObject({ outcome: 'RELEASED', reason: 'HOLD_EXPIRED' });
  });

  it('missing CH, ESME, association, model or firmware => never withheld', () => {
    const missing = fc.constantFrom<Missing>('CH', 'ESME', 'ASSOCIATION', 'MODEL', 'FIRMWARE');
    fc.assert(
      fc.property(scenario, missing, settingsArb, offsets, (sc, m, s, later) =>
        evaluate(build({ ...sc, missing: m }), s, later).every((d) => !isWithheld(d.outcome)),
      ),
      RUNS,
    );
  });

  it('shadow rules never withhold', () => {
    fc.assert(
      fc.property(scenario, settingsArb, offsets, (sc, s, later) =>
        evaluate(build({ ...sc, shadow: true }), s, later).every(
          (d) => !isWithheld(d.outcome) && (d.shadow === null || d.shadow.shadow === null),
        ),
      ),
      RUNS,
    );
  });

  it('idempotent: re-evaluating with no new facts at the same time returns the same decision', () => {
    fc.assert(
      fc.property(scenario, settingsArb, offsets, (sc, s, later) => {
        const f = build(sc);
        return evaluate(f, s, later).every(
          (d) => decidePowerOutageAlert({ ...f, previousDecision: d }, s, d.decidedAt) === d,
        );
      }),
      RUNS,
    );
  });

  it('deterministic: the order of the fact lists does not change the decision', () => {
    fc.assert(
      fc.property(scenario, settingsArb, fc.integer({ min: 0, max: 20 * MIN }), (sc, s, offset) => {
        const f = build(sc);
        const reversed: PowerOutageAlertFacts = {
          ...f,
          devices: [...f.devices].reverse(),
          supplyRestoredAlerts: [...f.supplyRestoredAlerts].reverse(),
          area: f.area && { ...f.area, neighbourAlerts: [...f.area.neighbourAlerts].reverse() },
        };
        const now = new Date(f.alert.receivedAt.getTime() + offset);
        return sameDecision(decidePowerOutageAlert(f, s, now), decidePowerOutageAlert(reversed, s, now));
      }),
      RUNS,
    );
  });
});

describe('arrival order', () => {
  /** One fact arriving during the hold. */
  type Arrival =
    | { readonly kind: 'outcome'; readonly spec: ActivationSpec }
    | { readonly kind: 'restore'; readonly index: number }
    | { readonly kind: 'neighbour'; readonly index: number };

  // A held candidate: a future-dated activation at T0 whose outcome is not known yet, and an AD1
  // inside its provisional window. Its outcome bound (60 min) lies beyond the hold bound, so only
  // the order of arrival varies, not what is known at the due time.
  const heldScenario = scenario.map((sc): Scenario => ({
    ...sc,
    startOffset: Math.min(Math.max(sc.startOffset, -2 * MIN), 30 * MIN),
    receiveDelay: Math.min(sc.receiveDelay, 5 * MIN),
    activation: null,
    missing: 'NONE',
    shadow: false,
    areaKnown: true,
    routed: true,
    budget: { suppressions: 0, alerts: 1 },
  }));

  const setup = fc.tuple(heldScenario, fc.option(activationSpec, { nil: null })).chain(([sc, outcome]) => {
    const arrivals: Arrival[] = [
      ...(outcome === null ? [] : [{ kind: 'outcome' as const, spec: outcome }]),
      ...sc.restores.map((_, index) => ({ kind: 'restore' as const, index })),
      ...sc.neighbours.map((_, index) => ({ kind: 'neighbour' as const, index })),
    ];
    const permutation = fc.shuffledSubarray(arrivals, {
      minLength: arrivals.length,
      maxLength: arrivals.length,
    });
    const times = fc.array(fc.integer({ min: 1, max: 5 * MIN - 1 }), {
      minLength: arrivals.length,
      maxLength: arrivals.length,
    });
    return fc.tuple(fc.constant(sc), fc.constant(arrivals), permutation, times, permutation, times);
  });

  /** The facts known once `arrived` have arrived (the activation stays SCHEDULED until its outcome). */
  function known(sc: Scenario, arrived: readonly Arrival[]): PowerOutageAlertFacts {
    const full = build(sc);
    const startAt = full.alert.startAt;
    const outcome = arrived.find((a) => a.kind === 'outcome');
    const restores = restoreFacts(sc, startAt);
    const neighbours = neighbourFacts(sc, startAt);
    return {
      ...full,
      activations:
        outcome?.kind === 'outcome'
          ? activationFact(outcome.spec)
          : [activation({ status: 'SCHEDULED', actualExecutedAt: null, outcomeCode: null })],
      supplyRestoredAlerts: arrived.flatMap((a) => (a.kind === 'restore' ? [restores[a.index]] : [])),
      area: full.area && {
        ...full.area,
        neighbourAlerts: arrived.flatMap((a) => (a.kind === 'neighbour' ? [neighbours[a.index]] : [])),
      },
    };
  }

  function play(sc: Scenario, order: readonly Arrival[], times: readonly number[]): AlertDecision {
    const s = defaults;
    const received = build(sc).alert.receivedAt.getTime();
    const sortedTimes = [...times].sort((a, b) => a - b);
    let previous = decidePowerOutageAlert(
      { ...known(sc, []), previousDecision: null },
      s,
      new Date(received),
    );
    order.forEach((_, i) => {
      const f = known(sc, order.slice(0, i + 1));
      previous = decidePowerOutageAlert(
        { ...f, previousDecision: previous },
        s,
        new Date(received + sortedTimes[i]),
      );
    });
    const due = new Date(received + s.holdMinutes * MIN);
    return decidePowerOutageAlert({ ...known(sc, order), previousDecision: previous }, s, due);
  }

  it('for facts all known before the due time, any arrival order ends in the same final outcome', () => {
    fc.assert(
      fc.property(setup, ([sc, all, order1, times1, order2, times2]) => {
        const a = play(sc, order1, times1);
        const b = play(sc, order2, times2);
        // The same as deciding once at the due time with everything known.
        const received = build(sc).alert.receivedAt;
        const initial = decidePowerOutageAlert(known(sc, []), defaults, received);
        const oracle = decidePowerOutageAlert(
          { ...known(sc, all), previousDecision: initial },
          defaults,
          new Date(received.getTime() + defaults.holdMinutes * MIN),
        );
        // Only the path may differ: a cluster that arrives before DCC's outcome delivers the AD1
        // at once (DELIVERED), one that arrives after holds it until the meter could answer
        // (RELEASED). What the DNO ends up with is the same: sent, or withheld.
        const verdict = (o: string) => (o === 'RELEASED' ? 'DELIVERED' : o);
        return (
          verdict(a.outcome) === verdict(b.outcome) &&
          verdict(a.outcome) === verdict(oracle.outcome) &&
          a.outcome !== 'HELD'
        );
      }),
      { numRuns: 500 },
    );
  });
});
