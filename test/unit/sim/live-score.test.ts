import { SequenceTracker, liveScores, oursFromReceived } from '../../../src/sim/live-score';
import type { ReceivedMessage } from '../../../src/sim/live-score';
import type { ActivationTruth, Ad1Truth, OutageTruth } from '../../../src/sim/scenario';

const MIN = 60_000;

describe('live mode: a DNO stream by sequence', () => {
  test('new messages advance, repeats are skipped, holes are counted', () => {
    const t = new SequenceTracker('7');
    expect(t.accept('8')).toBe(true);
    expect(t.accept('9')).toBe(true);
    expect(t.accept('9')).toBe(false); // resent after a reconnect
    expect(t.accept('5')).toBe(false);
    expect(t.accept('12')).toBe(true); // 10 and 11 never came
    expect(t).toMatchObject({ last: '12', duplicates: 2, gaps: 2 });
  });

  test('sequences past 2^53 stay exact', () => {
    const t = new SequenceTracker('9007199254740993');
    expect(t.accept('9007199254740994')).toBe(true);
    expect(t.last).toBe('9007199254740994');
    expect(t.gaps).toBe(0);
  });
});

describe('live mode: scoring what the DNOs received', () => {
  const message = (alertId: string, kind: string, receivedAt: number, sequence = '1'): ReceivedMessage => ({
    distributorId: '12',
    sequence,
    kind,
    alertId,
    receivedAt,
    createdAt: receivedAt - 1000,
  });

  test('the first AD1 or RELEASED_AD1 per AD1 counts; restores and other runs do not', () => {
    const alertKey = new Map([
      ['101', 'ch1|t1'],
      ['102', 'ch2|t2'],
      ['103', 'ch3|t3'],
    ]);
    const sent = new Set(['101', '102', '103', '201']);
    const { deliveries, foreign } = oursFromReceived(
      [
        message('101', 'AD1', 5000),
        message('102', 'RELEASED_AD1', 900_000),
        message('201', 'SUPPLY_RESTORED', 950_000), // our restore: neither scored nor foreign
        message('999', 'AD1', 1000), // an alert this run never sent
        message('101', 'AD1', 4000), // the same AD1 seen earlier by another subscriber
      ],
      alertKey,
      sent,
      new Set(['ch2|t2']),
    );
    expect(foreign).toBe(1);
    expect([...deliveries.deliveredAt]).toEqual([
      ['ch1|t1', 4000],
      ['ch2|t2', 900_000],
    ]);
    expect(deliveries.policy).toBe('ours');
    expect([...deliveries.budgetSpent!]).toEqual(['ch2|t2']);
  });

  test('ours is timed from when each AD1 was sent; the others from the scenario', () => {
    // g1: a genuine outage inside an activation window (the blanket hides it); o1: OTA-induced.
    const activation: ActivationTruth = {
      index: 0,
      requestId: 'S:E1:1',
      premises: 0,
      esmeGuid: 'E1',
      modelClass: 'AFFECTED',
      submittedAt: 0,
      executeAt: 10 * MIN,
      fate: 'SUCCEEDED',
      executedAt: 10 * MIN,
      executionDeferred: false,
      outcomeCode: 'success',
      outcomeSentAt: 10.5 * MIN,
      outcomeArrivesAt: 11 * MIN,
      outcomeDelivery: 'ON_TIME',
      endedAt: null,
      reportedExecutedAt: 10 * MIN,
      claim: null,
      cluster: null,
    };
    const ad1 = (key: string, outageId: string, genuine: boolean, startAt: number): Ad1Truth => ({
      key,
      outageId,
      genuine,
      premises: 0,
      esmeGuid: 'E1',
      commsHubGuid: 'C1',
      distributorId: '12',
      startAt,
      arrivedAt: startAt + 3 * MIN,
      throttledCount: 1,
    });
    const outage = (id: string, genuine: boolean): OutageTruth => ({
      id,
      cause: genuine ? 'COINCIDENT' : 'OTA',
      genuine,
      startAt: 0,
      endAt: 0,
      premises: [0],
      areaKey: 'F1',
      distributorId: '12',
      activation: 0,
    });
    const scenario = {
      activations: [activation],
      outages: [outage('g1', true), outage('o1', false)],
      ad1s: [ad1('o1-ad1', 'o1', false, 10 * MIN + 5000), ad1('g1-ad1', 'g1', true, 30 * MIN)],
    };
    // The simulator sent g1's AD1 20 s late; the DNO got it 30 s after that.
    const sentAt = new Map([['g1-ad1', 33 * MIN + 20_000]]);
    const ours = { policy: 'ours' as const, deliveredAt: new Map([['g1-ad1', 33 * MIN + 50_000]]) };
    const { policies, scores } = liveScores(scenario, ours, sentAt, {
      windowMinutes: 30,
      skewMinutes: 2,
      holdMinutes: 5,
      evidenceMinutes: 18,
    });
    expect(policies.map((p) => p.policy)).toEqual(['noFilter', 'blanket', 'ours']);
    const [none, blanket, mine] = scores;
    expect(none).toMatchObject({ otaDelivered: 1, genuineOutagesDelivered: 1, delaySeconds: { max: 0 } });
    expect(blanket).toMatchObject({
      otaDelivered: 0,
      genuineOutagesNeverDelivered: 1,
      hiddenOutages: ['g1'],
    });
    expect(mine).toMatchObject({
      otaAd1s: 1,
      otaDelivered: 0,
      genuineOutagesDelivered: 1,
      genuineOutagesNeverDelivered: 0,
      delaySeconds: { p50: 30, max: 30, over5min: 0 },
    });
  });
});
