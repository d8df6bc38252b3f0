import crypto from 'node:crypto';
import { mpanCheckDigit } from '../domain/identifiers';
import { arrivalAfterDark, darkAt } from './dark';
import type { DarkInterval } from './dark';
import { meterClockOffsets } from './meter-clocks';
import { DEFAULT_SCENARIO } from './options';
import type { ScenarioOptions } from './options';
import { Prng, streamFor } from './prng';
import { planCampaignClusters } from './campaign-clusters';
import { planClaim } from './supplier-claims';
import type { ClaimTruth } from './supplier-claims';

export { arrivalAfterDark, darkAt } from './dark';
export type { DarkInterval } from './dark';
export { DEFAULT_SCENARIO, HARSH_SCENARIO, SCENARIO_PRESETS, WITHOUT_2026_12_07_PHYSICS } from './options';
export type { ScenarioOptions, ScenarioPreset } from './options';
export type { ClaimTruth } from './supplier-claims';

/**
 * A seeded, deterministic scenario of a GB-like smart-meter fleet over a few days: an OTA
 * campaign of SR11.3 activations (some of which cut the Communications Hub's power and raise a
 * spurious AD1), genuine outages (single premises, whole feeders, a storm), restoration alerts,
 * and the faults of real traffic. The output is a time-ordered list of what reaches the DSP
 * (with arrival times) plus the ground truth of every AD1. It is a pure function of its options.
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The 14 licensed DNO areas, weighted roughly by customers (millions). */
export const DNO_AREAS: readonly { distributorId: string; code: string; weight: number }[] = [
  { distributorId: '10', code: 'EPN', weight: 3.7 },
  { distributorId: '11', code: 'EMID', weight: 2.6 },
  { distributorId: '12', code: 'LPN', weight: 2.4 },
  { distributorId: '13', code: 'MANW', weight: 1.5 },
  { distributorId: '14', code: 'WMID', weight: 2.5 },
  { distributorId: '15', code: 'NPGN', weight: 1.6 },
  { distributorId: '16', code: 'ENWL', weight: 2.4 },
  { distributorId: '17', code: 'SHEPD', weight: 0.8 },
  { distributorId: '18', code: 'SPD', weight: 2.0 },
  { distributorId: '19', code: 'SPN', weight: 2.3 },
  { distributorId: '20', code: 'SEPD', weight: 3.0 },
  { distributorId: '21', code: 'SWAL', weight: 1.1 },
  { distributorId: '22', code: 'SWEST', weight: 1.6 },
  { distributorId: '23', code: 'NPGY', weight: 2.3 },
];

export type ModelClass = 'AFFECTED' | 'FIXED' | 'OTHER';

export const SIM_SUPPLIER_ID = '90-B3-D5-1F-30-01-00-00';
const hash = (text: string) => crypto.createHash('sha256').update(text).digest('hex');

/** Device models, firmware images and the rule (made-up IDs, like the demo data). */
export const SIM_MODELS = {
  AFFECTED: { manufacturer: 'AB01', model: '010A030B', firmware: '0002012F' },
  FIXED: { manufacturer: 'AB01', model: '010A030B', firmware: '00020130' },
  OTHER: { manufacturer: 'CD02', model: '02000101', firmware: '01000004' },
  CHF: { manufacturer: 'EF03', model: '0C0A0001', firmware: '00030002' },
} as const;

export interface ImageSpec {
  readonly manufacturer: string;
  readonly model: string;
  readonly version: string;
  readonly imageHash: string;
}

/** The image each model class is moved to by the campaign. */
export const SIM_IMAGES: Record<ModelClass, ImageSpec> = {
  AFFECTED: { ...pick(SIM_MODELS.AFFECTED), version: '00020130', imageHash: hash('AB01/010A030B/00020130') },
  FIXED: { ...pick(SIM_MODELS.FIXED), version: '00020131', imageHash: hash('AB01/010A030B/00020131') },
  OTHER: { ...pick(SIM_MODELS.OTHER), version: '01000005', imageHash: hash('CD02/02000101/01000005') },
};

export const SIM_RULE = {
  name: 'Simulated E470-like model: activation from 0002012F cuts CH power',
  manufacturer: SIM_MODELS.AFFECTED.manufacturer,
  model: SIM_MODELS.AFFECTED.model,
  affectedFirmwareVersions: [SIM_MODELS.AFFECTED.firmware],
};

/** The shortest CH power cut that raises an AD1: a CH reports an outage after three minutes dark. */
export const MIN_OTA_CUT_MINUTES = 3;
/**
 * The longest CH power cut an activation is known to cause (docs/TIMELINE.md: observed 3-15 min). A rule
 * will carry this as `maxCommsHubOffMinutes`, 15 by default; every image's cut range lies inside.
 */
export const MAX_COMMS_HUB_OFF_MINUTES = 15;

