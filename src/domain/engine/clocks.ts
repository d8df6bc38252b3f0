/**
 * Device clocks. Every message a device sends carries its own time (an outage start, an
 * execution time, a restoration, an answer's time) and the DSP's receipt time; together they
 * bound the device's clock offset (device time minus true time). The engine keeps those bounds
 * per device, from the device's own traffic in the facts, and judges every window on corrected
 * times; a device with no usable history falls back to the fixed skew allowance.
 *
 * What each message proves (o = the device's offset, d = its device time, r = receipt):
 * - any message: it happened before it arrived, so o >= d - r (hard);
 * - an AD1: it is raised after the hub has been dark `commsHubAlertDelayMinutes` and then
 *   crosses the network, so o <= d - r + delay + transit, unless it queued (soft);
 * - a supply-restored alert: the hub needs a minute or two to come back before it can carry
 *   it, so o <= d - r + 2 min + transit (soft);
 * - an immediate activation's outcome: the meter cannot execute before the request was
 *   submitted, so o <= d - submitted (hard), and runs it within a minute or so of delivery,
 *   so o >= d - submitted - transit - 1 min (soft);
 * - an answer to a read: the meter answered after the read was sent and before its answer
 *   arrived, so d - r <= o <= d - sent (hard, and tight).
 * The hard bounds always hold; a soft one that contradicts them is dropped.
 */
import type { EngineSettings } from './settings';
import type {
  FirmwareActivationFact,
  PowerOutageAlertFacts,
  SupplyRestoredAlertFact,
  VerificationFact,
} from './facts';
import { sameCode } from './time';

const MINUTE_MS = 60_000;
/** Longest a hub takes to carry traffic again once its supply is back (restore alerts). */
const HUB_RECOVERY_MS = 2 * MINUTE_MS;
/** Offsets this small are not corrected (see estimateClock). */
const DEAD_BAND_MS = MINUTE_MS;

/** One message's bounds on its device's offset, ms; `null` for a side it says nothing about. */
export interface OffsetSample {
  readonly low: number;
  /** Lower bound that holds for a message that did not queue, or `null`. */
  readonly softLow?: number | null;
  /** Upper bound that always holds, or `null`. */
  readonly hardHigh: number | null;
  /** Upper bound that holds for a message that did not queue, or `null`. */
  readonly softHigh: number | null;
  readonly at: Date;
}

/** What the engine believes of one device's clock (offset = device time - true time). */
export interface ClockEstimate {
  readonly deviceGuid: string;
  /** The device's correction, ms: 0 when its bounds allow a true clock, else their middle. */
  readonly offsetMs: number;
  /** Lowest offset its messages allow, ms; `null` when they say nothing. */
  readonly lowMs: number | null;
  /** Highest offset its messages allow, ms; `null` when they say nothing. */
  readonly highMs: number | null;
  /** Messages the bounds came from. */
  readonly samples: number;
}

/** A clock that is known exactly: DCC's own times (a request's submission, a DCC alert header). */
export function exactClock(deviceGuid: string): ClockEstimate {
  return { deviceGuid, offsetMs: 0, lowMs: 0, highMs: 0, samples: 0 };
}

/** True when the device's messages bound its offset on both sides, within `spanMs` of each other. */
export function isLearned(clock: ClockEstimate, spanMs = Number.POSITIVE_INFINITY): boolean {
  return clock.lowMs !== null && clock.highMs !== null && clock.highMs - clock.lowMs <= spanMs;
}

/**
 * The estimate from a device's samples. The bounds are the intersection of every sample's; when
 * the soft upper bounds contradict the hard lower one (a message queued), only hard ones count;
 * when even those disagree (the clock was reset in between), the latest sample alone does.
 */
export function estimateClock(deviceGuid: string, samples: readonly OffsetSample[]): ClockEstimate {
  if (samples.length === 0) return { deviceGuid, offsetMs: 0, lowMs: null, highMs: null, samples: 0 };
  const { low, high } = intersect(samples, true) ?? intersect(samples, false) ?? latestAlone(samples);
  // A clock its messages allow to be right is taken as right; else the middle of its bounds (the
  // lower bound alone when that is all there is).
  const best = high === null ? Math.max(0, low) : low <= 0 && 0 <= high ? 0 : (low + high) / 2;
  // Within a minute of true is within what whole-second times and transit blur: left alone.
  const offsetMs = Math.abs(best) <= DEAD_BAND_MS ? 0 : Math.round(best);
  return { deviceGuid, offsetMs, lowMs: low, highMs: high, samples: samples.length };
}

function intersect(
  samples: readonly OffsetSample[],
  withSoft: boolean,
): { low: number; high: number | null } | null {
  let low = Number.NEGATIVE_INFINITY;
  let high: number | null = null;
  for (const s of samples) {
    low = Math.max(low, s.low, withSoft ? (s.softLow ?? s.low) : s.low);
    for (const h of withSoft ? [s.hardHigh, s.softHigh] : [s.hardHigh]) {
      if (h !== null) high = high === null ? h : Math.min(high, h);
    }
  }
  return high !== null && high < low ? null : { low, high };
}

