/**
 * Is this AD1 a candidate for suppression? Finds the ESME that powered the CH at the outage start,
 * matches enabled affected-firmware rules against the device's pre-activation firmware, and
 * looks for an activation whose window contains the outage start. The same test runs for the CH's
 * own firmware activations. Any gap in the data ends the search with a reason code: the caller
 * then delivers (fail open).
 */
import { CANCELLATION_SENTINEL } from '../model';
import type { ActivationStatus } from '../model';
import { suppressionWindow } from '../suppression-window';
import type { SuppressionWindow } from '../suppression-window';
import type { ClockEstimate } from './clocks';
import { commsHubClockOf, esmeClockOf } from './clocks';
import type { DecisionReason, FirmwareEvidence, PathOutcome } from './decision';
import type {
  AffectedFirmwareRuleFact,
  CommsHubAssociationFact,
  DeviceFact,
  FirmwareActivationFact,
  PowerOutageAlertFacts,
} from './facts';
import type { EngineSettings } from './settings';
import { addMinutes, compareText, sameCode } from './time';
import { matchFirmware } from './firmware-match';
import type { FirmwareMatch } from './firmware-match';
import { WINDOW_TIMINGS, bestWindow } from './windows';
import type { PremisesHistory, PathClocks, WindowTiming } from './windows';

/** One (rule, activation) pair whose window contains the outage start and whose firmware matches. */
export interface Candidate {
  readonly path: 'ESME' | 'CHF';
  readonly rule: AffectedFirmwareRuleFact;
  readonly activation: FirmwareActivationFact;
  /** The device the activation was for (the ESME, or the CH itself). */
  readonly device: DeviceFact;
  readonly window: SuppressionWindow;
  /** The window's length after its anchor (the executed or the provisional one). */
  readonly windowMinutes: number;
  readonly skewMinutes: number;
  readonly firmware: FirmwareEvidence;
  /** How the window is anchored: on the execution, the request, or where a deferred run would fall. */
  readonly timing: WindowTiming;
  /** The fact that placed a deferred window (a restore, an AD1 of the hub, a read), if any. */
  readonly timingEvidenceId: string | null;
  /**
   * True when only an offset the clocks' own messages do not show could put the outage start in
   * the window: the meter is asked rather than the window trusted.
   */
  readonly clockUnsure: boolean;
  /** The clocks the window was judged with: the hub's, and the anchor's (the meter's or DCC's). */
  readonly clocks: {
    readonly commsHub: ClockEstimate;
    readonly anchor: ClockEstimate;
    readonly shiftMs: number;
  };
}

/** A (rule, activation) pair that came closest without being a candidate, for the evidence only. */
export interface NearMiss {
  readonly rule: AffectedFirmwareRuleFact;
  readonly activation: FirmwareActivationFact;
  readonly window: SuppressionWindow;
  readonly windowMinutes: number;
  readonly skewMinutes: number;
  readonly firmware: FirmwareEvidence | null;
}

/** The result of identification: the devices found, and the candidates best first, or why none. */
export interface Identification {
  readonly commsHub: DeviceFact | null;
  /** The hub's clock, from its AD1s (this one included). */
  readonly commsHubClock: ClockEstimate;
  /** The clock of the ESME that powered the hub, from its own messages; `null` without one. */
  readonly esmeClock: ClockEstimate | null;
  readonly association: CommsHubAssociationFact | null;
  readonly esme: DeviceFact | null;
  readonly paths: { readonly esme: PathOutcome; readonly commsHub: PathOutcome };
  /** Best first (see {@link activationRank}); empty when the alert is not a candidate. */
  readonly candidates: readonly Candidate[];
  /** Why there is no candidate; `null` when there is one. */
  readonly reason: DecisionReason | null;
  readonly nearMiss: NearMiss | null;
}

type PathResult =
  | { readonly kind: 'candidates'; readonly candidates: readonly Candidate[] }
  | { readonly kind: 'none'; readonly reason: DecisionReason; readonly nearMiss: NearMiss | null };

/**
 * Which reason explains "not a candidate" best when both paths failed. Missing data comes first:
 * it is the answer to "could we have missed a suppression?" and what an operator must fix.
 */
const NO_CANDIDATE_PRIORITY: readonly DecisionReason[] = [
  'UNKNOWN_DEVICE',
  'AMBIGUOUS_COMMS_HUB_LINK',
  'NO_COMMS_HUB_LINK',
  'UNKNOWN_MODEL',
  'UNKNOWN_FIRMWARE_VERSION',
  'FIRMWARE_NOT_AFFECTED',
  'NO_ACTIVATION_WINDOW',
  'NO_MATCHING_RULE',
];