/** How long an image's activation keeps the CH dark, in minutes: a base length and a small jitter. */
export interface OtaCutRange {
  readonly minMinutes: number;
  readonly maxMinutes: number;
}

/**
 * The characteristic CH power cut of each image whose activation cuts the CH (keyed by the model
 * class moving to `SIM_IMAGES[class]`). The length depends on the model and the image size, not
 * on chance alone, so one image's cuts cluster around its own length.
 */
export const OTA_CUT_MINUTES: Readonly<Partial<Record<ModelClass, OtaCutRange>>> = {
  AFFECTED: { minMinutes: 6, maxMinutes: 9 },
};

/** The cut range of an image, or null when activating it never cuts the CH. */
export function otaCutRangeOf(modelClass: ModelClass): OtaCutRange | null {
  return OTA_CUT_MINUTES[modelClass] ?? null;
}

function pick(m: { manufacturer: string; model: string }) {
  return { manufacturer: m.manufacturer, model: m.model };
}

export interface Premises {
  readonly index: number;
  readonly distributorId: string;
  /** The feeder: the area key used for outage correlation. */
  readonly areaKey: string;
  readonly esmeGuid: string;
  readonly mpan: string;
  readonly modelClass: ModelClass;
  /** CHs powered by this ESME over time; the first from installation. */
  readonly commsHubs: { guid: string; from: number; skewMs: number }[];
  /** The ESME's clock minus true time (ms): every time the meter stamps is off by this. */
  readonly meterSkewMs: number;
}

export interface Feeder {
  readonly areaKey: string;
  readonly distributorId: string;
  readonly premises: number[];
}

export type ActivationFate = 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'SUPERSEDED';

export interface ActivationTruth {
  readonly index: number;
  readonly requestId: string;
  readonly premises: number;
  readonly esmeGuid: string;
  readonly modelClass: ModelClass;
  readonly submittedAt: number;
  /** Requested execution time (future-dated), or null for an immediate activation. */
  readonly executeAt: number | null;
  readonly fate: ActivationFate;
  /** When the ESME actually ran it (null when cancelled or superseded). */
  readonly executedAt: number | null;
  /** The executedAt the meter reports (its clock): executedAt plus the meter's offset. */
  readonly reportedExecutedAt: number | null;
  /** True when a genuine outage covered the due time, so it ran only after supply returned. */
  readonly executionDeferred: boolean;
  readonly outcomeCode: 'success' | 'noImageHeld' | 'hashMismatch' | null;
  /** When the ESME generated the outcome (null: lost, or nothing to report). */
  readonly outcomeSentAt: number | null;
  /** When the outcome reaches the DSP (null: never: lost, or nothing to report). */
  readonly outcomeArrivesAt: number | null;
  readonly outcomeDelivery: 'ON_TIME' | 'LATE' | 'LOST' | 'NONE';
  /** When it stopped being pending by cancellation or supersession. */
  readonly endedAt: number | null;
  /** The supplier's claim of the outcome (recordActivationOutcome), if it made one. */
  readonly claim: ClaimTruth | null;
  /** The campaign cluster it was scheduled in (campaign-clusters.ts), or null. */
  readonly cluster: number | null;
}

/** An activation before its outcome's arrival is known (that needs every dark period). */
type ActivationDraft = Omit<ActivationTruth, 'outcomeArrivesAt' | 'reportedExecutedAt' | 'claim'>;

export type OutageCause = 'OTA' | 'PREMISES' | 'COINCIDENT' | 'FEEDER' | 'STORM';

export interface OutageTruth {
  readonly id: string;
  readonly cause: OutageCause;
  readonly genuine: boolean;
  readonly startAt: number;
  readonly endAt: number;
  readonly premises: number[];
  readonly areaKey: string;
  readonly distributorId: string;
  /** OTA: the activation that caused it; COINCIDENT: the activation whose window it falls in. */
  readonly activation: number | null;
}

/** The truth about one distinct AD1 (natural key: CH + StartDateTime). */
export interface Ad1Truth {
  readonly key: string;
  readonly outageId: string;
  readonly genuine: boolean;
  readonly premises: number;
  readonly esmeGuid: string;
  readonly commsHubGuid: string;
  readonly distributorId: string;
  /** StartDateTime as the CH reports it (its clock, whole seconds). */
  readonly startAt: number;
  /** First arrival at the DSP; null when the AD1 was lost on the way. */
  readonly arrivedAt: number | null;
  readonly throttledCount: number;
}

interface EventBase {
  /** Arrival time at the DSP (ms since epoch). */
  readonly at: number;
  /** Tie-breaker: generation order. */
  readonly seq: number;
}

