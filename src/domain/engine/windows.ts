/**
 * The windows an activation opens, and whether an outage start falls inside one once the two
 * clocks involved are accounted for.
 *
 * An activation whose execution time is known opens the narrow window after it. Until then it
 * opens the provisional window after its requested time and, while it may still run, a longer
 * one: a meter without mains at the requested time runs the activation when supply returns,
 * hours later, and cuts its hub's power again minutes after the restoration (docs/ENGINE.md,
 * "Deferred execution"). What is known of the premises decides where that longer window starts:
 * - a supply-restored alert whose interruption spans the requested time: at its restoration;
 * - an AD1 of the hub under way at the requested time, with no restoration known since: the
 *   hub's next AD1 is the deferred cut, whenever it comes;
 * - a read after the requested time that still showed the old firmware: from that answer on;
 * - otherwise (no outcome, and nothing says it ran): from the requested time, for
 *   `deferredActivationHours`.
 * A read that showed the new firmware ends every such window at its answer: the activation had
 * run by then.
 */
import type { ClockEstimate } from './clocks';
import type { SuppressionWindow } from '../suppression-window';
import { exactClock, isLearned, relativeOffsetRange } from './clocks';
import type {
  CommsHubAlertFact,
  FirmwareActivationFact,
  PowerOutageAlertFact,
  SupplyRestoredAlertFact,
  VerificationFact,
} from './facts';
import type { EngineSettings } from './settings';
import { compareText, sameCode } from './time';

const MINUTE_MS = 60_000;

/** How a window is anchored; stable codes recorded in the evidence. */
export const WINDOW_TIMINGS = [
  'EXECUTED',
  'REQUESTED',
  'DEFERRED_RESTORE',
  'DEFERRED_OUTAGE',
  'NOT_YET_ACTIVATED',
  'OUTCOME_PENDING',
] as const;
export type WindowTiming = (typeof WINDOW_TIMINGS)[number];

/**
 * Which window explains an outage when several contain its start, when a restore shows the meter
 * dark at its requested time beyond the skew (TimedWindow.ruledOutRequest): the execution, then
 * that restore's window (the meter ran when supply returned, and the restore is the deferral's
 * evidence, not a release), then the others. Otherwise {@link WINDOW_TIMINGS} order.
 */
const PREFERENCE: readonly WindowTiming[] = [
  'EXECUTED',
  'DEFERRED_RESTORE',
  'REQUESTED',
  'DEFERRED_OUTAGE',
  'NOT_YET_ACTIVATED',
  'OUTCOME_PENDING',
];

/** One window an activation opens, in its anchor's own clock. */
export interface TimedWindow {
  readonly timing: WindowTiming;
  readonly anchor: Date;
  /** Whose clock the anchor is in: the device's (a meter time) or DCC's (exact). */
  readonly anchorClock: 'DEVICE' | 'DCC';
  /** Length after the anchor. */
  readonly minutes: number;
  /** Last instant the window can cover (an answer showing the activation had run), if any. */
  readonly endsBy: Date | null;
  /** The fact that placed the anchor: a restore, an AD1 of the hub, a read. */
  readonly evidenceId: string | null;
  /**
   * The evidence shows the meter without mains at the requested time beyond any clock skew (a
   * restore whose interruption began more than the skew before it): the request's own window
   * cannot be the run's, and this one is preferred to it.
   */
  readonly ruledOutRequest?: boolean;
}

/** What the premises' other messages say about an activation that has no execution time yet. */
export interface PremisesHistory {
  readonly alert: PowerOutageAlertFact;
  readonly restores: readonly SupplyRestoredAlertFact[];
  readonly commsHubAlerts: readonly CommsHubAlertFact[];
  readonly verifications: readonly VerificationFact[];
}

