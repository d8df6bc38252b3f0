/**
 * The suppression window an activation implies, and the containment test used by the engine.
 *
 * An AD1 is inside the window when
 *   anchor - skew <= AD1.StartDateTime <= anchor + length
 * where the anchor is the actual execution time when known, else the requested execution time
 * (provisional). Both bounds are inclusive. The length depends on what is known: the meter
 * reboots on activation and cuts its hub's power within seconds, so a window anchored on the
 * actual execution time is narrow (`executedWindowMinutes`); only a provisional window, which
 * must cover the meter running late against the requested time, is wide (`windowMinutes`).
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
  /** Length after a requested (provisional) anchor. */
  readonly windowMinutes: number;
  /** Length after an actual execution time. */
  readonly executedWindowMinutes: number;
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
    to: new Date(
      anchor.getTime() +
        (anchoredOnActual ? settings.executedWindowMinutes : settings.windowMinutes) * MINUTE_MS,
    ),
    anchor,
    anchoredOnActual,
  };
}

export function windowContains(window: SuppressionWindow, instant: Date): boolean {
  const t = instant.getTime();
  return window.from.getTime() <= t && t <= window.to.getTime();
}
