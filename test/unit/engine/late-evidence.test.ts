/**
 * Late evidence (docs/ENGINE.md, "Deferred execution", "Corrections", "Clocks"), with the
 * engine's default settings: a meter without mains runs its activation when supply returns and
 * cuts its hub again; a decision stays open to DCC's word for a bounded time; and each device's
 * clock is bounded from its own messages.
 */
import type {
  AlertDecision,
  CommsHubAlertFact,
  PowerOutageAlertFacts,
  VerificationFact,
} from '../../../src/domain/engine';
import { DEFAULT_ENGINE_SETTINGS, decidePowerOutageAlert } from '../../../src/domain/engine';
import { ESME, MIN, NEW_FW, OLD_FW, activation, alert, at, facts, restore, scheduled } from './fixtures';

const D = DEFAULT_ENGINE_SETTINGS;
const SEC = 1000;
const HOUR = 60;

function decideAt(f: PowerOutageAlertFacts, now: Date, previous: AlertDecision | null = null, s = D) {
  return decidePowerOutageAlert({ ...f, previousDecision: previous }, s, now);
}
const brief = (d: AlertDecision) => [d.outcome, d.reason];

/** An AD1 of the hub starting at `start` minutes, received 3.5 minutes later (a true hub clock). */
function hubAlert(
  id: string,
  start: number,
  outcome: CommsHubAlertFact['outcome'] = 'DELIVERED',
): CommsHubAlertFact {
  return { id, startAt: at(start), receivedAt: at(start + 3.5), outcome };
}

function read(overrides: Partial<VerificationFact>): VerificationFact {
  return {
    id: 'read-1',
    deviceGuid: ESME,
    requestedAt: at(0),
    timeoutAt: at(2),
    status: 'ANSWERED',
    answeredAt: at(0, 20 * SEC),
    answerReceivedAt: at(0, 40 * SEC),
    firmwareVersion: OLD_FW,
    ...overrides,
  };
}

/**
 * A genuine outage at the premises from T0-10 min to T0+3 h; the activation was requested for
 * T0 (future-dated, no outcome since: the meter had no mains). At restoration the meter runs it,
 * and its hub goes dark again 20 s later.
 */
const RESTORED = 3 * HOUR;
const SECOND_CUT = RESTORED + 1 / 3;
const genuine = hubAlert('ad1-genuine', -10);
const deferredCut = alert({ id: 'ad1-2', startAt: at(SECOND_CUT), receivedAt: at(SECOND_CUT + 3.5) });
const pending = scheduled({ status: 'OUTCOME_UNKNOWN' });
const measured = restore({
  id: 'restore-genuine',
  interruptionAt: at(-10),
  restorationAt: at(RESTORED),
  receivedAt: at(RESTORED + 15),
});
const lateOutcome = activation({
  actualExecutedAt: at(RESTORED, 5 * SEC),
  outcomeReceivedAt: at(RESTORED + 12),
});

