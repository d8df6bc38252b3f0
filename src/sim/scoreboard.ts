import type { Ad1Truth, Scenario } from './scenario';

/**
 * The three policies on the same traffic, and the scoreboard that compares them. Everything here
 * is plain arithmetic over the scenario's ground truth and each policy's delivery times.
 */

const MINUTE = 60_000;

/**
 * An OTA-induced AD1 delivered and withdrawn (a `WITHDRAWN` message on the DNO's stream) within
 * this many minutes of its delivery counts as half a leak: the DNO was told, but told to stand
 * down before a crew would normally have moved. Withdrawn later, or never: a whole leak.
 */
export const WITHDRAWAL_GRACE_MINUTES = 15;

export type PolicyName = 'noFilter' | 'blanket' | 'ours';

export const POLICY_LABELS: Record<PolicyName, string> = {
  noFilter: 'No filter',
  blanket: 'Blanket 30-min window',
  ours: 'poa-sieve (FILTER)',
};

/** What one policy did: for each AD1 (by key) that reached the DNO, when it first did. */
export interface PolicyDeliveries {
  readonly policy: PolicyName;
  readonly deliveredAt: ReadonlyMap<string, number>;
  /** AD1 keys the policy let through because its safety budget was spent (ours only). */
  readonly budgetSpent?: ReadonlySet<string>;
  /**
   * Ours: AD1s delivered and then withdrawn (a correction: the service judged them OTA-induced
   * after all), by key, at the withdrawal; an AD1 delivered again after it is not in the map.
   */
  readonly withdrawnAt?: ReadonlyMap<string, number>;
}

/** One message on a DNO's stream about an AD1 (by the AD1's scenario key). */
export interface StreamEntry {
  readonly key: string;
  /** AD1, RELEASED_AD1 and WITHDRAWN matter here; other kinds are ignored. */
  readonly kind: string;
  readonly at: number;
}

/**
 * When each AD1 was first delivered (AD1 or RELEASED_AD1) and, if the last word on it was a
 * WITHDRAWN after that, when it was first withdrawn. A withdrawal of an AD1 never delivered is
 * ignored; a delivery after a withdrawal puts the AD1 back.
 */
export function deliveriesFromStream(entries: readonly StreamEntry[]): {
  deliveredAt: Map<string, number>;
  withdrawnAt: Map<string, number>;
} {
  const deliveredAt = new Map<string, number>();
  const withdrawnAt = new Map<string, number>();
  for (const e of [...entries].sort((x, y) => x.at - y.at)) {
    if (e.kind === 'AD1' || e.kind === 'RELEASED_AD1') {
      if (!deliveredAt.has(e.key)) deliveredAt.set(e.key, e.at);
      withdrawnAt.delete(e.key);
    } else if (e.kind === 'WITHDRAWN' && deliveredAt.has(e.key) && !withdrawnAt.has(e.key)) {
      withdrawnAt.set(e.key, e.at);
    }
  }
  return { deliveredAt, withdrawnAt };
}

/** True when the policy delivered the AD1 and did not withdraw it. */
export function stands(p: PolicyDeliveries, key: string): boolean {
  return p.deliveredAt.has(key) && !(p.withdrawnAt?.has(key) ?? false);
}

/** The AD1 facts the scoreboard needs (a subset of Ad1Truth). */
export type ScoreAd1 = Pick<Ad1Truth, 'key' | 'outageId' | 'genuine' | 'arrivedAt'>;

