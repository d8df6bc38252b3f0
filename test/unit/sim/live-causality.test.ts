import { CausalQueue, moved } from '../../../src/sim/live-causality';
import type { SimEvent } from '../../../src/sim/scenario';

/**
 * Live mode under lag: an SR11.3 that reached the server late delays its activation's device
 * facts (outcome, claim, the AD1s of its cut, a genuine outage placed after its execution) by
 * that lag; they are then sent in order of their moved times, and nothing else moves.
 */

const SECOND = 1000;
const MIN = 60 * SECOND;

const schedule = (activation: number, at: number, executeAt: number | null): SimEvent => ({
  kind: 'SCHEDULE',
  at,
  seq: at,
  activation,
  requestId: `S:E${activation}:${activation}`,
  esmeGuid: `E${activation}`,
  imageHash: 'h',
  executeAt,
});
const outcome = (activation: number, at: number, executedAt: number): SimEvent => ({
  kind: 'OUTCOME',
  at,
  seq: at,
  activation,
  requestId: `S:E${activation}:${activation}`,
  esmeGuid: `E${activation}`,
  channel: 'IMMEDIATE',
  outcomeCode: 'success',
  executedAt,
  firmwareVersion: '00020130',
});
const ad1 = (key: string, at: number, startAt: number): SimEvent => ({
  kind: 'AD1',
  at,
  seq: at,
  key,
  commsHubGuid: 'C',
  startAt,
  mpan: '1200023305967',
  throttledCount: 1,
  duplicate: false,
});
const restore = (at: number): SimEvent => ({
  kind: 'RESTORE',
  at,
  seq: at,
  outageId: 'g',
  esmeGuid: 'E9',
  mpan: '1200023305967',
  interruptionAt: 0,
  restorationAt: at,
});

/** An immediate activation 0 (submitted at 0, executed at 30 s, cut at 40 s, AD1 at 4 min, outcome at 9 min). */
function scenario() {
  const events = [
    schedule(0, 0, null),
    outcome(0, 9 * MIN, 30 * SECOND),
    ad1('cut', 4 * MIN, 40 * SECOND),
    restore(5 * MIN),
    restore(10 * MIN),
  ].sort((a, b) => a.at - b.at);
  const truth = {
    ad1s: [{ key: 'cut', outageId: 'OTA-1' }],
    outages: [{ id: 'OTA-1', genuine: false, activation: 0 }],
  } as unknown as ConstructorParameters<typeof CausalQueue>[1];
  return { events, truth };
}

function drain(q: CausalQueue, onSchedule: (e: SimEvent) => void): { due: number; event: SimEvent }[] {
  const sent: { due: number; event: SimEvent }[] = [];
  for (let next = q.take(); next; next = q.take()) {
    sent.push({ due: next.due, event: next.event });
    if (next.event.kind === 'SCHEDULE') onSchedule(next.event);
  }
  return sent;
}