describe('deferred execution: the meter runs the activation when supply returns', () => {
  it('the genuine outage that spans the requested time is delivered at once', () => {
    const d = decideAt(
      facts({
        alert: alert({ id: genuine.id, startAt: genuine.startAt, receivedAt: genuine.receivedAt }),
        activations: [scheduled()],
      }),
      genuine.receivedAt,
    );
    expect(brief(d)).toEqual(['DELIVERED', 'NO_ACTIVATION_WINDOW']);
  });

  it("the second cut, hours after the requested time, is held on the hub's earlier outage alone", () => {
    const f = facts({ alert: deferredCut, activations: [pending], commsHubAlerts: [genuine] });
    const d = decideAt(f, deferredCut.receivedAt);
    expect(brief(d)).toEqual(['HELD', 'AWAITING_EVIDENCE']);
    expect(d.evidence.window).toMatchObject({ timing: 'DEFERRED_OUTAGE', timingEvidenceId: 'ad1-genuine' });
  });

  it('with the restore known, the window is anchored at the restoration, and that restore does not release it', () => {
    const f = facts({
      alert: deferredCut,
      activations: [pending],
      commsHubAlerts: [genuine],
      supplyRestoredAlerts: [measured],
    });
    const d = decideAt(f, deferredCut.receivedAt);
    expect(brief(d)).toEqual(['HELD', 'AWAITING_EVIDENCE']);
    expect(d.evidence.window).toMatchObject({
      timing: 'DEFERRED_RESTORE',
      timingEvidenceId: 'restore-genuine',
      anchor: at(RESTORED).toISOString(),
    });
    expect(d.evidence.supplyRestoredAlertIds).toEqual([]);
  });

  it('supply back within the half hour after the requested time: the restore, not the request, dates the run', () => {
    // Requested at T0, supply back at T0+20 min, the hub dark again 20 s later: the request's own
    // window [T0-2, T0+30] contains the cut too, but the meter had no mains at T0.
    const cut = alert({ id: 'ad1-early', startAt: at(20, 20 * SEC), receivedAt: at(23, 50 * SEC) });
    const early = restore({ ...measured, restorationAt: at(20), receivedAt: at(24) });
    const d = decideAt(
      facts({ alert: cut, activations: [pending], commsHubAlerts: [genuine], supplyRestoredAlerts: [early] }),
      cut.receivedAt,
    );
    expect(brief(d)).toEqual(['HELD', 'AWAITING_EVIDENCE']);
    expect(d.evidence.window).toMatchObject({
      timing: 'DEFERRED_RESTORE',
      timingEvidenceId: 'restore-genuine',
    });
    expect(d.evidence.supplyRestoredAlertIds).toEqual([]);
  });

  it('the late outcome narrows the window on the execution and confirms it: suppressed', () => {
    const f = facts({
      alert: deferredCut,
      activations: [pending],
      commsHubAlerts: [genuine],
      supplyRestoredAlerts: [measured],
    });
    const held = decideAt(f, deferredCut.receivedAt);
    const evidenceAt = at(SECOND_CUT + 18);
    const d = decideAt({ ...f, activations: [lateOutcome] }, evidenceAt, held);
    expect(brief(d)).toEqual(['SUPPRESSED', 'OTA_INDUCED']);
    expect(d.evidence.window).toMatchObject({ timing: 'EXECUTED', anchoredOnActual: true });
  });

  it("outcome lost: the meter's answer after the second cut confirms the deferred run", () => {
    const f = facts({ alert: deferredCut, activations: [pending], commsHubAlerts: [genuine] });
    const evidenceAt = at(SECOND_CUT + 18);
    const asked = decideAt(f, evidenceAt, decideAt(f, deferredCut.receivedAt));
    expect(brief(asked)).toEqual(['HELD', 'AWAITING_VERIFICATION']);
    const answer = read({
      requestedAt: evidenceAt,
      timeoutAt: at(SECOND_CUT + 20),
      answeredAt: at(SECOND_CUT + 18.5),
      answerReceivedAt: at(SECOND_CUT + 18.6),
      firmwareVersion: NEW_FW,
    });
    const d = decideAt({ ...f, verifications: [answer] }, at(SECOND_CUT + 18.6), asked);
    expect(brief(d)).toEqual(['SUPPRESSED', 'OTA_INDUCED']);
  });

  it('only the first AD1 of the hub after the outage is the deferred cut', () => {
    const third = alert({ id: 'ad1-3', startAt: at(SECOND_CUT + 60), receivedAt: at(SECOND_CUT + 63.5) });
    const f = facts({
      alert: third,
      activations: [scheduled({ status: 'FAILED', outcomeCode: 'activationFailure' })],
      commsHubAlerts: [genuine, hubAlert('ad1-2', SECOND_CUT)],
    });
    expect(brief(decideAt(f, third.receivedAt))).toEqual(['DELIVERED', 'NO_ACTIVATION_WINDOW']);
  });

  it('a read after the requested time that still shows the old firmware keeps the activation a candidate', () => {
    const later = alert({ id: 'ad1-9', startAt: at(5 * HOUR), receivedAt: at(5 * HOUR + 3.5) });
    const f = facts({
      alert: later,
      activations: [pending],
      verifications: [
        read({
          requestedAt: at(2 * HOUR),
          answeredAt: at(2 * HOUR, 20 * SEC),
          answerReceivedAt: at(2 * HOUR, 40 * SEC),
        }),
      ],
    });
    const d = decideAt(f, later.receivedAt);
    expect(d.outcome).toBe('HELD');
    expect(d.evidence.window).toMatchObject({ timing: 'NOT_YET_ACTIVATED', timingEvidenceId: 'read-1' });
  });

  it("a read that showed the new firmware ends the activation's windows: a later outage is not its", () => {
    const later = alert({ id: 'ad1-9', startAt: at(5 * HOUR), receivedAt: at(5 * HOUR + 3.5) });
    const f = facts({
      alert: later,
      activations: [pending],
      verifications: [
        read({
          requestedAt: at(2 * HOUR),
          answeredAt: at(2 * HOUR, 20 * SEC),
          answerReceivedAt: at(2 * HOUR, 40 * SEC),
          firmwareVersion: NEW_FW,
        }),
      ],
    });
    expect(brief(decideAt(f, later.receivedAt))).toEqual(['DELIVERED', 'NO_ACTIVATION_WINDOW']);
  });

  it('an activation with no outcome and no evidence either way stays a candidate; an answer cannot date it', () => {
    const later = alert({ id: 'ad1-9', startAt: at(5 * HOUR), receivedAt: at(5 * HOUR + 3.5) });
    const f = facts({ alert: later, activations: [pending] });
    const held = decideAt(f, later.receivedAt);
    expect(held.evidence.window).toMatchObject({ timing: 'OUTCOME_PENDING' });
    const evidenceAt = at(5 * HOUR + 18);
    const asked = decideAt(f, evidenceAt, held);
    expect(brief(asked)).toEqual(['HELD', 'AWAITING_VERIFICATION']);
    const answer = read({
      requestedAt: evidenceAt,
      timeoutAt: at(5 * HOUR + 20),
      answeredAt: at(5 * HOUR + 18.5),
      answerReceivedAt: at(5 * HOUR + 18.6),
      firmwareVersion: NEW_FW,
    });
    // The meter ran it, but any time in five hours: nothing puts this outage at the run.
    const d = decideAt({ ...f, verifications: [answer] }, at(5 * HOUR + 18.6), asked);
    expect(brief(d)).toEqual(['RELEASED', 'OUTCOME_NOT_RECEIVED']);
  });

  it('past deferredActivationHours the activation explains nothing', () => {
    const late = alert({ id: 'ad1-9', startAt: at(25 * HOUR), receivedAt: at(25 * HOUR + 3.5) });
    const f = facts({ alert: late, activations: [pending], commsHubAlerts: [genuine] });
    expect(brief(decideAt(f, late.receivedAt))).toEqual(['DELIVERED', 'NO_ACTIVATION_WINDOW']);
  });
});

