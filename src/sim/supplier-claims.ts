import { darkAt } from './dark';
import type { DarkInterval } from './dark';
import type { ScenarioOptions } from './options';
import type { Prng } from './prng';

/**
 * Supplier claims. Outcomes are DCC's statements (the SR11.3 response and alerts 0x8F66/0x8F67 come
 * from the meter through DCC); a supplier reporting an outcome through `recordActivationOutcome`
 * only says what it believes (docs/TIMELINE.md, "What follows for a decision": a claim, not evidence). For a share of the
 * executed activations the supplier also reports the true outcome, with the executedAt the meter
 * reported, 1-20 minutes after DCC's outcome reached the DSP. When DCC's outcome is lost the
 * supplier still claims it for a share of those (it learnt it another way), 5-30 minutes after
 * the execution, and only once the premises is reachable again.
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;

/** A claim the supplier sends (ActivationTruth.claim). */
export interface ClaimTruth {
  /** When the claim reaches the service. */
  readonly arrivesAt: number;
  /** True when DCC's outcome was lost, so the claim is all the service hears. */
  readonly outcomeLost: boolean;
}

/** The claim for one activation, or null when the supplier claims nothing. */
export function planClaim(
  rng: Prng,
  o: Pick<ScenarioOptions, 'supplierClaimShare' | 'claimWhenLostShare'>,
  a: { readonly executedAt: number | null; readonly outcomeArrivesAt: number | null },
  dark: readonly DarkInterval[],
): ClaimTruth | null {
  if (a.executedAt === null || !rng.chance(o.supplierClaimShare)) return null;
  if (a.outcomeArrivesAt !== null)
    return { arrivesAt: a.outcomeArrivesAt + rng.uniform(1, 20) * MINUTE, outcomeLost: false };
  if (!rng.chance(o.claimWhenLostShare)) return null;
  let at = a.executedAt + rng.uniform(5, 30) * MINUTE;
  // Not before the premises can be reached: what the supplier learns comes from the meter.
  for (let d = darkAt(dark, at); d; d = darkAt(dark, at)) at = d.to + rng.uniform(5, 60) * SECOND;
  return { arrivesAt: at, outcomeLost: true };
}
