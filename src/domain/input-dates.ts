import { InvalidInputError } from './errors';
import { isCancellationSentinel } from './identifiers';

/**
 * The plausible range of a date-time a client sends (an alert's start, an activation's execution
 * time, a link's effective date...): not before `earliest`, not more than `maxFutureDays` after
 * now. Smart metering began long after 2000, and nothing is scheduled years ahead; a date outside
 * is a client's bug or an attack (a window moved to 1970, a link dated 9999 that outlives every
 * later one). The one exception is DUIS's cancellation sentinel, 3000-12-31T00:00:00Z, and only
 * where DUIS gives it that meaning: the ExecutionDateTime of an SR11.3.
 */
export interface InputDateBounds {
  readonly earliest: Date;
  readonly maxFutureDays: number;
}

const DAY_MS = 24 * 3600_000;

/**
 * Walks a value (objects and arrays, as GraphQL arguments or a DUIS command come) and throws
 * BAD_USER_INPUT `DATE_OUT_OF_RANGE` at the first Date outside the bounds, naming its path and
 * the range. `sentinelAt` lists the paths (array indices left out) where the cancellation
 * sentinel is allowed.
 */
export function checkInputDates(
  value: unknown,
  now: Date,
  bounds: InputDateBounds,
  sentinelAt: ReadonlySet<string> = new Set(),
): void {
  const latest = new Date(now.getTime() + bounds.maxFutureDays * DAY_MS);
  const visit = (v: unknown, path: string, depth: number): void => {
    if (v instanceof Date) {
      const t = v.getTime();
      if (t >= bounds.earliest.getTime() && t <= latest.getTime()) return;
      if (isCancellationSentinel(v) && sentinelAt.has(path.replace(/\[\d+\]/g, ''))) return;
      throw new InvalidInputError(
        'DATE_OUT_OF_RANGE',
        `${path || 'a date'} must lie between ${bounds.earliest.toISOString()} and ${latest.toISOString()}`,
        path || undefined,
        { earliest: bounds.earliest.toISOString(), latest: latest.toISOString() },
      );
    }
    // Inputs are shallow; the depth bound only keeps a cyclic value from looping.
    if (depth > 16 || v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) v.forEach((item, i) => visit(item, `${path}[${i}]`, depth + 1));
    else for (const [key, item] of Object.entries(v)) visit(item, path ? `${path}.${key}` : key, depth + 1);
  };
  visit(value, '', 0);
}
