import { oursFromReceived } from '../../../src/sim/live-score';
import type { ReceivedMessage } from '../../../src/sim/live-score';
import {
  computeScores,
  deliveriesFromStream,
  formatScoreTable,
  stands,
  WITHDRAWAL_GRACE_MINUTES,
} from '../../../src/sim/scoreboard';
import type { PolicyDeliveries, ScoreAd1 } from '../../../src/sim/scoreboard';

/**
 * Corrections on the scoreboard: an AD1 delivered and later withdrawn (a `WITHDRAWN` message on a
 * FILTER DNO's stream). An OTA-induced one withdrawn within 15 minutes of its delivery is half a
 * leak, withdrawn later or never a whole one; a genuine one withdrawn is a failure of its own, and
 * its outage counts as delivered only if another of its AD1s stands.
 */

const MIN = 60_000;

describe('deliveriesFromStream', () => {
  it('keeps the first delivery and a withdrawal after it, unless the AD1 is delivered again', () => {
    const { deliveredAt, withdrawnAt } = deliveriesFromStream([
      { key: 'a', kind: 'AD1', at: 10 },
      { key: 'a', kind: 'WITHDRAWN', at: 20 },
      { key: 'a', kind: 'WITHDRAWN', at: 30 }, // a repeat: the first counts
      { key: 'b', kind: 'WITHDRAWN', at: 5 }, // never delivered: ignored
      { key: 'c', kind: 'AD1', at: 1 },
      { key: 'c', kind: 'WITHDRAWN', at: 2 },
      { key: 'c', kind: 'RELEASED_AD1', at: 3 }, // delivered again: it stands
      { key: 'd', kind: 'SUPPLY_RESTORED', at: 1 },
      { key: 'e', kind: 'RELEASED_AD1', at: 50 },
    ]);
    expect([...deliveredAt].sort()).toEqual([
      ['a', 10],
      ['c', 1],
      ['e', 50],
    ]);
    expect([...withdrawnAt]).toEqual([['a', 20]]);
  });

  it('orders by time whatever order the messages were collected in', () => {
    const { deliveredAt, withdrawnAt } = deliveriesFromStream([
      { key: 'a', kind: 'WITHDRAWN', at: 20 },
      { key: 'a', kind: 'AD1', at: 10 },
    ]);
    expect(deliveredAt.get('a')).toBe(10);
    expect(withdrawnAt.get('a')).toBe(20);
  });
});

describe('scoring corrections', () => {
  // o1-o4 OTA-induced; g1 a genuine outage with two AD1s, g2 one with one AD1.
  const ad1s: ScoreAd1[] = [
    { key: 'o1', outageId: 'ota-1', genuine: false, arrivedAt: 0 },
    { key: 'o2', outageId: 'ota-2', genuine: false, arrivedAt: 0 },
    { key: 'o3', outageId: 'ota-3', genuine: false, arrivedAt: 0 },
    { key: 'o4', outageId: 'ota-4', genuine: false, arrivedAt: 0 },
    { key: 'g1a', outageId: 'g1', genuine: true, arrivedAt: 0 },
    { key: 'g1b', outageId: 'g1', genuine: true, arrivedAt: 0 },
    { key: 'g2', outageId: 'g2', genuine: true, arrivedAt: 0 },
  ];
  const ours: PolicyDeliveries = {
    policy: 'ours',
    deliveredAt: new Map([
      ['o1', MIN], // withdrawn 15 min later: half a leak
      ['o2', MIN], // withdrawn 16 min later: a whole leak
      ['o3', MIN], // never withdrawn: a whole leak
      ['g1a', MIN], // withdrawn, but g1b stands: the outage is delivered
      ['g1b', MIN],
      ['g2', MIN], // withdrawn, the outage's only AD1: the outage is not delivered
    ]),
    withdrawnAt: new Map([
      ['o1', MIN + WITHDRAWAL_GRACE_MINUTES * MIN],
      ['o2', 17 * MIN],
      ['g1a', 3 * MIN],
      ['g2', 4 * MIN],
    ]),
  };

  it('counts an OTA-induced AD1 withdrawn within 15 minutes as half a leak', () => {
    expect(WITHDRAWAL_GRACE_MINUTES).toBe(15);
    const [score] = computeScores(ad1s, [ours]);
    expect(score).toMatchObject({
      otaAd1s: 4,
      otaDelivered: 3,
      otaWithdrawnInTime: 1,
      otaWithdrawnLate: 1,
      otaLeaks: 2.5,
    });
  });

  it('counts a genuine AD1 withdrawn as a failure, and its outage undelivered when none stands', () => {
    const [score] = computeScores(ad1s, [ours]);
    expect(score).toMatchObject({
      genuineAd1s: 3,
      genuineAd1sDelivered: 3,
      genuineAd1sWithdrawn: 2,
      genuineOutages: 2,
      genuineOutagesDelivered: 1,
      genuineOutagesNeverDelivered: 1,
      hiddenOutages: ['g2'],
    });
    expect(stands(ours, 'g1a')).toBe(false);
    expect(stands(ours, 'g1b')).toBe(true);
  });

  it('leaves a policy without withdrawals as it was, and prints the rows', () => {
    const plain = { policy: 'noFilter' as const, deliveredAt: ours.deliveredAt };
    const [none, mine] = computeScores(ad1s, [plain, ours]);
    expect(none).toMatchObject({
      otaDelivered: 3,
      otaLeaks: 3,
      otaWithdrawnInTime: 0,
      otaWithdrawnLate: 0,
      genuineAd1sWithdrawn: 0,
      genuineOutagesDelivered: 2,
    });
    const table = formatScoreTable([none, mine]);
    expect(table).toMatch(/of which withdrawn <= 15 min \/ later\s+-\s+1 \/ 1/);
    expect(table).toMatch(/OTA-induced AD1 leaks \(in-time withdrawal = 1\/2\)\s+3 \/ 4\s+2\.5 \/ 4/);
    expect(table).toMatch(/Genuine AD1s withdrawn\s+-\s+2/);
  });
});

describe('live mode: WITHDRAWN messages a DNO received', () => {
  const message = (alertId: string, kind: string, receivedAt: number): ReceivedMessage => ({
    distributorId: '12',
    sequence: String(receivedAt),
    kind,
    alertId,
    receivedAt,
    createdAt: receivedAt,
  });

  it('become the withdrawals of ours', () => {
    const alertKey = new Map([
      ['1', 'k1'],
      ['2', 'k2'],
    ]);
    const { deliveries } = oursFromReceived(
      [message('1', 'AD1', 10 * MIN), message('1', 'WITHDRAWN', 20 * MIN), message('2', 'AD1', 11 * MIN)],
      alertKey,
      new Set(['1', '2']),
    );
    expect([...deliveries.deliveredAt]).toEqual([
      ['k1', 10 * MIN],
      ['k2', 11 * MIN],
    ]);
    expect([...deliveries.withdrawnAt!]).toEqual([['k1', 20 * MIN]]);
  });
});
