/**
 * Dark premises (docs/TIMELINE.md, step 3): while a premises' CH has no
 * power nothing from the premises travels. Pure helpers over a premises' dark intervals.
 */

/** A period in which a premises' CH had no power, so nothing from the premises could travel. */
export interface DarkInterval {
  readonly from: number;
  /** Exclusive: power is back at `to`. */
  readonly to: number;
  readonly outageId: string;
  /** True for a genuine outage (the ESME has no mains either); false for an OTA cut. */
  readonly genuine: boolean;
}

/** The dark interval covering `t`, if any. */
export function darkAt(intervals: readonly DarkInterval[], t: number): DarkInterval | undefined {
  return intervals.find((d) => d.from <= t && t < d.to);
}

/**
 * When a message a premises generates at `sentAt` reaches the DSP: after `transit()` when its CH
 * has power; otherwise it waits until power returns and then takes `transit()`. A message that
 * would land in a later dark period is treated as not yet sent (conservative: nothing from a dark
 * premises is ever seen arriving).
 */
export function arrivalAfterDark(
  intervals: readonly DarkInterval[],
  sentAt: number,
  transit: () => number,
): number {
  let leaves = sentAt;
  for (;;) {
    const dark = darkAt(intervals, leaves);
    if (dark) {
      leaves = dark.to;
      continue;
    }
    const arrives = leaves + transit();
    const later = darkAt(intervals, arrives);
    if (!later) return arrives;
    leaves = later.to;
  }
}
