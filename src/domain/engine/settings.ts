/**
 * Engine settings: every bound the decision rules use, with the defaults from PRODUCT.md. The
 * service reads them from configuration once and passes them in; the engine never reads the
 * environment.
 */
import { InvalidInputError } from '../errors';

/** Safety budget: the kill-switch that stops suppressing where suppressions pile up. */
export interface SafetyBudgetSettings {
  /** Length of the sliding window the service counts over (recorded in evidence). */
  readonly windowMinutes: number;
  /** Stop suppressing for a DNO once this many AD1s are withheld in the window. */
  readonly maxSuppressionsPerDno: number;
  /** Stop suppressing in an area once this many AD1s are withheld in the window. */
  readonly maxSuppressionsPerArea: number;
  /** Stop suppressing once withheld / received would exceed this share (0..1)... */
  readonly maxShare: number;
  /** ...but only once at least this many AD1s were received (small samples are noisy). */
  readonly minSample: number;
  /**
   * Which suppressions the share limit does not stop (the count limits stop every one). During a
   * firmware campaign most of a DNO's AD1s are OTA-induced: a share limit that stopped every
   * suppression would deliver the campaign exactly when it matters. `CONFIRMED` (default): an AD1
   * confirmed on its own evidence (DCC's outcome in its meter's narrow window, or the meter's own
   * answer once its hub is back) may still be withheld; the engine withholds nothing less, so a
   * spent share is then an alarm (evidence, metric) and the counts are the kill-switch.
   * `DCC_OUTCOME`: only DCC's outcome lifts it; `NONE`: nothing does.
   */
  readonly shareExempt: BudgetShareExempt;
}

/** See {@link SafetyBudgetSettings.shareExempt}. */
export type BudgetShareExempt = 'NONE' | 'DCC_OUTCOME' | 'CONFIRMED';
export const BUDGET_SHARE_EXEMPTIONS: readonly BudgetShareExempt[] = ['NONE', 'DCC_OUTCOME', 'CONFIRMED'];

/** Active verification: how long to wait for the meter's answer, and how often to ask. */
export interface VerificationSettings {
  /** False: no request is ever made; a candidate without an outcome is released at the bound. */
  readonly enabled: boolean;
  /** Wait for one answer, minutes. No answer in time counts as no answer. */
  readonly timeoutMinutes: number;
  /** Requests per outage (the first and its retries). */
  readonly attempts: number;
}

/** All decision bounds. */
export interface EngineSettings {
  /** Window length after the activation anchor, minutes (rules may override). */
  readonly windowMinutes: number;
  /** Clock-skew tolerance before the anchor, minutes (rules may override). */
  readonly skewMinutes: number;
  /**
   * Ceiling on every hold: a held AD1 is decided by `receivedAt + holdMinutes` at the latest,
   * whatever the evidence bound below would allow. The evidence bound normally ends a hold sooner.
   */
  readonly holdMinutes: number;
  /**
   * Longest time an OTA activation keeps the Communications Hub dark, for rules that do not
   * carry their own `maxCommsHubOffMinutes`. Nothing from the premises can travel before it ends.
   */
  readonly maxCommsHubOffMinutes: number;
  /** Time a message from the premises needs to cross the network once the hub has power again. */
  readonly transitMinutes: number;
  /** How long a hub is dark before it raises AD1 (GBCS: 3 minutes); bounds the hub's clock. */
  readonly commsHubAlertDelayMinutes: number;
  /**
   * Largest clock offset a device with no history is presumed to have. An outage start that only
   * such a clock could put inside a window is not decided on the clock's word: the meter is asked,
   * and its answer bounds its clock.
   */
  readonly maxClockSkewMinutes: number;
  /**
   * An activation with no known execution stays a candidate this long after its requested time
   * (or after the evidence that it was deferred): a meter without mains runs it when supply
   * returns, hours later, and its outcome comes after that second cut.
   */
  readonly deferredActivationHours: number;
  /**
   * A decision stays open to late evidence this long after the alert's receipt: a delivered AD1
   * can be withdrawn, a suppressed one released. Every change is a message to the DNO.
   */
  readonly correctionHours: number;
  /**
   * Window after the actual execution time (rules may override): the meter reboots on activation
   * and the hub goes dark within seconds, so once the execution time is known the window is
   * narrow. `windowMinutes` applies only while only the requested time is known.
   */
  readonly executedWindowMinutes: number;
  /** Asking the meter (SR 11.2 Read Firmware Version) once its hub should be back. */
  readonly verification: VerificationSettings;
  /** An activation with no outcome this long after its requested time counts as outcome lost. */
  readonly outcomeBoundMinutes: number;
  /** N: AD1 weight (throttled counts included) that makes an area cluster. */
  readonly clusterSize: number;
  /** T: the span, minutes, within which N AD1s make a cluster. */
  readonly clusterMinutes: number;
  readonly budget: SafetyBudgetSettings;
  /** When true, an `activationFailure` outcome releases like `noImageHeld` / `hashMismatch`. */
  readonly activationFailureReleases: boolean;
  /**
   * When true, a candidate with no area key is delivered: without an area the cluster check is
   * blind, and the cluster is one of the two nets that catch a genuine outage inside a window.
   */
  readonly requireAreaKey: boolean;
}