/** The windows of one activation (best explanation first), before any clock correction. */
export function activationWindows(
  path: 'ESME' | 'CHF',
  activation: FirmwareActivationFact,
  lengths: {
    readonly windowMinutes: number;
    readonly executedWindowMinutes: number;
    readonly skewMinutes: number;
  },
  versionBefore: string | null,
  history: PremisesHistory,
  settings: EngineSettings,
): TimedWindow[] {
  const anchorClock = activation.immediate ? 'DCC' : 'DEVICE';
  if (activation.actualExecutedAt !== null) {
    // A CH's own activation is stamped by DCC (its alert header); a meter's by the meter.
    const clock = path === 'CHF' ? 'DCC' : 'DEVICE';
    return [window('EXECUTED', activation.actualExecutedAt, clock, lengths.executedWindowMinutes)];
  }
  const requested = window('REQUESTED', activation.requestedAt, anchorClock, lengths.windowMinutes);
  const mayStillRun = activation.status === 'SCHEDULED' || activation.status === 'OUTCOME_UNKNOWN';
  if (!mayStillRun || settings.deferredActivationHours <= 0) return [requested];

  const requestedAt = activation.requestedAt.getTime();
  const skewMs = lengths.skewMinutes * MINUTE_MS;
  const hours = settings.deferredActivationHours * 60;
  const answers = history.verifications
    .filter(
      (v) =>
        sameCode(v.deviceGuid, activation.deviceGuid) &&
        v.status === 'ANSWERED' &&
        v.answeredAt !== null &&
        v.answeredAt.getTime() >= requestedAt - skewMs &&
        v.answeredAt.getTime() < history.alert.startAt.getTime(),
    )
    .sort((a, b) => a.answeredAt!.getTime() - b.answeredAt!.getTime() || compareText(a.id, b.id));
  const ran = answers.find((v) => answerShowsRun(v.firmwareVersion, activation, versionBefore) === true);
  const endsBy = ran?.answeredAt ?? null;
  const windows: TimedWindow[] = [{ ...requested, endsBy }];

  const restore = spanningRestore(activation, history.restores, skewMs);
  if (restore) {
    windows.push({
      ...window('DEFERRED_RESTORE', restore.restorationAt, 'DEVICE', lengths.windowMinutes),
      endsBy,
      evidenceId: restore.id,
      ruledOutRequest:
        restore.interruptionAt.getTime() + skewMs < activation.requestedAt.getTime() &&
        activation.requestedAt.getTime() + skewMs < restore.restorationAt.getTime(),
    });
  }
  const outage = outageAtRequest(activation, history, skewMs, hours);
  if (outage) {
    windows.push({
      ...window('DEFERRED_OUTAGE', activation.requestedAt, anchorClock, hours),
      endsBy,
      evidenceId: outage.id,
    });
  }
  const notYet = [...answers]
    .reverse()
    .find((v) => answerShowsRun(v.firmwareVersion, activation, versionBefore) === false);
  if (notYet && (ran === undefined || notYet.answeredAt! > ran.answeredAt!)) {
    windows.push({
      ...window('NOT_YET_ACTIVATED', notYet.answeredAt!, 'DEVICE', hours),
      endsBy: null,
      evidenceId: notYet.id,
    });
  }
  windows.push({ ...window('OUTCOME_PENDING', activation.requestedAt, anchorClock, hours), endsBy });
  return windows;
}

function window(
  timing: WindowTiming,
  anchor: Date,
  anchorClock: 'DEVICE' | 'DCC',
  minutes: number,
): TimedWindow {
  return { timing, anchor, anchorClock, minutes, endsBy: null, evidenceId: null };
}

/** The earliest supply-restored alert of the meter whose interruption spans the requested time. */
function spanningRestore(
  activation: FirmwareActivationFact,
  restores: readonly SupplyRestoredAlertFact[],
  skewMs: number,
): SupplyRestoredAlertFact | null {
  const t = activation.requestedAt.getTime();
  const spanning = restores
    .filter((r) => {
      if (!sameCode(r.esmeGuid, activation.deviceGuid)) return false;
      const from = Math.min(r.interruptionAt.getTime(), r.restorationAt.getTime());
      const to = Math.max(r.interruptionAt.getTime(), r.restorationAt.getTime());
      return from - skewMs <= t && t <= to + skewMs;
    })
    .sort((a, b) => a.restorationAt.getTime() - b.restorationAt.getTime() || compareText(a.id, b.id));
  return spanning[0] ?? null;
}

