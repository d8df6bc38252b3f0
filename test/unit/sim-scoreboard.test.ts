import {
  blanketPolicy,
  computeScores,
  formatScoreMarkdown,
  formatScoreTable,
  percentile,
} from '../../src/sim/scoreboard';
import type { PolicyDeliveries, ScoreAd1 } from '../../src/sim/scoreboard';
import type { ActivationTruth, Ad1Truth } from '../../src/sim/scenario';

const MIN = 60_000;

describe('scoreboard arithmetic', () => {
  // Two genuine outages (g1: two AD1s, g2: one AD1, g3: its only AD1 was lost) and two OTA-induced AD1s.
  const ad1s: ScoreAd1[] = [
    { key: 'a', outageId: 'g1', genuine: true, arrivedAt: 0 },
    { key: 'b', outageId: 'g1', genuine: true, arrivedAt: 10_000 },
    { key: 'c', outageId: 'g2', genuine: true, arrivedAt: 20_000 },
    { key: 'd', outageId: 'o1', genuine: false, arrivedAt: 30_000 },
    { key: 'e', outageId: 'o2', genuine: false, arrivedAt: 40_000 },
    { key: 'f', outageId: 'g3', genuine: true, arrivedAt: null },
  ];
  const policy = (name: PolicyDeliveries['policy'], entries: [string, number][], budget?: string[]) => ({
    policy: name,
    deliveredAt: new Map(entries),
    budgetSpent: budget ? new Set(budget) : undefined,
  });

  it('counts per outage, per AD1, and the added delay', () => {
    const [none, blanket, ours] = computeScores(
      ad1s,
      [
        policy('noFilter', [
          ['a', 0],
          ['b', 10_000],
          ['c', 20_000],
          ['d', 30_000],
          ['e', 40_000],
        ]),
        policy('blanket', [
          ['b', 10_000],
          ['e', 40_000],
        ]),
        // ours: 'a' released 300 s late, 'b' held 60 s, 'c' not sent; 'e' let through by the budget.
        policy(
          'ours',
          [
            ['a', 300_000],
            ['b', 70_000],
            ['e', 40_000],
          ],
          ['e'],
        ),
      ],
      new Set(['e']),
    );
    expect(none).toMatchObject({
      otaAd1s: 2,
      otaDelivered: 2,
      genuineAd1s: 3,
      genuineAd1sDelivered: 3,
      genuineOutages: 2, // g3 never reached the DSP
      genuineOutagesDelivered: 2,
      genuineOutagesNeverDelivered: 0,
      delaySeconds: { p50: 0, p99: 0, max: 0, over5min: 0 },
      budgetSpent: null,
    });
    expect(blanket).toMatchObject({
      otaDelivered: 1,
      genuineOutagesDelivered: 1,
      genuineOutagesNeverDelivered: 1,
      hiddenOutages: ['g2'],
    });
    expect(ours).toMatchObject({
      otaDelivered: 1,
      otaDeliveredOutcomeMissing: 1,
      genuineAd1sDelivered: 2,
      genuineOutagesDelivered: 1,
      hiddenOutages: ['g2'],
      delaySeconds: { p50: 60, p99: 300, max: 300, over5min: 0 },
      budgetSpent: { genuine: 0, ota: 1 },
    });
    const table = formatScoreTable([none, blanket, ours]);
    expect(table).toContain('poa-sieve (FILTER)');
    expect(formatScoreMarkdown([none, blanket, ours]).split('\n')[0]).toMatch(/^\| Metric \| No filter/);
  });

  it('uses nearest-rank percentiles', () => {
    expect(percentile([], 0.5)).toBe(0);
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(percentile([1, 2, 3, 4], 0.99)).toBe(4);
    expect(percentile([5], 0.01)).toBe(5);
  });
});

describe('blanket window', () => {
  const activation = (over: Partial<ActivationTruth>): ActivationTruth => ({
    index: 0,
    requestId: 'r',
    premises: 0,
    esmeGuid: 'E',
    modelClass: 'OTHER',
    submittedAt: 0,
    executeAt: 60 * MIN,
    fate: 'SUCCEEDED',
    executedAt: 61 * MIN,
    executionDeferred: false,
    outcomeCode: 'success',
    outcomeSentAt: 61.5 * MIN,
    outcomeArrivesAt: 62 * MIN,
    outcomeDelivery: 'ON_TIME',
    endedAt: null,
    reportedExecutedAt: 61 * MIN,
    claim: null,
    cluster: null,
    ...over,
  });
  const ad1 = (key: string, startMin: number, esmeGuid = 'E'): Ad1Truth => ({
    key,
    outageId: key,
    genuine: true,
    premises: 0,
    esmeGuid,
    commsHubGuid: 'C',
    distributorId: '12',
    startAt: startMin * MIN,
    arrivedAt: (startMin + 4) * MIN,
    throttledCount: 1,
  });

  it('suppresses inside [anchor - skew, anchor + window] of any model, whatever the outcome', () => {
    const s = {
      ad1s: [ad1('before', 57), ad1('edge', 58), ad1('inside', 80), ad1('after', 92), ad1('other', 80, 'X')],
      activations: [activation({ fate: 'FAILED', outcomeCode: 'noImageHeld' })],
    };
    const delivered = [...blanketPolicy(s).deliveredAt.keys()].sort();
    // Anchors: requested 60 min and executed 61 min (its outcome was known), so [58, 91] is suppressed.
    expect(delivered).toEqual(['after', 'before', 'other']);
  });

  it('ignores activations cancelled before the AD1 arrived', () => {
    const s = {
      ad1s: [ad1('inside', 70)],
      activations: [activation({ fate: 'CANCELLED', endedAt: 30 * MIN, executedAt: null })],
    };
    expect([...blanketPolicy(s).deliveredAt.keys()]).toEqual(['inside']);
  });
});
