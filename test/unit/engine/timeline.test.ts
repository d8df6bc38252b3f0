/**
 * The timeline of an OTA-induced AD1 (docs/TIMELINE.md), with the engine's default settings:
 * a hold lasts until the hub must be back and its messages could have crossed the network, the
 * window is narrow once the execution time is known, and a missing outcome is settled by asking
 * the meter. Each test follows the order facts arrive in, as the service feeds them.
 */
import fc from 'fast-check';
import type {
  AlertDecision,
  EngineSettings,
  PowerOutageAlertFacts,
  VerificationFact,
} from '../../../src/domain/engine';
import { DEFAULT_ENGINE_SETTINGS, decidePowerOutageAlert, isWithheld } from '../../../src/domain/engine';
import {
  ESME,
  MIN,
  NEW_FW,
  OLD_FW,
  T0,
  activation,
  alert,
  at,
  facts,
  neighbour,
  restore,
  rule,
  scheduled,
} from './fixtures';

const D = DEFAULT_ENGINE_SETTINGS;
const SEC = 1000;

/** An OTA cut: the meter executes at T0 and the hub goes dark 10 s later; the AD1 comes 3.5 min on. */
const START = at(0, 10 * SEC);
const RECEIVED = at(3, 40 * SEC);
/**
 * The hub went dark by 00:40 (its AD1 arrived at 03:40 and is raised after 3 minutes dark;
 * earlier than start + skew), is back by + longest cut (15), the outcome here by + transit (1).
 */
const EVIDENCE_AT = at(16, 40 * SEC);

function ota(overrides: Partial<PowerOutageAlertFacts> = {}): PowerOutageAlertFacts {
  return facts({ alert: alert({ startAt: START, receivedAt: RECEIVED }), ...overrides });
}

function decideAt(f: PowerOutageAlertFacts, now: Date, previous: AlertDecision | null = null, s = D) {
  return decidePowerOutageAlert({ ...f, previousDecision: previous }, s, now);
}

/**
 * An old read of the meter, answered within 20 s: it pins the meter's clock to within 20 s of
 * true, so a window is judged on the clocks alone (clocks.test.ts covers meters with none).
 */
const CLOCK_READ: VerificationFact = {
  id: 'v-clock',
  deviceGuid: ESME,
  requestedAt: at(-600),
  timeoutAt: at(-598),
  status: 'ANSWERED',
  answeredAt: at(-600, 10 * SEC),
  answerReceivedAt: at(-600, 20 * SEC),
  firmwareVersion: OLD_FW,
};

const brief = (d: AlertDecision) => [d.outcome, d.reason, d.dueAt?.toISOString() ?? null];

function request(overrides: Partial<VerificationFact> = {}): VerificationFact {
  return {
    id: 'v-1',
    deviceGuid: ESME,
    requestedAt: EVIDENCE_AT,
    timeoutAt: new Date(EVIDENCE_AT.getTime() + 2 * MIN),
    status: 'PENDING',
    answeredAt: null,
    firmwareVersion: null,
    ...overrides,
  };
}