describe("corrections: a decision stays open to DCC's word", () => {
  /** An AD1 delivered because nothing was known of the activation when it arrived. */
  const ota = alert({ startAt: at(0, 10 * SEC), receivedAt: at(3, 40 * SEC) });
  const delivered = decideAt(facts({ alert: ota, activations: [] }), ota.receivedAt);
  const outcome = activation({ actualExecutedAt: at(0), outcomeReceivedAt: at(9) });

  it("delivered, then DCC's outcome puts it in the narrow window: withdrawn", () => {
    expect(brief(delivered)).toEqual(['DELIVERED', 'NO_ACTIVATION_WINDOW']);
    const d = decideAt(facts({ alert: ota, activations: [outcome] }), at(9), delivered);
    expect(brief(d)).toEqual(['SUPPRESSED', 'OTA_INDUCED']);
  });

  it('under PAIR the withdrawal is a late OTA_INDUCED companion: PAIRED', () => {
    const pair = facts({ alert: ota, activations: [], deliveryPreference: 'PAIR' });
    const first = decideAt(pair, ota.receivedAt);
    const d = decideAt({ ...pair, activations: [outcome] }, at(9), first);
    expect(brief(d)).toEqual(['PAIRED', 'OTA_INDUCED']);
  });

  it('an activation still without an outcome does not withdraw anything', () => {
    const d = decideAt(facts({ alert: ota, activations: [scheduled()] }), at(9), delivered);
    expect(d).toBe(delivered);
  });

  it('a restore overlapping the outage keeps it delivered', () => {
    const f = facts({
      alert: ota,
      activations: [outcome],
      supplyRestoredAlerts: [restore({ interruptionAt: at(0), restorationAt: at(40), receivedAt: at(41) })],
    });
    expect(decideAt(f, at(41), delivered)).toBe(delivered);
  });

  it('past correctionHours the delivery is final', () => {
    const d = decideAt(facts({ alert: ota, activations: [outcome] }), at(25 * HOUR), delivered);
    expect(d).toBe(delivered);
  });

  it('past correctionHours a suppression is final too: a very late restore does not release it', () => {
    const f = facts({ alert: ota, activations: [outcome] });
    const held = decideAt(f, ota.receivedAt);
    const suppressed = decideAt(f, at(18, 10 * SEC), held);
    expect(brief(suppressed)).toEqual(['SUPPRESSED', 'OTA_INDUCED']);
    const veryLate = restore({ interruptionAt: at(0), restorationAt: at(40), receivedAt: at(26 * HOUR) });
    expect(decideAt({ ...f, supplyRestoredAlerts: [veryLate] }, at(26 * HOUR), suppressed)).toBe(suppressed);
    const inTime = decideAt({ ...f, supplyRestoredAlerts: [veryLate] }, at(20 * HOUR), suppressed);
    expect(brief(inTime)).toEqual(['RELEASED', 'SUPPLY_RESTORED_OVERLAP']);
    expect(inTime.late).toBe(true);
  });
});