/** The inventory entry for `guid`, or `null`. The service passes at most one per GUID. */
export function findDevice(devices: readonly DeviceFact[], guid: string): DeviceFact | null {
  return devices.find((d) => sameCode(d.guid, guid)) ?? null;
}

/**
 * The association(s) of the CH valid at `at` (half-open ranges). More than one distinct ESME at
 * the same instant is a data error the engine must not guess through.
 */
export function associationsAt(
  associations: readonly CommsHubAssociationFact[],
  commsHubGuid: string,
  at: Date,
): CommsHubAssociationFact[] {
  const t = at.getTime();
  return associations
    .filter(
      (a) =>
        sameCode(a.commsHubGuid, commsHubGuid) &&
        a.effectiveFrom.getTime() <= t &&
        (a.effectiveTo === null || t < a.effectiveTo.getTime()),
    )
    .sort(
      (a, b) => b.effectiveFrom.getTime() - a.effectiveFrom.getTime() || compareText(a.esmeGuid, b.esmeGuid),
    );
}

/**
 * The version the device ran before the activation. The activation's own record (taken when it
 * was requested) wins; else the inventory entry effective strictly before the window opens, so
 * an inventory that already shows the new firmware (or stamps it a little early, clock skew) is
 * not mistaken for the old one. Two different versions at the same latest instant: unknown.
 */
export function firmwareBefore(
  device: DeviceFact,
  activation: FirmwareActivationFact,
  window: SuppressionWindow,
): FirmwareEvidence | null {
  if (activation.firmwareVersionBefore) {
    return { versionBefore: activation.firmwareVersionBefore, source: 'ACTIVATION' };
  }
  const cutoff = window.from.getTime();
  const earlier = device.firmwareHistory.filter((h) => h.effectiveFrom.getTime() < cutoff);
  if (earlier.length === 0) return null;
  const latest = Math.max(...earlier.map((h) => h.effectiveFrom.getTime()));
  const versions = new Set(
    earlier.filter((h) => h.effectiveFrom.getTime() === latest).map((h) => h.version.toUpperCase()),
  );
  if (versions.size !== 1) return null;
  const version = earlier.find((h) => h.effectiveFrom.getTime() === latest)?.version;
  return version === undefined ? null : { versionBefore: version, source: 'INVENTORY_HISTORY' };
}

/** True when an activation's status means the device actually ran the activation. */
export function activationExecuted(activation: FirmwareActivationFact, settings: EngineSettings): boolean {
  if (activation.status === 'SUCCEEDED') return true;
  // An `activationFailure` means the device tried (and may have rebooted the CH's supply); by
  // setting it can count as an execution instead of a release.
  return (
    activation.status === 'FAILED' &&
    activation.outcomeCode === 'activationFailure' &&
    !settings.activationFailureReleases
  );
}

/**
 * Preference among several activations covering the outage: the one that best explains it
 * first (executed with a known time), then a pending one still within its outcome bound, then
 * an executed one with no time, then those that are release evidence. Choosing the best
 * explanation is safe: the release checks still run on it, and one activation that did cut the
 * power explains the AD1 whatever happened to the others.
 */
export function activationRank(
  activation: FirmwareActivationFact,
  settings: EngineSettings,
  now: Date,
): number {
  const executed = activationExecuted(activation, settings);
  if (executed && activation.actualExecutedAt !== null) return 0;
  const status: ActivationStatus = activation.status;
  if (status === 'SCHEDULED' && now.getTime() <= outcomeDeadline(activation, settings).getTime()) return 1;
  if (executed) return 2;
  return 3;
}

/** The instant after which a SCHEDULED activation's outcome counts as lost. */
export function outcomeDeadline(activation: FirmwareActivationFact, settings: EngineSettings): Date {
  return addMinutes(activation.requestedAt, settings.outcomeBoundMinutes);
}

function ruleWindowSettings(
  rule: AffectedFirmwareRuleFact,
  settings: EngineSettings,
): { windowMinutes: number; executedWindowMinutes: number; skewMinutes: number } {
  return {
    windowMinutes: rule.windowMinutes ?? settings.windowMinutes,
    executedWindowMinutes: rule.executedWindowMinutes ?? settings.executedWindowMinutes,
    skewMinutes: rule.skewMinutes ?? settings.skewMinutes,
  };
}

/**
 * The activation's window under a rule: narrow and anchored on the actual time when known, else
 * wide and provisional on the requested time.
 */