function latestAlone(samples: readonly OffsetSample[]): { low: number; high: number | null } {
  const latest = [...samples].sort((a, b) => b.at.getTime() - a.at.getTime())[0];
  return { low: latest.low, high: latest.hardHigh ?? latest.softHigh };
}

/**
 * An AD1 from a hub: its start (hub clock) against its receipt. The hub raises it after being
 * dark `commsHubAlertDelayMinutes`, so it cannot arrive sooner after its start (hard); it then
 * crosses the network in about `transitMinutes` (soft: it may queue).
 */
export function commsHubAlertSample(startAt: Date, receivedAt: Date, settings: EngineSettings): OffsetSample {
  const low = startAt.getTime() - receivedAt.getTime() + settings.commsHubAlertDelayMinutes * MINUTE_MS;
  // An AD1 that arrived later than any plausible clock explains queued on the way: it bounds
  // nothing from above.
  const queued = low < -(settings.transitMinutes + settings.maxClockSkewMinutes) * MINUTE_MS;
  return {
    low,
    hardHigh: null,
    softHigh: queued ? null : low + settings.transitMinutes * MINUTE_MS,
    at: receivedAt,
  };
}

/** The samples an ESME's own messages give: restores, DCC outcomes, answers to reads. */
export function esmeSamples(
  esmeGuid: string,
  restores: readonly SupplyRestoredAlertFact[],
  activations: readonly FirmwareActivationFact[],
  verifications: readonly VerificationFact[],
  settings: EngineSettings,
): OffsetSample[] {
  const samples: OffsetSample[] = [];
  const transit = settings.transitMinutes * MINUTE_MS;
  for (const r of restores) {
    if (!sameCode(r.esmeGuid, esmeGuid)) continue;
    const gap = r.restorationAt.getTime() - r.receivedAt.getTime();
    samples.push({ low: gap, hardHigh: null, softHigh: gap + HUB_RECOVERY_MS + transit, at: r.receivedAt });
  }
  for (const a of activations) {
    if (!sameCode(a.deviceGuid, esmeGuid) || a.actualExecutedAt === null || !a.outcomeReceivedAt) continue;
    const executed = a.actualExecutedAt.getTime();
    // An immediate request runs as soon as DCC delivers it: within about a transit of its
    // submission, and never before.
    const hardHigh = a.immediate && a.submittedAt ? executed - a.submittedAt.getTime() : null;
    const softLow = hardHigh === null ? null : hardHigh - transit - MINUTE_MS;
    samples.push({
      low: executed - a.outcomeReceivedAt.getTime(),
      softLow,
      hardHigh,
      softHigh: null,
      at: a.outcomeReceivedAt,
    });
  }
  for (const v of verifications) {
    if (!sameCode(v.deviceGuid, esmeGuid) || v.answeredAt === null || !v.answerReceivedAt) continue;
    const answered = v.answeredAt.getTime();
    samples.push({
      low: answered - v.answerReceivedAt.getTime(),
      hardHigh: answered - v.requestedAt.getTime(),
      softHigh: null,
      at: v.answerReceivedAt,
    });
  }
  return samples;
}

/**
 * The range of (hub offset - anchor offset) the two clocks allow, ms. A side a clock's messages
 * say nothing about takes `allowanceMs` (the skew setting for a window, the largest plausible
 * skew for "could it be?").
 */
export function relativeOffsetRange(
  hub: ClockEstimate,
  anchor: ClockEstimate,
  allowanceMs: number,
): { readonly low: number; readonly high: number } {
  const bounds = (c: ClockEstimate): [number, number] => {
    if (c.lowMs !== null && c.highMs !== null) return [c.lowMs, c.highMs];
    // One-sided: the allowance, moved up by a lower bound above it.
    const low = Math.max(c.lowMs ?? -allowanceMs, -allowanceMs);
    return [low, Math.max(allowanceMs, low)];
  };
  const [hubLow, hubHigh] = bounds(hub);
  const [anchorLow, anchorHigh] = bounds(anchor);
  return { low: hubLow - anchorHigh, high: hubHigh - anchorLow };
}

/** The hub's clock from its AD1s, this one included. */
export function commsHubClockOf(facts: PowerOutageAlertFacts, settings: EngineSettings): ClockEstimate {
  const own = facts.alert;
  const others = (facts.commsHubAlerts ?? []).filter((h) => h.id !== own.id);
  return estimateClock(own.commsHubGuid, [
    commsHubAlertSample(own.startAt, own.receivedAt, settings),
    ...others.map((h) => commsHubAlertSample(h.startAt, h.receivedAt, settings)),
  ]);
}

/** An ESME's clock from its own messages in the facts. */
export function esmeClockOf(
  guid: string,
  facts: PowerOutageAlertFacts,
  settings: EngineSettings,
): ClockEstimate {
  return estimateClock(
    guid,
    esmeSamples(guid, facts.supplyRestoredAlerts, facts.activations, facts.verifications, settings),
  );
}
