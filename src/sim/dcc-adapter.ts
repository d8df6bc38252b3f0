import crypto from 'node:crypto';
import { Prng } from './prng';
import { firmwareVersionAt, premisesReachableAt } from './scenario';
import type { Scenario } from './scenario';

/**
 * The DSP/DCC adapter's side of a verification read (SR 11.2 Read Firmware Version), played from
 * the scenario's truth: the request crosses DCC and the hub to the meter, and the meter answers
 * only while it has mains and its hub has power (docs/TIMELINE.md, step 3: a dark hub carries
 * nothing). A seeded share of requests is lost on the way, as real reads sometimes are. Pure:
 * the same scenario and request always give the same plan.
 */

const SECOND = 1000;

/** What becomes of one request: `null` when no answer ever arrives. */
export interface VerificationAnswerPlan {
  /** When the meter answered, as it says: its own clock (Premises.meterSkewMs), whole seconds. */
  readonly answeredAt: number;
  /** When it answered in true time. */
  readonly trueAnsweredAt: number;
  /** When the answer reaches the DSP. */
  readonly arrivesAt: number;
  /** The version the meter reports: what it runs when it answers. */
  readonly firmwareVersion: string;
}

export interface VerificationRequestSeen {
  readonly requestId: string;
  /** The device asked (an ESME in the simulated fleet). */
  readonly deviceGuid: string;
  /** When the service wrote the request (the adapter sends it at once). */
  readonly requestedAt: number;
}

function seedOf(scenario: Scenario, request: VerificationRequestSeen): number {
  // Keyed on the device and the minute of the request, not on the request ID: the same read in
  // replay and in live mode (whose request IDs differ) meets the same fate.
  const key = `${scenario.options.seed}|${request.deviceGuid}|${Math.floor(request.requestedAt / 60_000)}`;
  return crypto.createHash('sha256').update(key).digest().readUInt32LE(0);
}

const offsets = new WeakMap<Scenario, Map<string, number>>();
/** The ESME's clock offset (ms); 0 for a device the scenario does not know. */
function meterOffsetOf(scenario: Scenario, esmeGuid: string): number {
  let byGuid = offsets.get(scenario);
  if (!byGuid) {
    byGuid = new Map(scenario.premises.map((p) => [p.esmeGuid, p.meterSkewMs]));
    offsets.set(scenario, byGuid);
  }
  return byGuid.get(esmeGuid.toUpperCase()) ?? 0;
}

/** Plans the answer to a verification request, or `null` when none comes. */
export function planVerificationAnswer(
  scenario: Scenario,
  request: VerificationRequestSeen,
  lostShare = scenario.options.verificationLostShare,
): VerificationAnswerPlan | null {
  const rng = new Prng(seedOf(scenario, request));
  if (rng.chance(lostShare)) return null;
  // DSP -> DCC -> hub -> meter: seconds; the meter reads and answers within a few more.
  const reachesMeterAt = request.requestedAt + rng.uniform(2, 20) * SECOND;
  const answeredAt = Math.round((reachesMeterAt + rng.uniform(1, 5) * SECOND) / SECOND) * SECOND;
  if (!premisesReachableAt(scenario, request.deviceGuid, reachesMeterAt)) return null;
  if (!premisesReachableAt(scenario, request.deviceGuid, answeredAt)) return null;
  return {
    answeredAt: answeredAt + meterOffsetOf(scenario, request.deviceGuid),
    trueAnsweredAt: answeredAt,
    arrivesAt: answeredAt + rng.uniform(2, 30) * SECOND,
    firmwareVersion: firmwareVersionAt(scenario, request.deviceGuid, answeredAt),
  };
}