export function activationWindow(
  activation: FirmwareActivationFact,
  rule: AffectedFirmwareRuleFact,
  settings: EngineSettings,
): SuppressionWindow {
  const anchoredOnActual = activation.actualExecutedAt !== null;
  const anchor = activation.actualExecutedAt ?? activation.requestedAt;
  return suppressionWindow(anchor, anchoredOnActual, ruleWindowSettings(rule, settings));
}

function devicePath(
  path: 'ESME' | 'CHF',
  device: DeviceFact,
  rules: readonly AffectedFirmwareRuleFact[],
  facts: PowerOutageAlertFacts,
  settings: EngineSettings,
  clocks: PathClocks,
): PathResult {
  if (!device.manufacturer || !device.model) return { kind: 'none', reason: 'UNKNOWN_MODEL', nearMiss: null };
  const manufacturer = device.manufacturer;
  const model = device.model;
  const modelRules = rules.filter(
    (r) => r.deviceType === path && sameCode(r.manufacturer, manufacturer) && sameCode(r.model, model),
  );
  if (modelRules.length === 0) return { kind: 'none', reason: 'NO_MATCHING_RULE', nearMiss: null };

  // The year-3000 sentinel means "cancel", never "activate then": it must not open a window.
  const activations = facts.activations.filter(
    (a) => sameCode(a.deviceGuid, device.guid) && a.requestedAt.getTime() < CANCELLATION_SENTINEL.getTime(),
  );
  const startAt = facts.alert.startAt;
  const history: PremisesHistory = {
    alert: facts.alert,
    restores: facts.supplyRestoredAlerts,
    commsHubAlerts: facts.commsHubAlerts ?? [],
    verifications: facts.verifications,
  };
  const candidates: Candidate[] = [];
  const misses: { miss: NearMiss; why: FirmwareMatch }[] = [];
  let nearestOutside: NearMiss | null = null;
  let nearestDistance = Number.POSITIVE_INFINITY;
  for (const rule of modelRules) {
    const ruleBounds = ruleWindowSettings(rule, settings);
    for (const activation of activations) {
      const legacy = activationWindow(activation, rule, settings);
      const versionBefore = firmwareBefore(device, activation, legacy)?.versionBefore ?? null;
      const found = bestWindow(path, activation, ruleBounds, versionBefore, history, clocks, settings);
      if (found === null) {
        const distance = Math.abs(legacy.anchor.getTime() - startAt.getTime());
        if (distance < nearestDistance) {
          nearestDistance = distance;
          nearestOutside = {
            rule,
            activation,
            window: legacy,
            windowMinutes: legacy.anchoredOnActual
              ? ruleBounds.executedWindowMinutes
              : ruleBounds.windowMinutes,
            skewMinutes: ruleBounds.skewMinutes,
            firmware: null,
          };
        }
        continue;
      }
      const bounds = { windowMinutes: found.windowMinutes, skewMinutes: ruleBounds.skewMinutes };
      const firmware = firmwareBefore(device, activation, legacy);
      const match = matchFirmware(rule, activation, firmware);
      if (match === 'MATCH' && firmware !== null) {
        candidates.push({ path, rule, activation, device, ...found, ...bounds, firmware });
      } else {
        misses.push({ miss: { rule, activation, window: found.window, ...bounds, firmware }, why: match });
      }
    }
  }
  if (candidates.length > 0) return { kind: 'candidates', candidates };
  if (misses.length > 0) {
    misses.sort((a, b) => compareNearMiss(a.miss, b.miss));
    const unknown = misses.find((m) => m.why === 'UNKNOWN_FIRMWARE_VERSION');
    const chosen = unknown ?? misses[0];
    return {
      kind: 'none',
      reason: unknown ? 'UNKNOWN_FIRMWARE_VERSION' : 'FIRMWARE_NOT_AFFECTED',
      nearMiss: chosen.miss,
    };
  }
  return { kind: 'none', reason: 'NO_ACTIVATION_WINDOW', nearMiss: nearestOutside };
}

function compareNearMiss(a: NearMiss, b: NearMiss): number {
  return compareText(a.activation.id, b.activation.id) || compareText(a.rule.id, b.rule.id);
}

