import type { Scenario } from './scenario';
import {
  blanketPolicy,
  computeScores,
  deliveriesFromStream,
  noFilterPolicy,
  outcomeMissingKeys,
} from './scoreboard';
import type { PolicyDeliveries, PolicyScore, StreamEntry } from './scoreboard';

/**
 * Live mode's scoring: what the DNO subscribers actually received becomes "ours"; no filter and
 * the blanket window are computed from the scenario, exactly as in replay. Pure functions.
 */

/** One message a DNO subscriber took from its stream. */
export interface ReceivedMessage {
  readonly distributorId: string;
  readonly sequence: string;
  /** AD1, RELEASED_AD1, SUPPLY_RESTORED, OTA_INDUCED or WITHDRAWN. */
  readonly kind: string;
  readonly alertId: string;
  /** Scenario time at which the subscriber received it. */
  readonly receivedAt: number;
  /** Scenario time at which the server wrote it to the outbox (its createdAt minus the offset). */
  readonly createdAt: number;
}

/**
 * Follows one DNO stream's sequence numbers: a message at or below the last one processed is a
 * duplicate (skipped), one beyond the next is a gap (counted: the stream promises neither).
 */
export class SequenceTracker {
  private lastSeen: bigint;
  gaps = 0;
  duplicates = 0;

  constructor(after: string) {
    this.lastSeen = BigInt(after);
  }

  get last(): string {
    return this.lastSeen.toString();
  }

  /** True when the message is new and should be processed. */
  accept(sequence: string): boolean {
    const s = BigInt(sequence);
    if (s <= this.lastSeen) {
      this.duplicates++;
      return false;
    }
    if (s > this.lastSeen + 1n) this.gaps += Number(s - this.lastSeen - 1n);
    this.lastSeen = s;
    return true;
  }
}

/**
 * "Ours" from the messages received: the first AD1 or RELEASED_AD1 for each AD1 of the scenario
 * (found by the alert ID its ingest returned), at the time it was received, and a WITHDRAWN after
 * it (a correction), at its receipt, unless the AD1 was delivered again later. Messages about
 * alerts this run did not send (another user's, an earlier run's) are counted as foreign, not
 * scored; `sentAlertIds` holds every alert ID this run's ingests returned, restores included.
 */
export function oursFromReceived(
  messages: readonly ReceivedMessage[],
  alertKey: ReadonlyMap<string, string>,
  sentAlertIds: ReadonlySet<string>,
  budgetSpent?: ReadonlySet<string>,
): { deliveries: PolicyDeliveries; foreign: number } {
  const entries: StreamEntry[] = [];
  let foreign = 0;
  for (const m of messages) {
    if (!sentAlertIds.has(m.alertId) && !alertKey.has(m.alertId)) {
      foreign++;
      continue;
    }
    const key = alertKey.get(m.alertId);
    if (key !== undefined) entries.push({ key, kind: m.kind, at: m.receivedAt });
  }
  const { deliveredAt, withdrawnAt } = deliveriesFromStream(entries);
  return { deliveries: { policy: 'ours', deliveredAt, withdrawnAt, budgetSpent }, foreign };
}

export interface LiveEngineSettings {
  readonly windowMinutes: number;
  readonly skewMinutes: number;
  /** The hold ceiling (how long to wait for the last decisions). */
  readonly holdMinutes: number;
  /** Outage start to the evidence bound: skew + longest cut + transit. */
  readonly evidenceMinutes: number;
}

/**
 * The three-policy scoreboard of a live run. No filter and the blanket window are scored against
 * the scenario's arrival times (their delay is zero by construction). Ours is scored against the
 * times the simulator actually sent each AD1 (`sentAt`, scenario time): its delay is what the
 * service added between the ingest request and the DNO's socket, not the simulator's own lag.
 */
export function liveScores(
  scenario: Pick<Scenario, 'ad1s' | 'activations' | 'outages'>,
  ours: PolicyDeliveries,
  sentAt: ReadonlyMap<string, number>,
  engine: LiveEngineSettings,
): { policies: PolicyDeliveries[]; scores: PolicyScore[] } {
  const policies = [
    noFilterPolicy(scenario),
    blanketPolicy(scenario, engine.windowMinutes, engine.skewMinutes),
    ours,
  ];
  const missing = outcomeMissingKeys(scenario, engine.evidenceMinutes);
  const fromScenario = computeScores(scenario.ad1s, policies.slice(0, 2), missing);
  const asSent = scenario.ad1s.map((a) =>
    a.arrivedAt !== null && sentAt.has(a.key) ? { ...a, arrivedAt: sentAt.get(a.key)! } : a,
  );
  return { policies, scores: [...fromScenario, ...computeScores(asSent, [ours], missing)] };
}