/** Defaults: window 30 min and skew 2 min as the working group suggested; the rest are ours. */
export const DEFAULT_ENGINE_SETTINGS: EngineSettings = Object.freeze({
  windowMinutes: 30,
  skewMinutes: 2,
  holdMinutes: 30,
  maxCommsHubOffMinutes: 15,
  transitMinutes: 1,
  commsHubAlertDelayMinutes: 3,
  maxClockSkewMinutes: 5,
  deferredActivationHours: 24,
  correctionHours: 24,
  executedWindowMinutes: 3,
  verification: Object.freeze({ enabled: true, timeoutMinutes: 2, attempts: 3 }),
  outcomeBoundMinutes: 60,
  clusterSize: 3,
  clusterMinutes: 10,
  budget: Object.freeze({
    windowMinutes: 60,
    maxSuppressionsPerDno: 500,
    maxSuppressionsPerArea: 10,
    maxShare: 0.5,
    minSample: 20,
    shareExempt: 'CONFIRMED',
  }),
  activationFailureReleases: true,
  requireAreaKey: true,
});

function check(ok: boolean, field: string, message: string): void {
  if (!ok) throw new InvalidInputError('INVALID_ENGINE_SETTING', message, field);
}

const nonNegative = (value: number): boolean => Number.isFinite(value) && value >= 0;
const positive = (value: number): boolean => Number.isFinite(value) && value > 0;

/**
 * Returns `settings` unchanged when every bound is usable, else throws `InvalidInputError`
 * (reason `INVALID_ENGINE_SETTING`). Called once at start-up by the configuration module, so
 * the engine itself can trust its settings on the hot path.
 */
export function validateEngineSettings(settings: EngineSettings): EngineSettings {
  check(positive(settings.windowMinutes), 'windowMinutes', 'windowMinutes must be > 0');
  check(nonNegative(settings.skewMinutes), 'skewMinutes', 'skewMinutes must be >= 0');
  check(nonNegative(settings.holdMinutes), 'holdMinutes', 'holdMinutes must be >= 0');
  check(
    positive(settings.maxCommsHubOffMinutes),
    'maxCommsHubOffMinutes',
    'maxCommsHubOffMinutes must be > 0',
  );
  check(nonNegative(settings.transitMinutes), 'transitMinutes', 'transitMinutes must be >= 0');
  check(
    nonNegative(settings.commsHubAlertDelayMinutes),
    'commsHubAlertDelayMinutes',
    'commsHubAlertDelayMinutes must be >= 0',
  );
  check(nonNegative(settings.maxClockSkewMinutes), 'maxClockSkewMinutes', 'maxClockSkewMinutes must be >= 0');
  check(
    nonNegative(settings.deferredActivationHours),
    'deferredActivationHours',
    'deferredActivationHours must be >= 0',
  );
  check(nonNegative(settings.correctionHours), 'correctionHours', 'correctionHours must be >= 0');
  check(
    positive(settings.executedWindowMinutes),
    'executedWindowMinutes',
    'executedWindowMinutes must be > 0',
  );
  check(
    positive(settings.verification.timeoutMinutes),
    'verification.timeoutMinutes',
    'verification.timeoutMinutes must be > 0',
  );
  check(
    Number.isInteger(settings.verification.attempts) && settings.verification.attempts >= 1,
    'verification.attempts',
    'verification.attempts must be an integer >= 1',
  );
  check(positive(settings.outcomeBoundMinutes), 'outcomeBoundMinutes', 'outcomeBoundMinutes must be > 0');
  check(
    Number.isInteger(settings.clusterSize) && settings.clusterSize >= 1,
    'clusterSize',
    'clusterSize must be an integer >= 1',
  );
  check(positive(settings.clusterMinutes), 'clusterMinutes', 'clusterMinutes must be > 0');
  check(positive(settings.budget.windowMinutes), 'budget.windowMinutes', 'budget.windowMinutes must be > 0');
  check(
    nonNegative(settings.budget.maxSuppressionsPerDno),
    'budget.maxSuppressionsPerDno',
    'budget.maxSuppressionsPerDno must be >= 0',
  );
  check(
    nonNegative(settings.budget.maxSuppressionsPerArea),
    'budget.maxSuppressionsPerArea',
    'budget.maxSuppressionsPerArea must be >= 0',
  );
  check(
    Number.isFinite(settings.budget.maxShare) &&
      settings.budget.maxShare >= 0 &&
      settings.budget.maxShare <= 1,
    'budget.maxShare',
    'budget.maxShare must be within 0..1',
  );
  check(nonNegative(settings.budget.minSample), 'budget.minSample', 'budget.minSample must be >= 0');
  check(
    BUDGET_SHARE_EXEMPTIONS.includes(settings.budget.shareExempt),
    'budget.shareExempt',
    `budget.shareExempt must be one of ${BUDGET_SHARE_EXEMPTIONS.join(', ')}`,
  );
  return settings;
}

/**
 * How far a device's own time stamp (an outcome's executedAt, a read's answeredAt) may lie outside
 * what the service knows of the request before it is refused as no fact about it: the larger of
 * the window's skew and the most a device clock may be off, and at least a minute (DUIS times are
 * whole seconds, and clocks are never quite together).
 */
export function deviceTimeAllowanceMinutes(
  settings: Pick<EngineSettings, 'skewMinutes' | 'maxClockSkewMinutes'>,
): number {
  return Math.max(1, settings.skewMinutes, settings.maxClockSkewMinutes);
}