/**
 * An AD1 of the hub whose outage was under way at the requested time (started before it, within
 * the deferral bound, with no restoration of the meter known between), provided the alert being
 * decided is the hub's first AD1 after it: that one is the deferred cut, later ones are not.
 */
function outageAtRequest(
  activation: FirmwareActivationFact,
  history: PremisesHistory,
  skewMs: number,
  hours: number,
): CommsHubAlertFact | null {
  const t = activation.requestedAt.getTime();
  const start = history.alert.startAt.getTime();
  if (start < t - skewMs) return null;
  const others = history.commsHubAlerts.filter((h) => h.id !== history.alert.id);
  const under = others
    .filter((h) => {
      const s = h.startAt.getTime();
      return s <= t + skewMs && s >= t - hours * MINUTE_MS && s < start;
    })
    .sort((a, b) => b.startAt.getTime() - a.startAt.getTime() || compareText(a.id, b.id))[0];
  if (!under) return null;
  const from = under.startAt.getTime();
  const restoredBetween = history.restores.some(
    (r) =>
      sameCode(r.esmeGuid, activation.deviceGuid) &&
      r.restorationAt.getTime() > from &&
      r.restorationAt.getTime() < t - skewMs,
  );
  if (restoredBetween) return null;
  const cutBefore = others.some((h) => h.startAt.getTime() > from && h.startAt.getTime() < start);
  return cutBefore ? null : under;
}

/**
 * Whether a meter's reported version shows the activation ran: the target version (or any other
 * than the version before it when there is no target) says yes, the version before says no.
 */
export function answerShowsRun(
  version: string | null,
  activation: Pick<FirmwareActivationFact, 'targetFirmwareVersion'>,
  versionBefore: string | null,
): boolean | null {
  if (version === null || version.trim() === '') return null;
  const target = activation.targetFirmwareVersion;
  if (target) {
    if (sameCode(version, target)) return true;
    return versionBefore !== null && sameCode(version, versionBefore) ? false : null;
  }
  if (versionBefore === null) return null;
  return !sameCode(version, versionBefore);
}

/** Where an outage start stands against a window, clocks accounted for. */
export type WindowMatch = 'IN' | 'PLAUSIBLE' | 'OUT';

/** The window as the hub's clock sees it, and how the outage start falls. */
export interface ClockedWindow {
  readonly match: WindowMatch;
  /** Inclusive bounds in the hub's clock: the window as it stood, widened by the correction. */
  readonly from: Date;
  readonly to: Date;
  /** The correction applied to the anchor (hub offset - anchor offset), ms. */
  readonly shiftMs: number;
}

/**
 * Places the outage start against a window. IN: inside the window as it stood (the skew
 * allowance either side of nothing known), or inside it once moved by what the two clocks'
 * messages show of their offsets, neither beyond `maxClockSkewMinutes`. PLAUSIBLE: inside only once
 * moved by a larger correction, or once any offset a clock with no history could have
 * (`maxClockSkewMinutes`) is allowed: not enough to decide on, so the meter is asked, and its
 * answer bounds its clock. OUT: nothing known explains it.
 */