export type SimEvent = EventBase &
  (
    | {
        readonly kind: 'SCHEDULE';
        readonly activation: number;
        readonly requestId: string;
        readonly esmeGuid: string;
        readonly imageHash: string;
        readonly executeAt: number | null;
      }
    | {
        readonly kind: 'CANCEL';
        readonly activation: number;
        readonly requestId: string;
        readonly esmeGuid: string;
      }
    | {
        /** DCC's statement of the outcome, through the operator's ingestAlerts. */
        readonly kind: 'OUTCOME';
        readonly activation: number;
        readonly requestId: string;
        readonly esmeGuid: string;
        /** IMMEDIATE: the SR11.3 response; 8F66/8F67: the future-dated device alerts. */
        readonly channel: 'IMMEDIATE' | '8F66' | '8F67';
        readonly outcomeCode: string;
        /** On the meter's clock. */
        readonly executedAt: number;
        readonly firmwareVersion: string | null;
      }
    | {
        /** The supplier's claim of the outcome (recordActivationOutcome, supplier token). */
        readonly kind: 'CLAIM';
        readonly activation: number;
        readonly requestId: string;
        readonly esmeGuid: string;
        readonly outcomeCode: string;
        /** What the meter reported (its clock). */
        readonly executedAt: number;
        readonly firmwareVersion: string | null;
      }
    | {
        readonly kind: 'AD1';
        readonly key: string;
        readonly commsHubGuid: string;
        readonly startAt: number;
        readonly mpan: string;
        readonly throttledCount: number;
        readonly duplicate: boolean;
      }
    | {
        readonly kind: 'RESTORE';
        readonly outageId: string;
        readonly esmeGuid: string;
        readonly mpan: string;
        /** Both on the meter's clock (Premises.meterSkewMs). */
        readonly interruptionAt: number;
        readonly restorationAt: number;
      }
    | {
        readonly kind: 'CH_SWAP';
        readonly premises: number;
        readonly esmeGuid: string;
        readonly oldCommsHubGuid: string;
        readonly newCommsHubGuid: string;
        readonly skewMs: number;
      }
  );

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export interface Scenario {
  readonly options: ScenarioOptions;
  readonly start: number;
  readonly end: number;
  readonly installedAt: number;
  readonly premises: Premises[];
  readonly feeders: Feeder[];
  readonly activations: ActivationTruth[];
  readonly outages: OutageTruth[];
  readonly ad1s: Ad1Truth[];
  /** Everything that reaches the DSP after the inventory is loaded, in arrival order. */
  readonly events: SimEvent[];
  /** Per premises (by index): when its CH had no power (OTA cuts and genuine outages), by start. */
  readonly darkIntervals: readonly (readonly DarkInterval[])[];
}

/**
 * The restoration a meter stamps (true time): drawn up to 30 s after supply returned at `endAt`,
 * but never after an activation that the outage deferred and supply's return let run (at least
 * 5 s after `endAt`): the meter saw supply back before it executed.
 */
function restoredBefore(deferred: readonly number[] | undefined, endAt: number, drawn: number): number {
  const next = (deferred ?? []).filter((t) => t > endAt && t <= drawn);
  return next.length ? Math.floor(Math.min(...next) / SECOND) * SECOND : drawn;
}

/** The same 13 digits with a check digit that fails (real alerts carry such MPANs now and then). */
function withWrongCheckDigit(mpan: string, rng: Prng): string {
  const wrong = (Number(mpan[12]) + rng.int(1, 9)) % 10;
  return `${mpan.slice(0, 12)}${wrong}`;
}

const premisesByEsme = new WeakMap<Scenario, Map<string, number>>();
function premisesIndexOf(scenario: Scenario, esmeGuid: string): number | undefined {
  let byGuid = premisesByEsme.get(scenario);
  if (!byGuid) {
    byGuid = new Map(scenario.premises.map((p) => [p.esmeGuid, p.index]));
    premisesByEsme.set(scenario, byGuid);
  }
  return byGuid.get(esmeGuid.toUpperCase());
}

/**
 * Whether a request sent to the ESME could be answered at `t`: the ESME has mains and the CH it
 * powers at `t` has power. Every CH an ESME powers shares the premises' dark periods, so a swap
 * changes which hub answers, not when. False for an ESME the scenario does not know.
 */
export function premisesReachableAt(scenario: Scenario, esmeGuid: string, t: number): boolean {
  const pi = premisesIndexOf(scenario, esmeGuid);
  if (pi === undefined) return false;
  const dark = scenario.darkIntervals[pi];
  const mains = !dark.some((d) => d.genuine && d.from <= t && t < d.to);
  const chPowered = darkAt(dark, t) === undefined;
  return mains && chPowered;
}

/** The firmware the ESME runs at `t`: its image's version after a successful execution, else the installed one. */
export function firmwareVersionAt(scenario: Scenario, esmeGuid: string, t: number): string {
  const pi = premisesIndexOf(scenario, esmeGuid);
  if (pi === undefined) throw new Error(`no ESME ${esmeGuid} in this scenario`);
  const p = scenario.premises[pi];
  const ran = scenario.activations.some(
    (a) => a.premises === pi && a.fate === 'SUCCEEDED' && a.executedAt !== null && a.executedAt <= t,
  );
  return ran ? SIM_IMAGES[p.modelClass].version : SIM_MODELS[p.modelClass].firmware;
}