export interface PolicyScore {
  readonly policy: PolicyName;
  readonly label: string;
  /** Distinct OTA-induced AD1s that arrived at the DSP, and how many reached a DNO. */
  readonly otaAd1s: number;
  readonly otaDelivered: number;
  /** Of those delivered: where the activation's outcome was lost or came after the hold (fail-open by design). */
  readonly otaDeliveredOutcomeMissing: number;
  /** Of those delivered: withdrawn within WITHDRAWAL_GRACE_MINUTES of delivery (half a leak each), or later. */
  readonly otaWithdrawnInTime: number;
  readonly otaWithdrawnLate: number;
  /** Delivered OTA-induced AD1s, counting those withdrawn in time as half: the leak. */
  readonly otaLeaks: number;
  /** Genuine AD1s delivered and then withdrawn: a failure (the outage counts only if another AD1 stands). */
  readonly genuineAd1sWithdrawn: number;
  readonly genuineAd1s: number;
  /** Genuine AD1s that reached their DNO, withdrawn ones included. */
  readonly genuineAd1sDelivered: number;
  /** Genuine outages with at least one AD1 that arrived at the DSP; delivered: one of its AD1s stands. */
  readonly genuineOutages: number;
  readonly genuineOutagesDelivered: number;
  readonly genuineOutagesNeverDelivered: number;
  readonly hiddenOutages: string[];
  /** Added delay of delivered genuine AD1s (delivery minus arrival), seconds. */
  readonly delaySeconds: { p50: number; p99: number; max: number; over5min: number };
  readonly budgetSpent: { genuine: number; ota: number } | null;
  /** Ours: verification reads the service sent, and the AD1s it held as candidates. */
  readonly verification?: {
    readonly requests: number;
    readonly answers: number;
    readonly candidates: number;
  };
}

/** Nearest-rank percentile of an ascending list (0 for an empty list). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil(p * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1];
}

export function computeScores(
  ad1s: readonly ScoreAd1[],
  policies: readonly PolicyDeliveries[],
  outcomeMissing: ReadonlySet<string> = new Set(),
): PolicyScore[] {
  const arrived = ad1s.filter((a) => a.arrivedAt !== null);
  const genuine = arrived.filter((a) => a.genuine);
  const ota = arrived.filter((a) => !a.genuine);
  const outageIds = [...new Set(genuine.map((a) => a.outageId))];
  return policies.map((p) => {
    const delivered = (a: ScoreAd1) => p.deliveredAt.has(a.key);
    const deliveredOutages = new Set(genuine.filter((a) => stands(p, a.key)).map((a) => a.outageId));
    const hidden = outageIds.filter((id) => !deliveredOutages.has(id)).sort();
    const delays = genuine
      .filter(delivered)
      .map((a) => Math.max(0, (p.deliveredAt.get(a.key)! - a.arrivedAt!) / 1000))
      .sort((x, y) => x - y);
    const otaDelivered = ota.filter(delivered);
    const withdrawals = withdrawalsOf(p, otaDelivered);
    return {
      policy: p.policy,
      label: POLICY_LABELS[p.policy],
      otaAd1s: ota.length,
      otaDelivered: otaDelivered.length,
      otaDeliveredOutcomeMissing: otaDelivered.filter((a) => outcomeMissing.has(a.key)).length,
      ...withdrawals,
      otaLeaks: otaDelivered.length - withdrawals.otaWithdrawnInTime / 2,
      genuineAd1sWithdrawn: genuine.filter((a) => delivered(a) && !stands(p, a.key)).length,
      genuineAd1s: genuine.length,
      genuineAd1sDelivered: genuine.filter(delivered).length,
      genuineOutages: outageIds.length,
      genuineOutagesDelivered: deliveredOutages.size,
      genuineOutagesNeverDelivered: hidden.length,
      hiddenOutages: hidden,
      delaySeconds: {
        p50: percentile(delays, 0.5),
        p99: percentile(delays, 0.99),
        max: delays.length ? delays[delays.length - 1] : 0,
        over5min: delays.filter((d) => d > 5 * 60).length,
      },
      budgetSpent: p.budgetSpent
        ? {
            genuine: genuine.filter((a) => p.budgetSpent!.has(a.key)).length,
            ota: ota.filter((a) => p.budgetSpent!.has(a.key)).length,
          }
        : null,
    };
  });
}

/** Delivered OTA-induced AD1s withdrawn within the grace period of their delivery, and later. */
function withdrawalsOf(
  p: PolicyDeliveries,
  otaDelivered: readonly ScoreAd1[],
): { otaWithdrawnInTime: number; otaWithdrawnLate: number } {
  let otaWithdrawnInTime = 0;
  let otaWithdrawnLate = 0;
  for (const a of otaDelivered) {
    const at = p.withdrawnAt?.get(a.key);
    if (at === undefined) continue;
    if (at - p.deliveredAt.get(a.key)! <= WITHDRAWAL_GRACE_MINUTES * MINUTE) otaWithdrawnInTime++;
    else otaWithdrawnLate++;
  }
  return { otaWithdrawnInTime, otaWithdrawnLate };
}