export function matchWindow(
  timed: TimedWindow,
  startAt: Date,
  hub: ClockEstimate,
  anchorClock: ClockEstimate,
  skewMinutes: number,
  settings: EngineSettings,
): ClockedWindow {
  const anchor = timed.anchor.getTime();
  const skew = skewMinutes * MINUTE_MS;
  const length = timed.minutes * MINUTE_MS;
  const shiftMs = hub.offsetMs - anchorClock.offsetMs;
  const cap = (to: number) => (timed.endsBy === null ? to : Math.min(to, timed.endsBy.getTime()));
  const from = Math.min(anchor - skew, anchor + shiftMs - skew);
  const to = cap(Math.max(anchor + length, anchor + shiftMs + length));
  const t = startAt.getTime();
  const inside = (a: number, b: number) => a <= t && t <= b;
  const asStood = inside(anchor - skew, cap(anchor + length));
  const moved = inside(anchor + shiftMs - skew, cap(anchor + shiftMs + length));
  if (asStood || (moved && believable(hub, anchorClock, settings)))
    return { match: 'IN', from: new Date(from), to: new Date(to), shiftMs };
  // A correction beyond any offset a clock is presumed to have rests on facts that may not hold
  // together (a late request, a queued message): it may explain the start, not decide on it.
  if (moved) return { match: 'PLAUSIBLE', from: new Date(from), to: new Date(to), shiftMs };
  // Two clocks their messages bound closely leave nothing to ask about.
  const close = 2 * skew;
  const unknownClock = !isLearned(hub, close) || !isLearned(anchorClock, close);
  if (settings.maxClockSkewMinutes <= 0 || !unknownClock)
    return { match: 'OUT', from: new Date(from), to: new Date(to), shiftMs };
  const range = relativeOffsetRange(hub, anchorClock, settings.maxClockSkewMinutes * MINUTE_MS);
  const plausible = inside(anchor + range.low - MINUTE_MS, cap(anchor + range.high + length));
  return { match: plausible ? 'PLAUSIBLE' : 'OUT', from: new Date(from), to: new Date(to), shiftMs };
}

/** True when neither clock's correction exceeds the most a device clock is presumed to be off. */
function believable(hub: ClockEstimate, anchorClock: ClockEstimate, settings: EngineSettings): boolean {
  const most = settings.maxClockSkewMinutes * MINUTE_MS;
  return most <= 0 || (Math.abs(hub.offsetMs) <= most && Math.abs(anchorClock.offsetMs) <= most);
}

/** The clocks a path judges windows with: the hub's, and the activated device's. */
export interface PathClocks {
  readonly commsHub: ClockEstimate;
  readonly device: ClockEstimate;
}

/** The window a candidate is judged on, and how it was placed. */
export interface FoundWindow {
  /** Bounds in the hub's clock (see {@link ClockedWindow}); anchor as the activation states it. */
  readonly window: SuppressionWindow;
  readonly windowMinutes: number;
  readonly timing: WindowTiming;
  readonly timingEvidenceId: string | null;
  readonly clockUnsure: boolean;
  readonly clocks: {
    readonly commsHub: ClockEstimate;
    readonly anchor: ClockEstimate;
    readonly shiftMs: number;
  };
}

/**
 * The activation's best window for this outage start: one that contains it before one that only
 * an unknown clock could, then by {@link PREFERENCE} or {@link WINDOW_TIMINGS}. `null` when none can.
 */
export function bestWindow(
  path: 'ESME' | 'CHF',
  activation: FirmwareActivationFact,
  bounds: { windowMinutes: number; executedWindowMinutes: number; skewMinutes: number },
  versionBefore: string | null,
  history: PremisesHistory,
  clocks: PathClocks,
  settings: EngineSettings,
): FoundWindow | null {
  let best: (FoundWindow & { rank: number }) | null = null;
  const windows = activationWindows(path, activation, bounds, versionBefore, history, settings);
  const order = windows.some((w) => w.ruledOutRequest) ? PREFERENCE : WINDOW_TIMINGS;
  for (const timed of windows) {
    const anchorClock = timed.anchorClock === 'DCC' ? exactClock('DCC') : clocks.device;
    const placed = matchWindow(
      timed,
      history.alert.startAt,
      clocks.commsHub,
      anchorClock,
      bounds.skewMinutes,
      settings,
    );
    if (placed.match === 'OUT') continue;
    const rank = (placed.match === 'IN' ? 0 : 10) + order.indexOf(timed.timing);
    if (best !== null && best.rank <= rank) continue;
    best = {
      rank,
      window: {
        from: placed.from,
        to: placed.to,
        anchor: timed.anchor,
        anchoredOnActual: timed.timing === 'EXECUTED',
      },
      windowMinutes: timed.minutes,
      timing: timed.timing,
      timingEvidenceId: timed.evidenceId,
      clockUnsure: placed.match === 'PLAUSIBLE',
      clocks: { commsHub: clocks.commsHub, anchor: anchorClock, shiftMs: placed.shiftMs },
    };
  }
  if (best === null) return null;
  const { rank: _rank, ...found } = best;
  return found;
}