describe('hold until evidence can arrive', () => {
  it('an executed, confirmed cut is held until the hub must be back, then suppressed', () => {
    const f = ota();
    const held = decideAt(f, RECEIVED);
    expect(brief(held)).toEqual(['HELD', 'AWAITING_EVIDENCE', EVIDENCE_AT.toISOString()]);
    expect(held.evidence.timeline).toMatchObject({
      maxCommsHubOffMinutes: 15,
      hubBackBy: at(15, 40 * SEC).toISOString(),
      evidenceAt: EVIDENCE_AT.toISOString(),
      ceilingAt: at(33, 40 * SEC).toISOString(),
    });
    const due = decideAt(f, EVIDENCE_AT, held);
    expect(brief(due)).toEqual(['SUPPRESSED', 'OTA_INDUCED', null]);
  });

  it('a pending activation is not released before its outcome could have crossed a dark hub', () => {
    const pending = ota({ activations: [scheduled()] });
    // A flat 5-minute hold would have released it here; the hub may still be dark for 10 more minutes.
    const at8 = decideAt(pending, at(8, 40 * SEC), decideAt(pending, RECEIVED));
    expect(brief(at8)).toEqual(['HELD', 'AWAITING_EVIDENCE', EVIDENCE_AT.toISOString()]);
  });

  it('a long cut: the outcome arrives 12 min after the start, before the bound, and confirms it', () => {
    const first = decideAt(ota({ activations: [scheduled()] }), RECEIVED);
    const withOutcome = ota({ activations: [activation({ actualExecutedAt: T0 })] });
    const atOutcome = decideAt(withOutcome, at(12, 10 * SEC), first);
    expect(brief(atOutcome)).toEqual(['HELD', 'AWAITING_EVIDENCE', EVIDENCE_AT.toISOString()]);
    expect(brief(decideAt(withOutcome, EVIDENCE_AT, atOutcome))).toEqual(['SUPPRESSED', 'OTA_INDUCED', null]);
  });

  it("the rule's own longest cut sets the bound", () => {
    const f = ota({ rules: [rule({ maxCommsHubOffMinutes: 5 })] });
    expect(decideAt(f, RECEIVED).dueAt).toEqual(at(6, 40 * SEC));
  });

  it('release evidence during the hold releases at once, without waiting for the bound', () => {
    const held = decideAt(ota({ activations: [scheduled()] }), RECEIVED);
    const restored = ota({
      activations: [scheduled()],
      supplyRestoredAlerts: [restore({ interruptionAt: START, restorationAt: at(6), receivedAt: at(7) })],
    });
    expect(brief(decideAt(restored, at(7), held))).toEqual(['RELEASED', 'SUPPLY_RESTORED_OVERLAP', null]);
    const cluster = ota({
      activations: [scheduled()],
      area: {
        key: 'FEEDER-1',
        neighbourAlerts: ['n1', 'n2', 'n3'].map((id) => neighbour(id, { startAt: START })),
        budget: { suppressions: 0, alerts: 4 },
      },
    });
    expect(brief(decideAt(cluster, at(4), held))).toEqual(['RELEASED', 'AREA_CLUSTER', null]);
  });

  it('the hold ceiling ends every hold: decided with what is known', () => {
    const s: EngineSettings = { ...D, holdMinutes: 10 };
    const pending = ota({ activations: [scheduled()] });
    const held = decideAt(pending, RECEIVED, null, s);
    expect(held.dueAt).toEqual(at(13, 40 * SEC));
    expect(brief(decideAt(pending, at(13, 40 * SEC), held, s))).toEqual(['RELEASED', 'HOLD_EXPIRED', null]);
    expect(brief(decideAt(ota(), at(13, 40 * SEC), held, s))).toEqual(['SUPPRESSED', 'OTA_INDUCED', null]);
  });
});

describe('two windows: wide while only the requested time is known, narrow once executed', () => {
  it('a genuine fault 5 minutes after a cut-free activation is delivered at once', () => {
    const fault = facts({
      alert: alert({ startAt: at(5), receivedAt: at(8, 30 * SEC) }),
      verifications: [CLOCK_READ],
    });
    expect(brief(decideAt(fault, at(8, 30 * SEC)))).toEqual(['DELIVERED', 'NO_ACTIVATION_WINDOW', null]);
  });

  it('the same fault on a meter whose clock nothing bounds yet: held, and the meter is asked', () => {
    const fault = facts({ alert: alert({ startAt: at(5), receivedAt: at(8, 30 * SEC) }) });
    const held = decideAt(fault, at(8, 30 * SEC));
    expect(held.outcome).toBe('HELD');
    expect(held.evidence.window).toMatchObject({ timing: 'EXECUTED', clockUnsure: true });
    // The answer pins the meter's clock: 5 minutes after the execution is outside the window.
    const answer: VerificationFact = {
      ...CLOCK_READ,
      id: 'v-1',
      requestedAt: at(23, 10 * SEC),
      timeoutAt: at(25, 10 * SEC),
      answeredAt: at(23, 20 * SEC),
      answerReceivedAt: at(23, 30 * SEC),
      firmwareVersion: NEW_FW,
    };
    const d = decideAt({ ...fault, verifications: [answer] }, at(23, 30 * SEC), held);
    expect(brief(d)).toEqual(['RELEASED', 'NO_ACTIVATION_WINDOW', null]);
  });

  it('a genuine fault 15 minutes after a cut-free activation is delivered at once', () => {
    const fault = facts({
      alert: alert({ startAt: at(15), receivedAt: at(18, 30 * SEC) }),
      verifications: [CLOCK_READ],
    });
    const d = decideAt(fault, at(18, 30 * SEC));
    expect(brief(d)).toEqual(['DELIVERED', 'NO_ACTIVATION_WINDOW', null]);
    expect(d.evidence.window).toMatchObject({ windowMinutes: 3, anchoredOnActual: true });
  });

  it('the same fault while only the requested time is known is held, then released when the outcome re-anchors', () => {
    const fault = facts({
      alert: alert({ startAt: at(15), receivedAt: at(18, 30 * SEC) }),
      activations: [scheduled()],
    });
    const held = decideAt(fault, at(18, 30 * SEC));
    expect(held.outcome).toBe('HELD');
    const executed = facts({ alert: fault.alert });
    expect(brief(decideAt(executed, at(19), held))).toEqual(['RELEASED', 'NO_ACTIVATION_WINDOW', null]);
  });

  it('the narrow window covers skew before and the reboot allowance after the execution', () => {
    const startAt = (t: Date) =>
      facts({
        alert: alert({ startAt: t, receivedAt: new Date(t.getTime() + 3.5 * MIN) }),
        verifications: [CLOCK_READ],
      });
    expect(decideAt(startAt(at(-2)), at(10)).outcome).toBe('HELD');
    expect(decideAt(startAt(at(3)), at(10)).outcome).toBe('HELD');
    expect(decideAt(startAt(at(3, 1)), at(10)).outcome).toBe('DELIVERED');
    expect(decideAt(startAt(at(-2, -1)), at(10)).outcome).toBe('DELIVERED');
  });
});

