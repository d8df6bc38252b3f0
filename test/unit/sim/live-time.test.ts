import {
  ClockMismatchError,
  anchorScenario,
  fitServerClock,
  liveRequestId,
  realAt,
  realWhen,
  requestCounterBase,
  scenarioAt,
  serverAt,
  toServer,
  tokenTimes,
} from '../../../src/sim/anchor';
import type { ClockSample } from '../../../src/sim/anchor';
import { alertInput } from '../../../src/sim/live-api';
import type { SimEvent } from '../../../src/sim/scenario';

const T0 = Date.parse('2026-03-02T06:00:00.000Z');

/** A server clock at `speed`, read at real instants with a symmetric round trip. */
const samplesOf = (speed: number, reals: number[], rtt = 2, serverShift = 0): ClockSample[] =>
  reals.map((r) => ({
    sentAt: r - rtt / 2,
    receivedAt: r + rtt / 2,
    serverTime: T0 + serverShift + Math.floor(r * speed),
    speed,
  }));

describe('live mode: the server clock and the scenario anchor', () => {
  test('fits the clock line through the readings, on the reading with the shortest round trip', () => {
    const samples = samplesOf(600, [1000, 1500, 2000]);
    samples[1] = { ...samples[1], sentAt: 1499.5, receivedAt: 1500.5 };
    const clock = fitServerClock(samples, 600);
    expect(clock).toMatchObject({ speed: 600, realRef: 1500, serverRef: T0 + 900_000, uncertaintyMs: 300 });
    expect(clock.measuredSpeed).toBeCloseTo(600, 6);
    expect(serverAt(clock, 2500)).toBe(T0 + 1_500_000);
    expect(realAt(clock, T0 + 1_500_000)).toBe(2500);
  });

  test('refuses a server whose reported speed is not --speed, naming the fix', () => {
    expect(() => fitServerClock(samplesOf(1, [0, 500, 1000]), 600)).toThrow(ClockMismatchError);
    expect(() => fitServerClock(samplesOf(1, [0, 500, 1000]), 600)).toThrow('CLOCK_SPEED=600');
    expect(() => fitServerClock(samplesOf(600, [0, 500, 1000]), 1)).toThrow('--speed 600');
  });

  test('refuses a clock that does not move as its speed says (paused, stepped or overloaded)', () => {
    const paused = samplesOf(600, [0, 500, 1000]).map((s) => ({ ...s, serverTime: T0 }));
    expect(() => fitServerClock(paused, 600)).toThrow('is it paused or overloaded');
    const half = samplesOf(300, [0, 500, 1000]).map((s) => ({ ...s, speed: 600 }));
    expect(() => fitServerClock(half, 600)).toThrow(ClockMismatchError);
    // 5% off is within the 10% tolerance; a large round trip widens it.
    const near = samplesOf(630, [0, 500, 1000]).map((s) => ({ ...s, speed: 600 }));
    expect(fitServerClock(near, 600).measuredSpeed).toBeCloseTo(630, 0);
    expect(() => fitServerClock(samplesOf(600, [0]), 600)).toThrow('at least two samples');
  });

  test('anchors the scenario start on a whole server second at least the lead ahead', () => {
    const clock = fitServerClock(samplesOf(600, [0, 500, 1000], 2, 123), 600);
    const scenarioStart = Date.parse('2026-01-01T00:00:00Z');
    const anchor = anchorScenario(clock, scenarioStart, 1000, 250);
    expect(anchor.offsetMs % 1000).toBe(0);
    const startOnServer = toServer(anchor, scenarioStart);
    expect(startOnServer).toBeGreaterThanOrEqual(serverAt(clock, 1250));
    expect(startOnServer - serverAt(clock, 1250)).toBeLessThan(1000);
    // An event an hour into the scenario is due six real seconds after the start at 600x.
    expect(realWhen(anchor, scenarioStart + 3_600_000) - realWhen(anchor, scenarioStart)).toBeCloseTo(
      6000,
      6,
    );
    expect(scenarioAt(anchor, realWhen(anchor, scenarioStart + 42_000))).toBeCloseTo(
      scenarioStart + 42_000,
      3,
    );
  });

  test('at speed 1 the scenario lands on "now", whatever date it was generated for', () => {
    const clock = fitServerClock(samplesOf(1, [0, 500, 1000]), 1);
    const anchor = anchorScenario(clock, Date.parse('2020-06-01T00:00:00Z'), 1000, 250);
    expect(toServer(anchor, Date.parse('2020-06-01T00:00:00Z'))).toBe(
      Math.ceil(serverAt(clock, 1250) / 1000) * 1000,
    );
    expect(
      realWhen(anchor, Date.parse('2020-06-01T00:01:00Z')) -
        realWhen(anchor, Date.parse('2020-06-01T00:00:00Z')),
    ).toBe(60_000);
  });

  test('tokens are dated on wall time a minute back and outlive the run, in real time, by an hour', () => {
    const clock = fitServerClock(samplesOf(600, [0, 500, 1000]), 600);
    const wall = Date.parse('2026-12-07T03:00:00.500Z');
    const { issuedAt, ttlSeconds } = tokenTimes(clock, 1000, serverAt(clock, 1000) + 2 * 86_400_000, wall);
    expect(issuedAt.getTime()).toBe(Date.parse('2026-12-07T02:59:00Z'));
    // Two server days at 600x are 288 real seconds.
    expect(issuedAt.getTime() + ttlSeconds * 1000).toBeGreaterThanOrEqual(wall + 288_000 + 3600_000);
    expect(ttlSeconds).toBeLessThan(2 * 3600);
  });
});

