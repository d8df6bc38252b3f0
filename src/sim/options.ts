/**
 * The scenario's options, their defaults, and the presets. A scenario is a pure function of these
 * (src/sim/scenario.ts); docs/SIMULATOR.md says what each models and why.
 */

export interface ScenarioOptions {
  readonly seed: number;
  /** Premises: ESME + Communications Hub pairs. */
  readonly devices: number;
  readonly days: number;
  /** Start of the scenario (ISO 8601). */
  readonly start: string;
  /** Share of ESMEs on the affected model with the affected firmware. */
  readonly affectedShare: number;
  /** Share of ESMEs on the affected model already on the fixed firmware (not affected). */
  readonly fixedShare: number;
  /** Share of affected ESMEs that get an SR11.3 during the span. */
  readonly campaignShare: number;
  /** Share of the other ESMEs that get an (unrelated, harmless) SR11.3 during the span. */
  readonly otherActivationShare: number;
  /** Probability that a successful activation on an affected ESME cuts its CH's power (> 3 min). */
  readonly otaOutageProbability: number;
  readonly immediateShare: number;
  readonly cancelShare: number;
  readonly supersedeShare: number;
  readonly failShare: number;
  readonly lostOutcomeShare: number;
  readonly lateOutcomeShare: number;
  /** Genuine single-premises outages (producing an AD1) per premises per year. */
  readonly singleOutagesPerPremisesYear: number;
  /** Genuine whole-feeder (LV) outages per day per 100,000 premises. */
  readonly feederOutagesPerDayPer100k: number;
  /** Share of cut-free successful activations followed 4-28 min later by a genuine single-premises outage. */
  readonly coincidentOutageShare: number;
  readonly storm: boolean;
  /** Share of the storm-hit DNOs' feeders that lose supply. */
  readonly stormFeederShare: number;
  readonly lostAd1Share: number;
  readonly duplicateShare: number;
  /** Share of feeder and storm AD1s that arrive throttled (count 2-4). */
  readonly throttledShare: number;
  /** Share of CHs whose clock is off by up to maxClockSkewSeconds (the rest: a few seconds). */
  readonly skewedClockShare: number;
  /** How far a skewed clock (hub or meter) may be off, either way, in seconds. */
  readonly maxClockSkewSeconds: number;
  /** Share of ESMEs whose clock is off by up to maxClockSkewSeconds (the rest: meterClockJitterSeconds). */
  readonly meterSkewedClockShare: number;
  /** How far the clock of an ESME outside the skewed share may be off, either way, in seconds. */
  readonly meterClockJitterSeconds: number;
  readonly lostRestoreShare: number;
  /** Share of campaign premises whose CH is replaced before their activation (at least 2). */
  readonly chSwapShare: number;
  /** When set, exactly this many CH swaps (as far as there are candidates); overrides chSwapShare. */
  readonly chSwapCount: number | null;
  /** Share of distinct AD1s whose every copy carries the premises' MPAN with a wrong check digit. */
  readonly badCheckDigitShare: number;
  /** Share of verification reads (SR 11.2) that get no answer although the meter is powered. */
  readonly verificationLostShare: number;
  /** Share of executed activations whose outcome the supplier also claims (recordActivationOutcome). */
  readonly supplierClaimShare: number;
  /** Of those claims whose DCC outcome is lost, the share the supplier still sends. */
  readonly claimWhenLostShare: number;
  /** Share of the campaign's activations on affected ESMEs scheduled in clusters of 3-8 per feeder. */
  readonly clusteredCampaignShare: number;
}

export const DEFAULT_SCENARIO: ScenarioOptions = {
  seed: 42,
  devices: 1000,
  days: 2,
  start: '2026-03-02T00:00:00Z',
  affectedShare: 0.25,
  fixedShare: 0.05,
  campaignShare: 0.4,
  otherActivationShare: 0.05,
  otaOutageProbability: 0.2,
  immediateShare: 0.4,
  cancelShare: 0.04,
  supersedeShare: 0.04,
  failShare: 0.05,
  lostOutcomeShare: 0.1,
  lateOutcomeShare: 0.05,
  singleOutagesPerPremisesYear: 1.5,
  feederOutagesPerDayPer100k: 8,
  coincidentOutageShare: 0.005,
  storm: true,
  stormFeederShare: 0.35,
  lostAd1Share: 0.03,
  duplicateShare: 0.02,
  throttledShare: 0.05,
  skewedClockShare: 0.1,
  maxClockSkewSeconds: 60,
  meterSkewedClockShare: 0.1,
  meterClockJitterSeconds: 3,
  lostRestoreShare: 0.03,
  chSwapShare: 0.002,
  chSwapCount: null,
  badCheckDigitShare: 0.002,
  verificationLostShare: 0.05,
  supplierClaimShare: 0.3,
  claimWhenLostShare: 0.5,
  clusteredCampaignShare: 0.05,
};

/**
 * The physics added on 2026-12-07 switched off: with these, a seed gives the scenario it gave
 * before (the same fleet, campaign, outages, messages and truth), except the restore of a meter
 * whose deferred execution came before the restoration it stamped (docs/SIMULATOR.md).
 */
export const WITHOUT_2026_12_07_PHYSICS: Partial<ScenarioOptions> = {
  meterSkewedClockShare: 0,
  meterClockJitterSeconds: 0,
  supplierClaimShare: 0,
  clusteredCampaignShare: 0,
};

/**
 * The harsh preset (`--preset harsh`): the defaults with more of what hurts a filter: a third of
 * outcomes lost, most affected activations cutting the hub, clocks minutes off, 20 hub swaps,
 * more bad MPANs and more unanswered reads.
 */
export const HARSH_SCENARIO: ScenarioOptions = {
  ...DEFAULT_SCENARIO,
  lostOutcomeShare: 0.3,
  otaOutageProbability: 0.6,
  maxClockSkewSeconds: 240,
  skewedClockShare: 0.3,
  meterSkewedClockShare: 0.3,
  chSwapCount: 20,
  badCheckDigitShare: 0.02,
  verificationLostShare: 0.2,
};

export const SCENARIO_PRESETS = { default: DEFAULT_SCENARIO, harsh: HARSH_SCENARIO } as const;
export type ScenarioPreset = keyof typeof SCENARIO_PRESETS;
