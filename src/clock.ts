import { performance } from 'node:perf_hooks';

/** The only place the service reads the wall clock; everything else is handed a Clock. */
export interface Clock {
  now(): Date;
  /**
   * Clock milliseconds per real millisecond: 1 for the wall clock, N for an accelerated clock
   * (CLOCK_SPEED). Real-time intervals that stand for clock time, such as a poll for due timers,
   * are divided by it. Absent means 1.
   */
  readonly speed?: number;
}

export const systemClock: Clock = { now: () => new Date(), speed: 1 };

/**
 * A clock that reads `start` when it is created and from then on runs `speed` times faster than
 * real time. Real time is measured on the monotonic clock, so a step of the wall clock (NTP, a
 * suspended laptop) does not move it. For simulations and tests: config.ts refuses it in
 * production.
 */
export function acceleratedClock(
  start: Date,
  speed: number,
  realElapsedMs: () => number = monotonicElapsed(),
): Clock {
  if (!(speed > 0) || !Number.isFinite(speed)) throw new RangeError('clock speed must be a positive number');
  const origin = start.getTime();
  return { speed, now: () => new Date(origin + Math.floor(realElapsedMs() * speed)) };
}

/** The clock the CLOCK_SPEED / CLOCK_START settings ask for: the wall clock unless either is set. */
export function clockFromSettings(settings: { readonly speed: number; readonly start?: Date }): Clock {
  if (settings.speed === 1 && settings.start === undefined) return systemClock;
  return acceleratedClock(settings.start ?? new Date(), settings.speed);
}

function monotonicElapsed(): () => number {
  const t0 = performance.now();
  return () => performance.now() - t0;
}
