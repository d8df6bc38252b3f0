import { SupplierLane } from '../../../src/sim/supplier-lane';

/** A request the test ends by hand, with a log of when each started and ended. */
function controlled(log: string[], name: string) {
  let end: () => void = () => undefined;
  const ended = new Promise<void>((resolve) => (end = resolve));
  return {
    send: async () => {
      log.push(`start ${name}`);
      await ended;
      log.push(`end ${name}`);
    },
    end: () => end(),
  };
}
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('SupplierLane', () => {
  test("a meter's requests go in order; other meters' go beside them", async () => {
    const lane = new SupplierLane(4);
    const log: string[] = [];
    const schedule = controlled(log, 'A schedule');
    const cancel = controlled(log, 'A cancel');
    const other = controlled(log, 'B schedule');
    lane.submit({ kind: 'SCHEDULE', activation: 1, esmeGuid: 'A' }, schedule.send);
    lane.submit({ kind: 'CANCEL', activation: 1, esmeGuid: 'A' }, cancel.send);
    lane.submit({ kind: 'SCHEDULE', activation: 2, esmeGuid: 'B' }, other.send);
    await turn();
    expect(log).toEqual(['start A schedule', 'start B schedule']);
    other.end();
    await turn();
    expect(log).toContain('end B schedule');
    expect(log).not.toContain('start A cancel');
    schedule.end();
    await turn();
    expect(log.slice(-2)).toEqual(['end A schedule', 'start A cancel']);
    cancel.end();
    await lane.drain();
    expect(log.at(-1)).toBe('end A cancel');
  });

  test('at most `concurrency` requests are in flight', async () => {
    const lane = new SupplierLane(2);
    const log: string[] = [];
    const requests = ['A', 'B', 'C'].map((m) => controlled(log, m));
    requests.forEach((r, i) => lane.submit({ kind: 'SCHEDULE', activation: i, esmeGuid: `${i}` }, r.send));
    await turn();
    expect(log).toEqual(['start A', 'start B']);
    requests[1].end();
    await turn();
    expect(log).toEqual(['start A', 'start B', 'end B', 'start C']);
    requests[0].end();
    requests[2].end();
    await lane.drain();
    expect(log.filter((l) => l.startsWith('end'))).toHaveLength(3);
  });

  test('an activation is pending until its SR11.3 has ended, and not before it is submitted', async () => {
    const lane = new SupplierLane(1);
    const log: string[] = [];
    const schedule = controlled(log, 'schedule');
    expect(lane.pending(7)).toBeUndefined();
    lane.submit({ kind: 'SCHEDULE', activation: 7, esmeGuid: 'A' }, schedule.send);
    lane.submit({ kind: 'CLAIM', activation: 8, esmeGuid: 'B' }, async () => undefined);
    const pending = lane.pending(7);
    expect(pending).toBeDefined();
    // A claim is not an SR11.3: nothing waits for it.
    expect(lane.pending(8)).toBeUndefined();
    expect(lane.pending(undefined)).toBeUndefined();
    schedule.end();
    await pending;
    await turn();
    expect(lane.pending(7)).toBeUndefined();
    await lane.drain();
  });
});
