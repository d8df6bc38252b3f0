import type { ScenarioOptions } from './options';
import { streamFor } from './prng';

/**
 * Meter (ESME) clocks. docs/TIMELINE.md: "Clocks are minutes off". Every time a
 * meter stamps is on its own clock: an outcome's executedAt, a restore's interruption and
 * restoration values, a verification answer's answeredAt. The offset is constant per meter over
 * the span (drift over two days is seconds at most). The truth keeps true times; a message carries
 * true time plus the offset. Drawn from a stream of their own (prng.ts `streamFor`).
 */

const SECOND = 1000;

/** Each premises' meter clock offset in ms (clock minus true time), by premises index. */
export function meterClockOffsets(
  o: Pick<
    ScenarioOptions,
    'seed' | 'devices' | 'meterSkewedClockShare' | 'maxClockSkewSeconds' | 'meterClockJitterSeconds'
  >,
): number[] {
  const rng = streamFor(o.seed, 'meter-clocks');
  const offsets: number[] = [];
  for (let i = 0; i < o.devices; i++) {
    const bound = rng.chance(o.meterSkewedClockShare) ? o.maxClockSkewSeconds : o.meterClockJitterSeconds;
    // `|| 0`: no negative zero in the JSON of a scenario.
    offsets.push(Math.round(rng.uniform(-bound, bound)) * SECOND || 0);
  }
  return offsets;
}