describe('asking the meter when the outcome is missing', () => {
  const lost = ota({ activations: [scheduled()] });
  const firstAsk = decideAt(lost, EVIDENCE_AT, decideAt(lost, RECEIVED));

  it('asks once the hub should be back, and waits one timeout for the answer', () => {
    expect(brief(firstAsk)).toEqual([
      'HELD',
      'AWAITING_VERIFICATION',
      new Date(EVIDENCE_AT.getTime() + 2 * MIN).toISOString(),
    ]);
    const waiting = decideAt({ ...lost, verifications: [request()] }, at(17, 40 * SEC), firstAsk);
    expect(brief(waiting)).toEqual(brief(firstAsk));
  });

  it('an answer with the target version confirms the activation ran: suppressed', () => {
    const answered = request({ status: 'ANSWERED', answeredAt: at(19), firmwareVersion: NEW_FW });
    const d = decideAt({ ...lost, verifications: [answered] }, at(19, 5 * SEC), firstAsk);
    expect(brief(d)).toEqual(['SUPPRESSED', 'OTA_INDUCED', null]);
    expect(d.evidence.timeline?.verification).toMatchObject({ activationRan: true });
  });

  it('a suppression confirmed by the meter is not released when the outcome is later marked lost', () => {
    const answered = request({ status: 'ANSWERED', answeredAt: at(19), firmwareVersion: NEW_FW });
    const suppressed = decideAt({ ...lost, verifications: [answered] }, at(19, 5 * SEC), firstAsk);
    const marked = ota({
      activations: [scheduled({ status: 'OUTCOME_UNKNOWN' })],
      verifications: [answered],
    });
    expect(decideAt(marked, at(70), suppressed)).toBe(suppressed);
  });

  it('an answer with the version from before the activation releases it: the activation did not run', () => {
    const answered = request({ status: 'ANSWERED', answeredAt: at(19), firmwareVersion: OLD_FW });
    const d = decideAt({ ...lost, verifications: [answered] }, at(19, 5 * SEC), firstAsk);
    expect(brief(d)).toEqual(['RELEASED', 'VERIFICATION_NOT_ACTIVATED', null]);
  });

  it('no answer: asks again, twice, then releases as genuine at the bound', () => {
    const attempt = (n: number, status: 'TIMED_OUT' | 'PENDING') => {
      const requestedAt = new Date(EVIDENCE_AT.getTime() + (n - 1) * 2 * MIN);
      return request({
        id: `v-${n}`,
        requestedAt,
        timeoutAt: new Date(requestedAt.getTime() + 2 * MIN),
        status,
      });
    };
    let previous = firstAsk;
    for (const n of [2, 3]) {
      const askedAt = new Date(EVIDENCE_AT.getTime() + (n - 1) * 2 * MIN);
      const earlier = Array.from({ length: n - 1 }, (_, i) => attempt(i + 1, 'TIMED_OUT'));
      previous = decideAt({ ...lost, verifications: earlier }, askedAt, previous);
      expect(brief(previous)).toEqual([
        'HELD',
        'AWAITING_VERIFICATION',
        new Date(askedAt.getTime() + 2 * MIN).toISOString(),
      ]);
    }
    const end = new Date(EVIDENCE_AT.getTime() + 3 * 2 * MIN);
    const all = [attempt(1, 'TIMED_OUT'), attempt(2, 'TIMED_OUT'), attempt(3, 'PENDING')];
    const released = decideAt({ ...lost, verifications: all }, end, previous);
    expect(brief(released)).toEqual(['RELEASED', 'VERIFICATION_UNANSWERED', null]);
    // The added delay: bound (start + 2 + 15 + 1 + 3 x 2) minus receipt, under 20 minutes.
    expect(end.getTime() - RECEIVED.getTime()).toBeLessThan(20 * MIN);
  });

  it('a request refused by the budget releases (fail open)', () => {
    const skipped = request({ status: 'SKIPPED' });
    expect(brief(decideAt({ ...lost, verifications: [skipped] }, at(18, 11 * SEC), firstAsk))).toEqual([
      'RELEASED',
      'VERIFICATION_BUDGET_SPENT',
      null,
    ]);
  });

  it('with verification turned off, a missing outcome releases at the evidence bound', () => {
    const s: EngineSettings = { ...D, verification: { ...D.verification, enabled: false } };
    const held = decideAt(lost, RECEIVED, null, s);
    expect(brief(decideAt(lost, EVIDENCE_AT, held, s))).toEqual(['RELEASED', 'HOLD_EXPIRED', null]);
  });

  it('answers to requests made before the outage, and other devices, do not count', () => {
    const old = request({
      requestedAt: at(-30),
      status: 'ANSWERED',
      answeredAt: at(-29),
      firmwareVersion: NEW_FW,
    });
    const other = request({
      deviceGuid: '00-DB-12-34-56-78-90-E9',
      status: 'ANSWERED',
      answeredAt: at(19),
      firmwareVersion: NEW_FW,
    });
    const d = decideAt({ ...lost, verifications: [old, other] }, at(19), firstAsk);
    expect(d.reason).toBe('AWAITING_VERIFICATION');
    expect(d.evidence.timeline?.verification.requests).toEqual([]);
  });
});