describe('live mode: causality under lag', () => {
  it('moves nothing when the server received every request on time', () => {
    const { events, truth } = scenario();
    const q = new CausalQueue(events, truth);
    const sent = drain(q, (e) => q.requestReceived(e as Extract<SimEvent, { kind: 'SCHEDULE' }>, e.at));
    expect(sent.map((s) => s.event)).toEqual(events);
    expect(q.report()).toMatchObject({ requests: 1, shiftedActivations: 0, shiftedEvents: 0 });
    expect(q.done).toBe(events.length);
  });

  it("moves an immediate activation's outcome and cut AD1 by the lag of its request, in time order", () => {
    const { events, truth } = scenario();
    const q = new CausalQueue(events, truth);
    // The SR11.3 reached the server 2.5 min late (rounded up to whole seconds).
    const sent = drain(q, (e) =>
      q.requestReceived(e as Extract<SimEvent, { kind: 'SCHEDULE' }>, e.at + 150 * SECOND - 300),
    );
    const shift = 150 * SECOND;
    expect(sent.map((s) => [s.event.kind, s.due])).toEqual([
      ['SCHEDULE', 0],
      ['RESTORE', 5 * MIN],
      ['AD1', 4 * MIN + shift],
      ['RESTORE', 10 * MIN],
      ['OUTCOME', 9 * MIN + shift],
    ]);
    const cut = sent.find((s) => s.event.kind === 'AD1')!.event as Extract<SimEvent, { kind: 'AD1' }>;
    expect(cut.startAt).toBe(40 * SECOND + shift);
    expect(cut.key).toBe('cut');
    const out = sent.find((s) => s.event.kind === 'OUTCOME')!.event as Extract<SimEvent, { kind: 'OUTCOME' }>;
    expect(out.executedAt).toBe(30 * SECOND + shift);
    expect(q.report()).toMatchObject({
      requests: 1,
      requestLagSeconds: { max: 149.7 },
      shiftedActivations: 1,
      shiftSeconds: { p50: 150, max: 150 },
      shiftedEvents: 2,
    });
  });

  it('moves a future-dated activation only when its request arrived after the requested time', () => {
    const events = [schedule(1, 0, 30 * MIN), outcome(1, 32 * MIN, 30 * MIN + 20 * SECOND)];
    const truth = { ad1s: [], outages: [] };
    const early = new CausalQueue(events, truth);
    drain(early, (e) => early.requestReceived(e as Extract<SimEvent, { kind: 'SCHEDULE' }>, 10 * MIN));
    expect(early.report().shiftedActivations).toBe(0);
    const late = new CausalQueue(events, truth);
    const sent = drain(late, (e) =>
      late.requestReceived(e as Extract<SimEvent, { kind: 'SCHEDULE' }>, 31 * MIN),
    );
    expect(sent[1]).toMatchObject({ due: 33 * MIN, event: { executedAt: 31 * MIN + 20 * SECOND } });
  });

  it('moves the requested time of a future-dated request sent after it, keeping its lead', () => {
    const events = [schedule(2, 0, 10 * MIN), outcome(2, 11 * MIN, 10 * MIN + 20 * SECOND)];
    const q = new CausalQueue(events, { ad1s: [], outages: [] });
    const first = q.take()!.event as Extract<SimEvent, { kind: 'SCHEDULE' }>;
    // Sent 12.5 min late: 2.5 min after its requested time.
    expect(q.prepareRequest(first, 9 * MIN)).toBe(first);
    const sent = q.prepareRequest(first, 12.5 * MIN);
    expect(sent.executeAt).toBe(22.5 * MIN);
    q.requestReceived(sent, 12.5 * MIN + 200);
    expect(q.take()).toMatchObject({ due: 23.5 * MIN, event: { executedAt: 22.5 * MIN + 20 * SECOND } });
    expect(q.report()).toMatchObject({ movedRequests: 1, shiftedActivations: 1, shiftSeconds: { max: 750 } });
  });

  it('moves a genuine outage the scenario places after the execution with it: its AD1 and restores', () => {
    // Outage g starts 6 min after activation 0 ran (coincident premises): left behind by a
    // 10-minute lag, it would start before the activation DCC says ran.
    const events = [
      schedule(0, 0, null),
      ad1('coincident', 10 * MIN, 6 * MIN),
      restore(40 * MIN),
      outcome(0, 45 * MIN, 30 * SECOND),
    ];
    const truth = {
      ad1s: [{ key: 'coincident', outageId: 'g' }],
      outages: [{ id: 'g', genuine: true, activation: 0 }],
    } as unknown as ConstructorParameters<typeof CausalQueue>[1];
    const q = new CausalQueue(events, truth);
    const sent = drain(q, (e) => q.requestReceived(e as Extract<SimEvent, { kind: 'SCHEDULE' }>, 10 * MIN));
    expect(sent.map((x) => [x.event.kind, x.due])).toEqual([
      ['SCHEDULE', 0],
      ['AD1', 20 * MIN],
      ['RESTORE', 50 * MIN],
      ['OUTCOME', 55 * MIN],
    ]);
    expect(sent[1].event).toMatchObject({ startAt: 16 * MIN });
    expect(sent[2].event).toMatchObject({ interruptionAt: 10 * MIN, restorationAt: 50 * MIN });
  });

  it('moves only device facts', () => {
    const s = schedule(3, MIN, null);
    expect(moved(s, MIN)).toBe(s);
    expect(moved(outcome(0, MIN, 0), MIN)).toMatchObject({ at: 2 * MIN, executedAt: MIN });
    expect(moved(restore(MIN), MIN)).toMatchObject({
      at: 2 * MIN,
      interruptionAt: MIN,
      restorationAt: 2 * MIN,
    });
  });
});