function compareCandidates(
  a: Candidate,
  b: Candidate,
  startAt: Date,
  settings: EngineSettings,
  now: Date,
): number {
  const t = startAt.getTime();
  return (
    Number(a.clockUnsure) - Number(b.clockUnsure) ||
    activationRank(a.activation, settings, now) - activationRank(b.activation, settings, now) ||
    WINDOW_TIMINGS.indexOf(a.timing) - WINDOW_TIMINGS.indexOf(b.timing) ||
    Math.abs(a.window.anchor.getTime() - t) - Math.abs(b.window.anchor.getTime() - t) ||
    (a.path === b.path ? 0 : a.path === 'ESME' ? -1 : 1) ||
    compareText(a.activation.id, b.activation.id) ||
    compareText(a.rule.id, b.rule.id) ||
    b.rule.version - a.rule.version
  );
}

/** A hub the inventory does not know: nothing can be a candidate (fail open). */
function unknownHub(commsHubClock: ClockEstimate): Identification {
  return {
    commsHub: null,
    commsHubClock,
    esmeClock: null,
    association: null,
    esme: null,
    paths: { esme: 'UNKNOWN_DEVICE', commsHub: 'UNKNOWN_DEVICE' },
    candidates: [],
    reason: 'UNKNOWN_DEVICE',
    nearMiss: null,
  };
}

function pathOutcome(result: PathResult): PathOutcome {
  return result.kind === 'candidates' ? 'CANDIDATE' : result.reason;
}

/**
 * Identifies the candidates for this AD1 under the given rules (already filtered by the caller:
 * enforced or shadow). Pure and order-independent: inputs in any order give the same result.
 */
export function identify(
  facts: PowerOutageAlertFacts,
  rules: readonly AffectedFirmwareRuleFact[],
  settings: EngineSettings,
  now: Date,
): Identification {
  const { alert } = facts;
  const commsHub = findDevice(facts.devices, alert.commsHubGuid);
  const commsHubClock = commsHubClockOf(facts, settings);
  if (commsHub === null) return unknownHub(commsHubClock);

  let association: CommsHubAssociationFact | null = null;
  let esme: DeviceFact | null = null;
  let esmeResult: PathResult;
  let esmeClock: ClockEstimate | null = null;
  const valid = associationsAt(facts.associations, alert.commsHubGuid, alert.startAt);
  const esmeGuids = new Set(valid.map((a) => a.esmeGuid.toUpperCase()));
  if (esmeGuids.size === 0) {
    esmeResult = { kind: 'none', reason: 'NO_COMMS_HUB_LINK', nearMiss: null };
  } else if (esmeGuids.size > 1) {
    esmeResult = { kind: 'none', reason: 'AMBIGUOUS_COMMS_HUB_LINK', nearMiss: null };
  } else {
    association = valid[0];
    esme = findDevice(facts.devices, association.esmeGuid);
    esmeClock = esmeClockOf(association.esmeGuid, facts, settings);
    esmeResult =
      esme === null || esme.type !== 'ESME'
        ? { kind: 'none', reason: 'UNKNOWN_DEVICE', nearMiss: null }
        : devicePath('ESME', esme, rules, facts, settings, { commsHub: commsHubClock, device: esmeClock });
  }

  // The CH path only exists where some rule targets CHs; otherwise its "no rule" says nothing.
  const chResult: PathResult | null = rules.some((r) => r.deviceType === 'CHF')
    ? devicePath('CHF', commsHub, rules, facts, settings, { commsHub: commsHubClock, device: commsHubClock })
    : null;

  const candidates = [
    ...(esmeResult.kind === 'candidates' ? esmeResult.candidates : []),
    ...(chResult?.kind === 'candidates' ? chResult.candidates : []),
  ].sort((a, b) => compareCandidates(a, b, alert.startAt, settings, now));

  const paths = {
    esme: pathOutcome(esmeResult),
    commsHub: chResult === null ? 'NOT_APPLICABLE' : pathOutcome(chResult),
  };
  if (candidates.length > 0) {
    return {
      commsHub,
      commsHubClock,
      esmeClock,
      association,
      esme,
      paths,
      candidates,
      reason: null,
      nearMiss: null,
    };
  }

  const failures = [esmeResult, chResult].flatMap((r) => (r !== null && r.kind === 'none' ? [r] : []));
  failures.sort((a, b) => NO_CANDIDATE_PRIORITY.indexOf(a.reason) - NO_CANDIDATE_PRIORITY.indexOf(b.reason));
  const chosen = failures[0];
  return {
    commsHub,
    commsHubClock,
    esmeClock,
    association,
    esme,
    paths,
    candidates: [],
    reason: chosen.reason,
    nearMiss: chosen.nearMiss ?? failures.find((f) => f.nearMiss !== null)?.nearMiss ?? null,
  };
}