// ------------------------------------------------------------------------------------------------
// Properties

type Fate = 'EXECUTED' | 'PENDING' | 'LOST';

interface Case {
  readonly startMs: number;
  readonly receiveDelayMs: number;
  readonly fate: Fate;
  readonly executedOffsetMs: number;
  readonly cutMinutes: number;
  readonly timeoutMinutes: number;
  readonly attempts: number;
}

const caseArb: fc.Arbitrary<Case> = fc.record({
  startMs: fc.integer({ min: -2 * MIN, max: 30 * MIN }),
  receiveDelayMs: fc.integer({ min: 3 * MIN, max: 10 * MIN }),
  fate: fc.constantFrom<Fate>('EXECUTED', 'PENDING', 'LOST'),
  executedOffsetMs: fc.integer({ min: 0, max: 90 * SEC }),
  cutMinutes: fc.integer({ min: 3, max: 15 }),
  timeoutMinutes: fc.integer({ min: 1, max: 5 }),
  attempts: fc.integer({ min: 1, max: 3 }),
});

function caseFacts(c: Case): PowerOutageAlertFacts {
  const a =
    c.fate === 'EXECUTED'
      ? activation({ requestedAt: T0, actualExecutedAt: new Date(T0.getTime() + c.executedOffsetMs) })
      : scheduled({ status: c.fate === 'LOST' ? 'OUTCOME_UNKNOWN' : 'SCHEDULED' });
  const startAt = new Date(T0.getTime() + c.startMs);
  return facts({
    alert: alert({ startAt, receivedAt: new Date(startAt.getTime() + c.receiveDelayMs) }),
    activations: [a],
    rules: [rule({ maxCommsHubOffMinutes: c.cutMinutes })],
  });
}

function caseSettings(c: Case): EngineSettings {
  return { ...D, verification: { enabled: true, timeoutMinutes: c.timeoutMinutes, attempts: c.attempts } };
}