export function guidOf(prefix: string, n: number): string {
  const hex = n.toString(16).toUpperCase().padStart(10, '0');
  const octets = hex.match(/../g)!;
  return `${prefix}-${octets.join('-')}`;
}

export function mpanOf(distributorId: string, n: number): string {
  const first12 = `${distributorId}${String(n).padStart(10, '0')}`;
  return `${first12}${mpanCheckDigit(first12)}`;
}

/** ISO text of a time in whole seconds. */
export const iso = (t: number) => new Date(t).toISOString();
export const ad1Key = (commsHubGuid: string, startAt: number) => `${commsHubGuid}|${iso(startAt)}`;

/** Builds the scenario. The same options always give the same scenario. */
export function generateScenario(partial: Partial<ScenarioOptions> = {}): Scenario {
  const o: ScenarioOptions = { ...DEFAULT_SCENARIO, ...partial };
  if (!(o.devices >= 10) || !(o.days > 0))
    throw new Error('a scenario needs at least 10 devices and days > 0');
  const rng = new Prng(o.seed);
  const start = Date.parse(o.start);
  const end = start + o.days * DAY;
  const installedAt = start - 365 * DAY;
  let seq = 0;
  const events: SimEvent[] = [];
  const push = (e: DistributiveOmit<SimEvent, 'seq'>) => events.push({ ...(e as SimEvent), seq: seq++ });

  // 1. The fleet: feeders of tens to hundreds of premises, in DNO areas weighted by size.
  const premises: Premises[] = [];
  const feeders: Feeder[] = [];
  const feederCount = new Map<string, number>();
  const weights = DNO_AREAS.map((a) => a.weight);
  const skew = () =>
    rng.chance(o.skewedClockShare)
      ? Math.round(rng.uniform(-o.maxClockSkewSeconds, o.maxClockSkewSeconds)) * SECOND
      : Math.round(rng.uniform(-3, 3)) * SECOND;
  const meterSkews = meterClockOffsets(o);
  while (premises.length < o.devices) {
    const area = DNO_AREAS[rng.weighted(weights)];
    const n = (feederCount.get(area.code) ?? 0) + 1;
    feederCount.set(area.code, n);
    const maxFeeder = Math.min(300, Math.max(25, Math.round(o.devices / 8)));
    const size = Math.min(o.devices - premises.length, Math.round(rng.logUniform(20, maxFeeder)));
    const feeder: Feeder = {
      areaKey: `${area.code}-F${String(n).padStart(4, '0')}`,
      distributorId: area.distributorId,
      premises: [],
    };
    for (let k = 0; k < size; k++) {
      const index = premises.length;
      const r = rng.next();
      const modelClass: ModelClass =
        r < o.affectedShare ? 'AFFECTED' : r < o.affectedShare + o.fixedShare ? 'FIXED' : 'OTHER';
      premises.push({
        index,
        distributorId: area.distributorId,
        areaKey: feeder.areaKey,
        esmeGuid: guidOf('00-DB-E5', index + 1),
        mpan: mpanOf(area.distributorId, 1_000_000 + index),
        modelClass,
        commsHubs: [{ guid: guidOf('00-DB-C4', index + 1), from: installedAt, skewMs: skew() }],
        meterSkewMs: meterSkews[index],
      });
      feeder.premises.push(index);
    }
    feeders.push(feeder);
  }

  // 2. Genuine outages not tied to any activation: single premises, whole feeders, a storm. They
  // come first because a meter without mains cannot execute an activation (docs/TIMELINE.md, timeline
  // step 5): execution times are decided with this timeline known.
  const outages: OutageTruth[] = [];
  const genuineBusy = new Map<number, { from: number; to: number }[]>();
  const addOutage = (
    cause: OutageCause,
    startAt: number,
    endAt: number,
    ps: number[],
    feeder: { areaKey: string; distributorId: string },
    activation: number | null,
  ) => {
    const outage: OutageTruth = {
      id: `${cause}-${outages.length + 1}`,
      cause,
      genuine: cause !== 'OTA',
      startAt,
      endAt,
      premises: ps,
      areaKey: feeder.areaKey,
      distributorId: feeder.distributorId,
      activation,
    };
    outages.push(outage);
    if (outage.genuine)
      for (const p of ps) genuineBusy.set(p, [...(genuineBusy.get(p) ?? []), { from: startAt, to: endAt }]);
    return outage;
  };
  const singles = rng.poisson((o.devices * o.singleOutagesPerPremisesYear * o.days) / 365);
  for (let i = 0; i < singles; i++) {
    const p = premises[rng.int(0, premises.length - 1)];
    const s = rng.uniform(start, end);
    addOutage('PREMISES', s, s + rng.logUniform(10 * MINUTE, 4 * HOUR), [p.index], p, null);
  }
  const feederOutages = Math.max(
    1,
    rng.poisson((o.feederOutagesPerDayPer100k * o.days * o.devices) / 100_000),
  );
  for (let i = 0; i < feederOutages; i++) {
    const f = rng.pick(feeders);
    const s = rng.uniform(start, end);
    addOutage('FEEDER', s, s + rng.logUniform(30 * MINUTE, 6 * HOUR), [...f.premises], f, null);
  }
  if (o.storm) {
    const stormStart = start + Math.round((o.days * 0.55 * DAY) / HOUR) * HOUR;
    const preferred = ['17', '18'].filter((d) => feeders.some((f) => f.distributorId === d));
    const byCount = [...new Set(feeders.map((f) => f.distributorId))].sort(
      (x, y) =>
        feeders.filter((f) => f.distributorId === y).length -
        feeders.filter((f) => f.distributorId === x).length,
    );
    const hit = preferred.length === 2 ? preferred : byCount.slice(0, 2);
    for (const f of feeders.filter((x) => hit.includes(x.distributorId))) {
      if (!rng.chance(o.stormFeederShare)) continue;
      const s = stormStart + rng.uniform(0, 4 * HOUR);
      addOutage('STORM', s, s + rng.logUniform(HOUR, 12 * HOUR), [...f.premises], f, null);
    }
  }
  /** The first time at or after `t` when the premises has mains again (seconds to a minute after restoration). */
  const suppliedFrom = (pi: number, t: number) => {
    let at = t;
    for (;;) {
      const outage = (genuineBusy.get(pi) ?? []).find((b) => b.from <= at && at < b.to);
      if (!outage) return at;
      at = outage.to + rng.uniform(5, 60) * SECOND;
    }
  };

  // 3. The campaign: SR11.3 activations over the span, with their fates. Outcome arrival times
  // wait for step 7, once every dark period of every premises is known.
  const drafts: ActivationDraft[] = [];
  let counter = 1000;
  const requestIdOf = (esme: string) => `${SIM_SUPPLIER_ID}:${esme}:${counter++}`;
  const lastSubmit = end - HOUR;
  const outcomePlan = (executedAt: number) => {
    // The ESME reports once it has rebooted into the new image; the CH goes dark 2-15 s after
    // execution, so an outcome of a cutting activation is always generated while the CH is dark.
    const r = rng.next();
    if (r < o.lostOutcomeShare) return { outcomeSentAt: null, outcomeDelivery: 'LOST' as const };
    if (r < o.lostOutcomeShare + o.lateOutcomeShare)
      return { outcomeSentAt: executedAt + rng.uniform(12, 50) * MINUTE, outcomeDelivery: 'LATE' as const };
    return { outcomeSentAt: executedAt + rng.uniform(15, 30) * SECOND, outcomeDelivery: 'ON_TIME' as const };
  };
  const addActivation = (
    p: Premises,
    submittedAt: number,
    executeAt: number | null,
    allowEnd: boolean,
    cluster: number | null = null,
  ): ActivationDraft => {
    const index = drafts.length;
    const requestId = requestIdOf(p.esmeGuid);
    push({
      kind: 'SCHEDULE',
      at: submittedAt,
      activation: index,
      requestId,
      esmeGuid: p.esmeGuid,
      imageHash: SIM_IMAGES[p.modelClass].imageHash,
      executeAt,
    });
    const base = {
      index,
      requestId,
      premises: p.index,
      esmeGuid: p.esmeGuid,
      modelClass: p.modelClass,
      submittedAt,
      executeAt,
      cluster,
    };
    const notExecuted = {
      executedAt: null,
      executionDeferred: false,
      outcomeCode: null,
      outcomeSentAt: null,
      outcomeDelivery: 'NONE' as const,
    };
    const r = rng.next();
    if (allowEnd && executeAt !== null && r < o.cancelShare) {
      const endedAt = rng.uniform(submittedAt + MINUTE, executeAt - 5 * MINUTE);
      push({
        kind: 'CANCEL',
        at: endedAt,
        activation: index,
        requestId: requestIdOf(p.esmeGuid),
        esmeGuid: p.esmeGuid,
      });
      const a: ActivationDraft = { ...base, fate: 'CANCELLED', ...notExecuted, endedAt };
      drafts.push(a);
      return a;
    }
    if (allowEnd && executeAt !== null && r < o.cancelShare + o.supersedeShare) {
      const endedAt = rng.uniform(submittedAt + MINUTE, executeAt - 5 * MINUTE);
      const a: ActivationDraft = { ...base, fate: 'SUPERSEDED', ...notExecuted, endedAt };
      drafts.push(a);
      // The replacement: a newer SR11.3 for the same ESME, dated a little differently.
      const next = Math.min(
        end - 10 * MINUTE,
        Math.max(endedAt + 10 * MINUTE, executeAt + rng.uniform(-60, 240) * MINUTE),
      );
      addActivation(p, endedAt, next, false);
      return a;
    }
    const due =
      (executeAt ?? submittedAt + rng.uniform(15, 120) * SECOND) +
      (executeAt ? rng.uniform(0, 90) * SECOND : 0);
    // Without mains the meter cannot execute: it runs the activation once supply returns.
    const executedAt = suppliedFrom(p.index, due);
    const failed = r < o.cancelShare + o.supersedeShare + o.failShare;
    const outcomeCode = failed ? (rng.chance(0.5) ? 'noImageHeld' : 'hashMismatch') : 'success';
    const a: ActivationDraft = {
      ...base,
      fate: failed ? 'FAILED' : 'SUCCEEDED',
      executedAt,
      executionDeferred: executedAt !== due,
      outcomeCode,
      ...outcomePlan(executedAt),
      endedAt: null,
    };
    drafts.push(a);
    return a;
  };
  const campaign = premises.filter((p) =>
    p.modelClass === 'AFFECTED' ? rng.chance(o.campaignShare) : rng.chance(o.otherActivationShare),
  );
  // Some affected meters of one feeder are scheduled together (campaign-clusters.ts): their slot
  // replaces their own draws, which are still made so that the main stream stays as it was.
  const clusters = planCampaignClusters(
    o,
    campaign.filter((p) => p.modelClass === 'AFFECTED'),
    start,
    end,
  );
  for (const p of campaign) {
    const submittedAt = rng.uniform(start, lastSubmit);
    const immediate = rng.chance(o.immediateShare);
    // A future-dated request executes within the span: its delay is drawn from what remains,
    // rather than clamped to the end, which would pile executions up at one instant (a burst no
    // supplier would schedule, and one that spends the safety budget).
    const room = end - 15 * MINUTE - submittedAt;
    const executeAt =
      immediate || room < 30 * MINUTE
        ? null
        : submittedAt + rng.logUniform(30 * MINUTE, Math.min(30 * HOUR, room));
    const slot = clusters.get(p.index);
    if (slot) addActivation(p, slot.submittedAt, slot.executeAt, true, slot.cluster);
    else
      addActivation(
        p,
        submittedAt,
        executeAt !== null && executeAt - submittedAt < 20 * MINUTE ? null : executeAt,
        true,
      );
  }
  const executed = drafts.filter((a) => a.executedAt !== null);
  const executionsOf = new Map<number, number[]>();
  for (const a of executed)
    executionsOf.set(a.premises, [...(executionsOf.get(a.premises) ?? []), a.executedAt!]);

  // 4. Communications Hubs replaced mid-campaign, before their ESME's activation.
  const swapCandidates = executed.filter(
    (a) => a.modelClass === 'AFFECTED' && a.fate === 'SUCCEEDED' && a.executedAt! > start + 3 * HOUR,
  );
  const swapped = rng.sample(
    swapCandidates,
    o.chSwapCount ?? Math.max(2, Math.round(campaign.length * o.chSwapShare)),
  );
  const forcedOta = new Set<number>();
  for (const a of swapped) {
    const p = premises[a.premises];
    const at = rng.uniform(
      start + HOUR,
      Math.max(start + HOUR, a.submittedAt - 20 * MINUTE, a.executedAt! - 2 * HOUR),
    );
    const chosen = Math.min(at, a.executedAt! - 20 * MINUTE);
    const next = {
      guid: guidOf('00-DB-C6', p.index + 1),
      from: Math.round(chosen / SECOND) * SECOND,
      skewMs: skew(),
    };
    push({
      kind: 'CH_SWAP',
      at: next.from,
      premises: p.index,
      esmeGuid: p.esmeGuid,
      oldCommsHubGuid: p.commsHubs[0].guid,
      newCommsHubGuid: next.guid,
      skewMs: next.skewMs,
    });
    p.commsHubs.push(next);
    forcedOta.add(a.index); // the new hub's first outage is the interesting one
  }

  // 5. OTA-induced CH outages: a successful activation of an image that cuts may cut its CH's
  // power for that image's characteristic length, starting within seconds of execution.
  const otaCuts = new Map<number, { from: number; to: number }[]>();
  const cutActivations = new Set<number>();
  const overlaps = (xs: readonly { from: number; to: number }[] | undefined, from: number, to: number) =>
    (xs ?? []).some((b) => b.from < to && from < b.to);
  for (const a of executed) {
    const range = otaCutRangeOf(a.modelClass);
    if (a.fate !== 'SUCCEEDED' || !range) continue;
    if (!forcedOta.has(a.index) && !rng.chance(o.otaOutageProbability)) continue;
    const s = a.executedAt! + rng.uniform(2, 15) * SECOND;
    const e = s + rng.uniform(range.minMinutes, range.maxMinutes) * MINUTE;
    // A genuine outage starting during the cut would merge with it: leave such rare cases uncut.
    if (overlaps(genuineBusy.get(a.premises), s, e) || overlaps(otaCuts.get(a.premises), s, e)) continue;
    const p = premises[a.premises];
    addOutage('OTA', s, e, [p.index], p, a.index);
    otaCuts.set(a.premises, [...(otaCuts.get(a.premises) ?? []), { from: s, to: e }]);
    cutActivations.add(a.index);
  }
  /** A genuine outage may be placed here without covering an execution or overlapping an OTA cut. */
  const fitsGenuine = (ps: readonly number[], s: number, e: number) =>
    ps.every(
      (pi) => !overlaps(otaCuts.get(pi), s, e) && !(executionsOf.get(pi) ?? []).some((t) => s <= t && t < e),
    );

  // 6. Genuine outages minutes after a successful activation that cut nothing (single premises),
  // and one whole feeder inside an activation's window. The blanket window hides them.
  const cutFree = executed.filter((a) => a.fate === 'SUCCEEDED' && !cutActivations.has(a.index));
  const wanted = Math.max(1, Math.round(cutFree.length * o.coincidentOutageShare));
  let placed = 0;
  for (const a of rng.sample(cutFree, cutFree.length)) {
    if (placed >= wanted) break;
    const p = premises[a.premises];
    const s = a.executedAt! + rng.uniform(4, 28) * MINUTE;
    const e = s + rng.logUniform(20 * MINUTE, 3 * HOUR);
    if (!fitsGenuine([p.index], s, e)) continue;
    addOutage('COINCIDENT', s, e, [p.index], p, a.index);
    placed++;
  }
  const affectedExecuted = executed.filter((a) => a.modelClass === 'AFFECTED' && a.fate === 'SUCCEEDED');
  for (const a of rng.sample(affectedExecuted, affectedExecuted.length)) {
    const f = feeders.find((x) => x.areaKey === premises[a.premises].areaKey)!;
    const s = a.executedAt! + rng.uniform(17, 27) * MINUTE;
    const e = s + rng.logUniform(45 * MINUTE, 4 * HOUR);
    if (!fitsGenuine(f.premises, s, e)) continue;
    addOutage('FEEDER', s, e, [...f.premises], f, a.index);
    break;
  }

  // 7. Dark periods and message transit: while a CH has no power nothing from its premises
  // travels; a message generated in the dark leaves once power returns.
  const darkIntervals: DarkInterval[][] = premises.map(() => []);
  for (const outage of outages)
    for (const pi of outage.premises)
      darkIntervals[pi].push({
        from: outage.startAt,
        to: outage.endAt,
        outageId: outage.id,
        genuine: outage.genuine,
      });
  for (const xs of darkIntervals) xs.sort((x, y) => x.from - y.from || x.to - y.to);
  const transit = () => rng.uniform(5, 60) * SECOND;
  /** When a message the premises generates at `sentAt` reaches the DSP. */
  const arrivalFrom = (pi: number, sentAt: number) => arrivalAfterDark(darkIntervals[pi], sentAt, transit);
  const claimRng = streamFor(o.seed, 'supplier-claims');
  const activations: ActivationTruth[] = drafts.map((a) => {
    const outcomeArrivesAt = a.outcomeSentAt === null ? null : arrivalFrom(a.premises, a.outcomeSentAt);
    // What the meter reports: the execution on its own clock (meter-clocks.ts).
    const reportedExecutedAt = a.executedAt === null ? null : a.executedAt + premises[a.premises].meterSkewMs;
    const failed = a.fate === 'FAILED';
    const of = { activation: a.index, requestId: a.requestId, esmeGuid: a.esmeGuid };
    const report = {
      outcomeCode: a.outcomeCode!,
      executedAt: reportedExecutedAt!,
      firmwareVersion: failed ? SIM_MODELS[a.modelClass].firmware : SIM_IMAGES[a.modelClass].version,
    };
    if (outcomeArrivesAt !== null) {
      const channel = a.executeAt === null ? 'IMMEDIATE' : failed ? '8F67' : '8F66';
      push({ kind: 'OUTCOME', at: outcomeArrivesAt, ...of, channel, ...report });
    }
    const claim = planClaim(claimRng, o, { ...a, outcomeArrivesAt }, darkIntervals[a.premises]);
    if (claim) push({ kind: 'CLAIM', at: claim.arrivesAt, ...of, ...report });
    return { ...a, outcomeArrivesAt, reportedExecutedAt, claim };
  });

  // 8. What reaches the DSP: AD1s (lost, duplicated, throttled, skewed, a bad check digit now and
  // then) and restores. The CH raises its AD1 while dark (that is what it is for); a restore is
  // the ESME's and waits like any other message.
  const ad1s: Ad1Truth[] = [];
  const keys = new Set<string>();
  const movedRng = streamFor(o.seed, 'moved-restores');
  const movedTransit = () => movedRng.uniform(5, 60) * SECOND;
  const deferredAt = new Map<number, number[]>();
  for (const a of activations)
    if (a.executionDeferred)
      deferredAt.set(a.premises, [...(deferredAt.get(a.premises) ?? []), a.executedAt!]);
  const stormBacklog = (cause: OutageCause) => (cause === 'STORM' ? rng.uniform(0, 120) * SECOND : 0);
  for (const outage of outages) {
    for (const pi of outage.premises) {
      const p = premises[pi];
      const spread = outage.premises.length > 1 ? rng.uniform(0, 10) * SECOND : 0;
      const trueStart = outage.startAt + spread;
      const hub = [...p.commsHubs].reverse().find((h) => h.from <= trueStart) ?? p.commsHubs[0];
      let startAt = Math.round((trueStart + hub.skewMs) / SECOND) * SECOND;
      while (keys.has(ad1Key(hub.guid, startAt))) startAt += SECOND;
      const key = ad1Key(hub.guid, startAt);
      keys.add(key);
      const lost = rng.chance(o.lostAd1Share);
      const throttledCount =
        (outage.cause === 'FEEDER' || outage.cause === 'STORM') && rng.chance(o.throttledShare)
          ? rng.int(2, 4)
          : 1;
      // A CH reports an outage once its power has been off for three minutes.
      const arrivedAt = lost
        ? null
        : trueStart + 3 * MINUTE + rng.uniform(2, 40) * SECOND + stormBacklog(outage.cause);
      ad1s.push({
        key,
        outageId: outage.id,
        genuine: outage.genuine,
        premises: pi,
        esmeGuid: p.esmeGuid,
        commsHubGuid: hub.guid,
        distributorId: p.distributorId,
        startAt,
        arrivedAt,
        throttledCount,
      });
      const mpan = rng.chance(o.badCheckDigitShare) ? withWrongCheckDigit(p.mpan, rng) : p.mpan;
      if (arrivedAt !== null) {
        const ad1 = { kind: 'AD1' as const, key, commsHubGuid: hub.guid, startAt, mpan, throttledCount };
        push({ ...ad1, at: arrivedAt, duplicate: false });
        if (rng.chance(o.duplicateShare))
          push({ ...ad1, at: arrivedAt + rng.uniform(5, 600) * SECOND, duplicate: true });
      }
      if (outage.genuine && !rng.chance(o.lostRestoreShare)) {
        // Sent at restoration, so before a deferred execution that supply's return allowed. The
        // drawn stamp's transit is still drawn, so the main stream stays as it was (see
        // restoredBefore); a stamp moved earlier takes its transit from a stream of its own.
        const drawn = Math.round((outage.endAt + rng.uniform(0, 30) * SECOND) / SECOND) * SECOND;
        const restorationAt = restoredBefore(deferredAt.get(pi), outage.endAt, drawn);
        const drawnArrival = arrivalFrom(pi, drawn);
        push({
          kind: 'RESTORE',
          at:
            restorationAt === drawn
              ? drawnArrival
              : arrivalAfterDark(darkIntervals[pi], restorationAt, movedTransit),
          outageId: outage.id,
          esmeGuid: p.esmeGuid,
          mpan: p.mpan,
          interruptionAt: Math.round(trueStart / SECOND) * SECOND + p.meterSkewMs,
          restorationAt: restorationAt + p.meterSkewMs,
        });
      }
    }
  }

  events.sort((a, b) => a.at - b.at || a.seq - b.seq);
  return {
    options: o,
    start,
    end,
    installedAt,
    premises,
    feeders,
    activations,
    outages,
    ad1s,
    events,
    darkIntervals,
  };
}

/** Counts for a summary line. */
export function describeScenario(s: Scenario): Record<string, number> {
  const count = (pred: (e: SimEvent) => boolean) => s.events.filter(pred).length;
  return {
    premises: s.premises.length,
    feeders: s.feeders.length,
    affectedEsmes: s.premises.filter((p) => p.modelClass === 'AFFECTED').length,
    activations: s.activations.length,
    outages: s.outages.length,
    genuineOutages: s.outages.filter((x) => x.genuine).length,
    otaOutages: s.outages.filter((x) => !x.genuine).length,
    ad1s: s.ad1s.length,
    ad1sLost: s.ad1s.filter((a) => a.arrivedAt === null).length,
    ad1Messages: count((e) => e.kind === 'AD1'),
    restoreMessages: count((e) => e.kind === 'RESTORE'),
    outcomeMessages: count((e) => e.kind === 'OUTCOME'),
    chSwaps: count((e) => e.kind === 'CH_SWAP'),
    events: s.events.length,
  };
}