/** No filter: every AD1 reaches its DNO when it arrives. */
export function noFilterPolicy(scenario: Pick<Scenario, 'ad1s'>): PolicyDeliveries {
  const deliveredAt = new Map<string, number>();
  for (const a of scenario.ad1s) if (a.arrivedAt !== null) deliveredAt.set(a.key, a.arrivedAt);
  return { policy: 'noFilter', deliveredAt };
}

/**
 * The blanket window (the working group's "Solution 3" taken literally): suppress every AD1 whose
 * CH's ESME had an SR11.3 requested or executed within `windowMinutes` before the AD1 start,
 * whatever its outcome, with the same clock-skew tolerance the sieve uses. Only what the DSP
 * knew when the AD1 arrived counts: submitted activations, known execution times, and
 * cancellations or supersessions already seen. Everything else is delivered on arrival.
 */
export function blanketPolicy(
  scenario: Pick<Scenario, 'ad1s' | 'activations'>,
  windowMinutes = 30,
  skewMinutes = 2,
): PolicyDeliveries {
  const byEsme = new Map<string, Scenario['activations']>();
  for (const a of scenario.activations) byEsme.set(a.esmeGuid, [...(byEsme.get(a.esmeGuid) ?? []), a]);
  const deliveredAt = new Map<string, number>();
  for (const ad1 of scenario.ad1s) {
    if (ad1.arrivedAt === null) continue;
    const arrived = ad1.arrivedAt;
    const suppressed = (byEsme.get(ad1.esmeGuid) ?? []).some((a) => {
      if (a.submittedAt > arrived) return false;
      if (a.endedAt !== null && a.endedAt <= arrived) return false;
      const anchors = [a.executeAt ?? a.submittedAt];
      // The execution as the meter reported it (its clock): all the DSP knows of it.
      if (a.reportedExecutedAt !== null && a.outcomeArrivesAt !== null && a.outcomeArrivesAt <= arrived)
        anchors.push(a.reportedExecutedAt);
      return anchors.some(
        (t) => t - skewMinutes * MINUTE <= ad1.startAt && ad1.startAt <= t + windowMinutes * MINUTE,
      );
    });
    if (!suppressed) deliveredAt.set(ad1.key, arrived);
  }
  return { policy: 'blanket', deliveredAt };
}

/**
 * OTA-induced AD1s whose activation outcome was lost, or reached the DSP only after the evidence
 * bound (outage start + skew + longest cut + transit): the sieve cannot confirm them by the
 * outcome and must ask the meter; a lost answer then releases them (fail-open), by design.
 */
export function outcomeMissingKeys(
  scenario: Pick<Scenario, 'ad1s' | 'outages' | 'activations'>,
  evidenceMinutes = 18,
): Set<string> {
  const outageById = new Map(scenario.outages.map((o) => [o.id, o]));
  const keys = new Set<string>();
  for (const ad1 of scenario.ad1s) {
    if (ad1.genuine || ad1.arrivedAt === null) continue;
    const activation = scenario.activations[outageById.get(ad1.outageId)!.activation!];
    const arrives = activation.outcomeArrivesAt;
    if (arrives === null || arrives > ad1.startAt + evidenceMinutes * MINUTE) keys.add(ad1.key);
  }
  return keys;
}