/**
 * Runs an alert to its end as the service would, with a meter that never answers: evaluate at
 * receipt and at every due time, sending a request whenever the engine asks for one.
 */
function runUnanswered(c: Case): { decision: AlertDecision; decidedAt: Date; requests: number } {
  const s = caseSettings(c);
  const base = caseFacts(c);
  const verifications: VerificationFact[] = [];
  let now = base.alert.receivedAt;
  let previous: AlertDecision | null = null;
  for (let step = 0; step < 20; step++) {
    const closed = verifications.map((v) =>
      v.status === 'PENDING' && now.getTime() >= v.timeoutAt.getTime()
        ? { ...v, status: 'TIMED_OUT' as const }
        : v,
    );
    verifications.splice(0, verifications.length, ...closed);
    const decision: AlertDecision = decidePowerOutageAlert(
      { ...base, verifications: [...verifications], previousDecision: previous },
      s,
      now,
    );
    if (decision.reason === 'AWAITING_VERIFICATION' && !verifications.some((v) => v.status === 'PENDING')) {
      verifications.push({
        id: `v-${verifications.length + 1}`,
        deviceGuid: ESME,
        requestedAt: now,
        timeoutAt: new Date(now.getTime() + s.verification.timeoutMinutes * MIN),
        status: 'PENDING',
        answeredAt: null,
        firmwareVersion: null,
      });
    }
    if (decision.outcome !== 'HELD') return { decision, decidedAt: now, requests: verifications.length };
    previous = decision;
    now = decision.dueAt!;
  }
  throw new Error('the hold never ended');
}

describe('timeline properties', () => {
  const RUNS = { numRuns: 300 };

  it('no candidate is released as genuine before its evidence could have arrived', () => {
    fc.assert(
      fc.property(caseArb, fc.integer({ min: 0, max: 40 * MIN }), (c, elapsed) => {
        const f = caseFacts(c);
        const s = caseSettings(c);
        const first = decidePowerOutageAlert(f, s, f.alert.receivedAt);
        if (first.outcome !== 'HELD') return;
        // Dark by the stamped start + skew, or by the receipt less the 3 minutes before AD1.
        const dark = Math.min(f.alert.startAt.getTime() + 2 * MIN, f.alert.receivedAt.getTime() - 3 * MIN);
        const evidenceAt = dark + (c.cutMinutes + 1) * MIN;
        const now = new Date(f.alert.receivedAt.getTime() + elapsed);
        if (now.getTime() >= evidenceAt) return;
        const d = decidePowerOutageAlert({ ...f, previousDecision: first }, s, now);
        expect(d.outcome).toBe('HELD');
      }),
      RUNS,
    );
  });

  it('a meter that never answers is released within the bound: evidence + every verification timeout', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        if (c.fate === 'EXECUTED') return;
        const { decision, decidedAt, requests } = runUnanswered(c);
        expect(isWithheld(decision.outcome)).toBe(false);
        const f = caseFacts(c);
        const bound =
          Math.max(f.alert.startAt.getTime() + (2 + c.cutMinutes + 1) * MIN, f.alert.receivedAt.getTime()) +
          c.attempts * c.timeoutMinutes * MIN;
        const ceiling = f.alert.receivedAt.getTime() + D.holdMinutes * MIN;
        expect(decidedAt.getTime()).toBeLessThanOrEqual(Math.min(bound, ceiling));
        expect(requests).toBeLessThanOrEqual(c.attempts);
      }),
      RUNS,
    );
  });

  it('once the execution time is known, an outage starting after the narrow window is never withheld (clocks bounded)', () => {
    fc.assert(
      fc.property(caseArb, fc.integer({ min: 1, max: 60 * MIN }), (c, after) => {
        const executedAt = new Date(T0.getTime() + c.executedOffsetMs);
        const startAt = new Date(executedAt.getTime() + D.executedWindowMinutes * MIN + after);
        // The hub's AD1 arrives as a true clock's would; an old read pins the meter's clock.
        const f = facts({
          alert: alert({ startAt, receivedAt: new Date(startAt.getTime() + 3.5 * MIN) }),
          activations: [activation({ actualExecutedAt: executedAt })],
          verifications: [CLOCK_READ],
        });
        const d = decidePowerOutageAlert(f, D, f.alert.receivedAt);
        expect(d.outcome).toBe('DELIVERED');
      }),
      RUNS,
    );
  });
});