describe('clocks: each device bounded from its own messages', () => {
  // The hub runs 4 minutes slow, the meter 4 minutes fast. The meter executes an immediate
  // activation at true T0+5 s; the hub goes dark at true T0+15 s; its AD1 arrives 3.5 min later.
  const HUB = -4;
  const METER = 4;
  const trueCut = at(0, 15 * SEC);
  const cut = alert({ startAt: new Date(trueCut.getTime() + HUB * MIN), receivedAt: at(3, 45 * SEC) });
  const executed = activation({
    immediate: true,
    submittedAt: at(0),
    requestedAt: at(0),
    actualExecutedAt: at(METER, 5 * SEC),
    outcomeReceivedAt: at(9),
  });

  it("the hub's own AD1 bounds its clock: the provisional window of an immediate activation holds it", () => {
    const f = facts({ alert: cut, activations: [scheduled({ immediate: true, submittedAt: at(0) })] });
    const d = decideAt(f, cut.receivedAt);
    expect(d.outcome).toBe('HELD');
    expect(d.evidence.window?.clocks?.commsHub).toMatchObject({ offsetSeconds: -240, samples: 1 });
  });

  it('once the meter has answered a read, the narrow window on its execution time is right', () => {
    // An earlier read: sent at T0-60, answered by the meter clock at T0-60+4:20, back at T0-59:40.
    const clockRead = read({
      id: 'read-0',
      requestedAt: at(-60),
      answeredAt: at(-60 + METER, 20 * SEC),
      answerReceivedAt: at(-60, 30 * SEC),
    });
    const f = facts({ alert: cut, activations: [executed], verifications: [clockRead] });
    const held = decideAt(f, cut.receivedAt);
    expect(held.evidence.window).toMatchObject({ timing: 'EXECUTED', clockUnsure: false });
    const d = decideAt(f, at(18, 30 * SEC), held);
    expect(brief(d)).toEqual(['SUPPRESSED', 'OTA_INDUCED']);
    expect(d.evidence.window?.clocks?.anchor.offsetSeconds).toBeGreaterThanOrEqual(200);
  });

  it('a meter whose clock nothing bounds yet is asked, and its answer settles the window', () => {
    // Without the immediate request's submission time the outcome alone bounds little.
    const futureDated = activation({ actualExecutedAt: at(METER, 5 * SEC), outcomeReceivedAt: at(9) });
    const f = facts({ alert: cut, activations: [futureDated] });
    const held = decideAt(f, cut.receivedAt);
    expect(held.outcome).toBe('HELD');
    expect(held.evidence.window).toMatchObject({ timing: 'EXECUTED', clockUnsure: true });
    const evidenceAt = at(18, 30 * SEC);
    const asked = decideAt(f, evidenceAt, held);
    expect(brief(asked)).toEqual(['HELD', 'AWAITING_VERIFICATION']);
    const answer = read({
      requestedAt: evidenceAt,
      timeoutAt: at(20, 30 * SEC),
      answeredAt: at(18 + METER, 40 * SEC),
      answerReceivedAt: at(18, 50 * SEC),
      firmwareVersion: NEW_FW,
    });
    const d = decideAt({ ...f, verifications: [answer] }, at(18, 50 * SEC), asked);
    expect(brief(d)).toEqual(['SUPPRESSED', 'OTA_INDUCED']);
    expect(d.evidence.window).toMatchObject({ clockUnsure: false });
  });

  it('a correction beyond MAX_CLOCK_SKEW_MINUTES does not decide: the meter is asked', () => {
    // The same cut, but the meter's earlier read shows it 7 minutes fast: more than any clock is
    // presumed off (5 min). The facts may not hold together (a late request, a queued message),
    // so the window moved by 7 minutes explains the start without deciding on it.
    const FAR = 7;
    const farRead = read({
      id: 'read-0',
      requestedAt: at(-60),
      answeredAt: at(-60 + FAR, 20 * SEC),
      answerReceivedAt: at(-60, 30 * SEC),
    });
    const farExecuted = activation({ actualExecutedAt: at(FAR, 5 * SEC), outcomeReceivedAt: at(9) });
    const f = facts({ alert: cut, activations: [farExecuted], verifications: [farRead] });
    const held = decideAt(f, cut.receivedAt);
    expect(held.evidence.window).toMatchObject({ timing: 'EXECUTED', clockUnsure: true });
    const asked = decideAt(f, at(18, 30 * SEC), held);
    expect(brief(asked)).toEqual(['HELD', 'AWAITING_VERIFICATION']);
  });

  it('a queued AD1 whose start only an unbounded hub clock could put in a known window is delivered at once', () => {
    // A genuine fault 4.5 min after a run that DCC's outcome dated on a meter clock the meter's
    // earlier read pins. The AD1 queued for 55 minutes on its way, so it bounds the hub's clock
    // from below only; a hub 4.5 min fast is within what a clock may be presumed off (5 min).
    // Asking the meter would bound the meter's clock, which is known, not the hub's: the answer
    // ("it ran") cannot say the hub lost power at the run, so nothing can confirm it.
    const clockRead = read({
      id: 'read-0',
      requestedAt: at(-60),
      answeredAt: at(-60, 5 * SEC),
      answerReceivedAt: at(-60, 10 * SEC),
    });
    const ran = activation({ actualExecutedAt: at(0), outcomeReceivedAt: at(1) });
    const fault = alert({ startAt: at(7, 30 * SEC), receivedAt: at(62, 30 * SEC) });
    const f = facts({ alert: fault, activations: [ran], verifications: [clockRead] });
    const d = decideAt(f, fault.receivedAt);
    expect(brief(d)).toEqual(['DELIVERED', 'NO_ACTIVATION_WINDOW']);
    expect(d.evidence.window).toMatchObject({ timing: 'EXECUTED', clockUnsure: true });
    // Had it come on time, its own arrival would have bounded the hub's clock: delivered all the same.
    const onTime = alert({ startAt: at(7, 30 * SEC), receivedAt: at(11) });
    expect(brief(decideAt({ ...f, alert: onTime }, onTime.receivedAt))).toEqual([
      'DELIVERED',
      'NO_ACTIVATION_WINDOW',
    ]);
  });

  it("an immediate activation's outcome bounds the meter's clock from its submission", () => {
    const f = facts({ alert: cut, activations: [executed] });
    const d = decideAt(f, at(18, 30 * SEC), decideAt(f, cut.receivedAt));
    expect(brief(d)).toEqual(['SUPPRESSED', 'OTA_INDUCED']);
  });
});
