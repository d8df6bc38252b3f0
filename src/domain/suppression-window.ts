/**
 * The suppression window an activation implies, and the containment test used by the engine.
 *
 * An AD1 is inside the window when
 *   anchor - skew <= AD1.StartDateTime <= anchor + window
 * where the anchor is the actual execution time when known, else the requested execution time
 * (provisional). Both bounds are inclusive.
 */
export interface SuppressionWindow {
  /** Inclusive start: anchor minus skew tolerance. */
  readonly from: Date;
  /** Inclusive end: anchor plus window length. */
  readonly to: Date;
  /** The time the window is anchored on. */
  readonly anchor: Date;
  /** False while anchored on the requested time; true once the actual execution time is known. */
  readonly anchoredOnActual: boolean;
}

export interface WindowSettings {
  readonly windowMinutes: number;
  readonly skewMinutes: number;
}

const MINUTE_MS = 60_000;

export function suppressionWindow(
  anchor: Date,
  anchoredOnActual: boolean,
  settings: WindowSettings,
): SuppressionWindow {
  return {
    from: new Date(anchor.getTime() - settings.skewMinutes * MINUTE_MS),
    to: new Date(anchor.getTime() + settings.windowMinutes * MINUTE_MS),
    anchor,
    anchoredOnActual,
  };
}

export function windowContains(window: SuppressionWindow, instant: Date): boolean {
  const t = instant.getTime();
  return window.from.getTime() <= t && t <= window.to.getTime();
}