describe('live mode: scenario values on the server', () => {
  test('request counters move up by a per-run base, keeping their order', () => {
    const base = requestCounterBase(Date.parse('2026-03-02T06:00:00.900Z'));
    expect(base).toBe(1_772_431_200_000_000n);
    const a = liveRequestId('90-B3-D5-1F-30-01-00-00:00-DB-E5-00-00-00-00-01:1000', base);
    const b = liveRequestId('90-B3-D5-1F-30-01-00-00:00-DB-E5-00-00-00-00-01:1001', base);
    expect(a).toBe('90-B3-D5-1F-30-01-00-00:00-DB-E5-00-00-00-00-01:1772431200001000');
    expect(BigInt(b.split(':')[2]) - BigInt(a.split(':')[2])).toBe(1n);
    expect(() => liveRequestId('A:B:18446744073709551615', 1n)).toThrow('uint64');
  });

  test('alerts carry their times moved by the offset, and outcomes the live request ID', () => {
    const map = { offsetMs: 3_600_000, requestCounterBase: 5_000_000n };
    const at = Date.parse('2026-03-02T10:00:00Z');
    const ad1: SimEvent = {
      kind: 'AD1',
      at: at + 200_000,
      seq: 1,
      key: 'k',
      commsHubGuid: '00-DB-C4-00-00-00-00-01',
      startAt: at,
      mpan: '1000000000003',
      throttledCount: 2,
      duplicate: false,
    };
    expect(alertInput(ad1, map)).toEqual({
      powerOutage: {
        commsHubGuid: '00-DB-C4-00-00-00-00-01',
        startAt: '2026-03-02T11:00:00.000Z',
        mpan: '1000000000003',
        throttledCount: 2,
      },
    });
    const outcome: SimEvent = {
      kind: 'OUTCOME',
      at,
      seq: 2,
      activation: 0,
      requestId: 'S:E:1000',
      esmeGuid: 'E',
      channel: '8F66',
      outcomeCode: 'success',
      executedAt: at - 30_000,
      firmwareVersion: '00020130',
    };
    expect(alertInput(outcome, map)).toEqual({
      activationOutcome: {
        esmeGuid: 'E',
        alertCode: '8F66',
        requestId: 'S:E:5001000',
        outcomeCode: 'success',
        executedAt: '2026-03-02T10:59:30.000Z',
        firmwareVersion: '00020130',
      },
    });
    const restore: SimEvent = {
      kind: 'RESTORE',
      at,
      seq: 3,
      outageId: 'o',
      esmeGuid: 'E',
      mpan: '1000000000003',
      interruptionAt: at - 600_000,
      restorationAt: at,
    };
    expect(alertInput(restore, map)).toMatchObject({
      supplyRestored: {
        interruptionAt: '2026-03-02T10:50:00.000Z',
        restorationAt: '2026-03-02T11:00:00.000Z',
      },
    });
    expect(() =>
      alertInput({ ...restore, kind: 'CANCEL', activation: 0, requestId: 'x' } as SimEvent, map),
    ).toThrow('not an alert');
  });
});
