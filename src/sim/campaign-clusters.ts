import type { ScenarioOptions } from './options';
import { streamFor } from './prng';

/**
 * Clustered campaigns: a supplier that ignores the per-area cap schedules several affected meters
 * of one feeder for (nearly) the same time. Their OTA cuts then overlap, and their AD1s arrive
 * together from one feeder, as a feeder fault's would. A share of the campaign's activations on
 * affected meters is scheduled so: groups of 3-8 meters of one feeder, submitted together (within
 * a minute) 30 min to 30 h ahead, with requested execution times within 5 minutes of each other.
 * Drawn from a stream of its own (prng.ts `streamFor`); the rest of the campaign keeps its draws.
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** Where a clustered activation goes instead of its own draw. */
export interface ClusterSlot {
  /** Cluster number, from 1. */
  readonly cluster: number;
  readonly submittedAt: number;
  /** Requested execution time (always future-dated). */
  readonly executeAt: number;
}

/**
 * Plans the clusters among `members` (the affected premises the campaign activates, in campaign
 * order): about `clusteredCampaignShare` of them, in groups of 3-8 drawn from one feeder.
 */
export function planCampaignClusters(
  o: Pick<ScenarioOptions, 'seed' | 'clusteredCampaignShare'>,
  members: readonly { readonly index: number; readonly areaKey: string }[],
  start: number,
  end: number,
): Map<number, ClusterSlot> {
  const slots = new Map<number, ClusterSlot>();
  const wanted = Math.round(members.length * o.clusteredCampaignShare);
  // Executions start two hours in and end an hour before the end, leaving room for a submission
  // at least 30 minutes ahead and for the cuts and outcomes to play out inside the span.
  if (wanted < 3 || end - HOUR <= start + 2 * HOUR) return slots;
  const rng = streamFor(o.seed, 'campaign-clusters');
  const byFeeder = new Map<string, number[]>();
  for (const m of members) byFeeder.set(m.areaKey, [...(byFeeder.get(m.areaKey) ?? []), m.index]);
  const feeders = rng.sample(
    [...byFeeder.values()].filter((xs) => xs.length >= 3),
    byFeeder.size,
  );
  let cluster = 0;
  for (const premises of feeders) {
    if (slots.size + 3 > wanted) break;
    const size = Math.min(rng.int(3, 8), premises.length, wanted - slots.size);
    const base = rng.uniform(start + 2 * HOUR, end - HOUR);
    const submitted = base - rng.logUniform(30 * MINUTE, Math.min(30 * HOUR, base - start));
    cluster++;
    for (const index of rng.sample(premises, size)) {
      slots.set(index, {
        cluster,
        submittedAt: submitted + rng.uniform(0, 60) * SECOND,
        executeAt: base + rng.uniform(0, 5) * MINUTE,
      });
    }
  }
  return slots;
}