/** The engine's evidence bound after an outage start, in minutes: skew + longest cut + transit. */
export function evidenceMinutesOf(engine: {
  readonly skewMinutes: number;
  readonly maxCommsHubOffMinutes: number;
  readonly transitMinutes: number;
}): number {
  return engine.skewMinutes + engine.maxCommsHubOffMinutes + engine.transitMinutes;
}

const fmtSeconds = (s: number) =>
  s < 120 ? `${Math.round(s)} s` : s < 7200 ? `${(s / 60).toFixed(1)} min` : `${(s / 3600).toFixed(1)} h`;

/** The scoreboard as a fixed-width text table (one column per policy). */
export function formatScoreTable(scores: readonly PolicyScore[]): string {
  const rows: [string, (s: PolicyScore) => string][] = [
    ['OTA-induced AD1s reaching DNOs', (s) => `${s.otaDelivered} / ${s.otaAd1s}`],
    [
      '  of which outcome lost/late (fail-open)',
      (s) => (s.policy === 'ours' ? String(s.otaDeliveredOutcomeMissing) : '-'),
    ],
    [
      `  of which withdrawn <= ${WITHDRAWAL_GRACE_MINUTES} min / later`,
      (s) => (s.policy === 'ours' ? `${s.otaWithdrawnInTime} / ${s.otaWithdrawnLate}` : '-'),
    ],
    ['OTA-induced AD1 leaks (in-time withdrawal = 1/2)', (s) => `${s.otaLeaks} / ${s.otaAd1s}`],
    ['Genuine outages delivered', (s) => `${s.genuineOutagesDelivered} / ${s.genuineOutages}`],
    ['Genuine outages never delivered', (s) => String(s.genuineOutagesNeverDelivered)],
    ['Genuine AD1s delivered', (s) => `${s.genuineAd1sDelivered} / ${s.genuineAd1s}`],
    ['Genuine AD1s never delivered', (s) => String(s.genuineAd1s - s.genuineAd1sDelivered)],
    ['Genuine AD1s withdrawn', (s) => (s.policy === 'ours' ? String(s.genuineAd1sWithdrawn) : '-')],
    ['Added delay, genuine AD1s p50', (s) => fmtSeconds(s.delaySeconds.p50)],
    ['Added delay, genuine AD1s p99', (s) => fmtSeconds(s.delaySeconds.p99)],
    ['Added delay, genuine AD1s max', (s) => fmtSeconds(s.delaySeconds.max)],
    ['Genuine AD1s delayed > 5 min', (s) => String(s.delaySeconds.over5min)],
    [
      'Let through by safety budget (gen/OTA)',
      (s) => (s.budgetSpent ? `${s.budgetSpent.genuine} / ${s.budgetSpent.ota}` : '-'),
    ],
    [
      'Verification reads per candidate AD1',
      (s) =>
        s.verification
          ? `${(s.verification.requests / Math.max(1, s.verification.candidates)).toFixed(2)} (${s.verification.requests} / ${s.verification.candidates})`
          : '-',
    ],
  ];
  const head = ['', ...scores.map((s) => s.label)];
  const body = rows.map(([name, f]) => [name, ...scores.map(f)]);
  const widths = head.map((_, i) => Math.max(...[head, ...body].map((r) => r[i].length)));
  const line = (r: string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(head), rule, ...body.map(line)].join('\n');
}

/** The same table as GitHub Markdown. */
export function formatScoreMarkdown(scores: readonly PolicyScore[]): string {
  const table = formatScoreTable(scores).split('\n');
  const cells = (l: string, widths: number[]) => {
    const out: string[] = [];
    let at = 0;
    for (const w of widths) {
      out.push(l.slice(at, at + w).trim());
      at += w + 2;
    }
    return out;
  };
  const widths = table[1].split('  ').map((d) => d.length);
  const rows = [table[0], ...table.slice(2)].map((l) => cells(l, widths));
  return [
    `| ${rows[0].map((c) => c || 'Metric').join(' | ')} |`,
    `| ${widths.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...rows.slice(1).map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}
