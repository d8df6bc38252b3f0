/**
 * Live mode's time: how the scenario's timeline, the server's clock and the simulator's own
 * monotonic real time relate. The server's clock runs `speed` times faster than real time (1 for
 * the wall clock, CLOCK_SPEED otherwise); the scenario is laid on it shifted by a whole number of
 * seconds, so an event due at scenario time t is sent when the server's clock reads t + offset.
 * Everything here is arithmetic; the caller measures.
 */

const SECOND = 1000;

/** One reading of the server's clock (GET /healthz), bracketed by the simulator's monotonic time. */
export interface ClockSample {
  /** Monotonic ms (performance.now()) when the request left and when the answer came back. */
  readonly sentAt: number;
  readonly receivedAt: number;
  /** The server's clock in the answer (ms since epoch) and the speed it reports. */
  readonly serverTime: number;
  readonly speed: number;
}

/** The server's clock as a line: server ms = serverRef + (real - realRef) * speed. */
export interface ServerClock {
  readonly speed: number;
  readonly realRef: number;
  readonly serverRef: number;
  /** Half the shortest round trip, in server ms: how far off serverAt() may be. */
  readonly uncertaintyMs: number;
  /** Server ms per real ms measured between the first and last sample. */
  readonly measuredSpeed: number;
}

export class ClockMismatchError extends Error {}

/**
 * Fits the server's clock from at least two samples taken some time apart, and checks that it
 * runs at the speed the simulator expects: the reported speed must equal `expectedSpeed`, and the
 * measured rate must agree with it within `tolerance` (a share, default 10%).
 */
export function fitServerClock(
  samples: readonly ClockSample[],
  expectedSpeed: number,
  tolerance = 0.1,
): ServerClock {
  if (samples.length < 2) throw new Error('fitting the server clock needs at least two samples');
  const reported = samples[samples.length - 1].speed;
  if (samples.some((s) => s.speed !== reported))
    throw new ClockMismatchError('the server reported different clock speeds between samples');
  if (reported !== expectedSpeed) {
    throw new ClockMismatchError(
      `the server's clock runs at ${reported}x real time but --speed is ${expectedSpeed}: ` +
        (expectedSpeed === 1
          ? 'use --speed ' + reported
          : `start the server with CLOCK_SPEED=${expectedSpeed} (refused in production), or use --spawn`),
    );
  }
  const mid = (s: ClockSample) => (s.sentAt + s.receivedAt) / 2;
  const first = samples[0];
  const last = samples[samples.length - 1];
  const realSpan = mid(last) - mid(first);
  const measuredSpeed = realSpan > 0 ? (last.serverTime - first.serverTime) / realSpan : NaN;
  // Each reading is only known to within its round trip; allow for that on top of the tolerance.
  const slack = ((first.receivedAt - first.sentAt + (last.receivedAt - last.sentAt)) / 2) * reported;
  const expectedSpan = realSpan * reported;
  if (
    !Number.isFinite(measuredSpeed) ||
    Math.abs(last.serverTime - first.serverTime - expectedSpan) > expectedSpan * tolerance + slack
  ) {
    throw new ClockMismatchError(
      `the server's clock moved ${Math.round(last.serverTime - first.serverTime)} ms in ${Math.round(realSpan)} ms ` +
        `of real time, not about ${Math.round(expectedSpan)} ms as ${reported}x would: is it paused or overloaded?`,
    );
  }
  const best = samples.reduce((a, b) => (b.receivedAt - b.sentAt < a.receivedAt - a.sentAt ? b : a));
  return {
    speed: reported,
    realRef: mid(best),
    serverRef: best.serverTime,
    uncertaintyMs: ((best.receivedAt - best.sentAt) / 2) * reported,
    measuredSpeed,
  };
}

/** The server's clock at a real (monotonic) instant. */
export function serverAt(clock: ServerClock, real: number): number {
  return clock.serverRef + (real - clock.realRef) * clock.speed;
}

/** The real (monotonic) instant at which the server's clock reads `serverTime`. */
export function realAt(clock: ServerClock, serverTime: number): number {
  return clock.realRef + (serverTime - clock.serverRef) / clock.speed;
}

/** The scenario laid on the server's clock: server time = scenario time + offsetMs. */
export interface TimeAnchor {
  readonly clock: ServerClock;
  /** A whole number of seconds, so whole-second scenario times stay whole seconds. */
  readonly offsetMs: number;
}

/**
 * Anchors the scenario so that its start falls on the first whole second of the server's clock
 * at least `leadRealMs` of real time after `realNow`.
 */
export function anchorScenario(
  clock: ServerClock,
  scenarioStart: number,
  realNow: number,
  leadRealMs: number,
): TimeAnchor {
  const startOnServer = Math.ceil(serverAt(clock, realNow + leadRealMs) / SECOND) * SECOND;
  const offsetMs = startOnServer - Math.floor(scenarioStart / SECOND) * SECOND;
  return { clock, offsetMs };
}

/** A scenario time on the server's clock. */
export const toServer = (anchor: TimeAnchor, scenarioTime: number): number => scenarioTime + anchor.offsetMs;

/** The real (monotonic) instant at which an event due at `scenarioTime` should be sent. */
export const realWhen = (anchor: TimeAnchor, scenarioTime: number): number =>
  realAt(anchor.clock, toServer(anchor, scenarioTime));

/** The scenario time at a real (monotonic) instant: what the server's clock reads, minus the offset. */
export const scenarioAt = (anchor: TimeAnchor, real: number): number =>
  serverAt(anchor.clock, real) - anchor.offsetMs;

/**
 * When a token minted now should say it was issued, and how long it must live: issued a minute
 * back on the wall clock (so a server clock a little behind ours still accepts it), valid for the
 * real time the server's clock takes to reach `untilServerTime`, plus an hour of margin. Tokens
 * are judged on wall time, never on the server's (possibly accelerated) clock.
 */
export function tokenTimes(
  clock: ServerClock,
  realNow: number,
  untilServerTime: number,
  wallNow: number,
): { issuedAt: Date; ttlSeconds: number } {
  const issuedAt = Math.floor(wallNow / SECOND) * SECOND - 60 * SECOND;
  const realRunMs = Math.max(0, untilServerTime - serverAt(clock, realNow)) / clock.speed;
  return { issuedAt: new Date(issuedAt), ttlSeconds: Math.ceil((120 * SECOND + realRunMs) / SECOND) + 3600 };
}

/**
 * The request ID of a scenario activation on a live server: the counter moved up by a per-run
 * base, so a second run against the same server does not replay the first run's request IDs
 * (which the server would treat as retries). Order between counters is kept.
 */
export function liveRequestId(requestId: string, base: bigint): string {
  const i = requestId.lastIndexOf(':');
  const counter = BigInt(requestId.slice(i + 1)) + base;
  if (counter >= 2n ** 64n) throw new RangeError('request counter beyond uint64');
  return `${requestId.slice(0, i)}:${counter.toString()}`;
}

/** A per-run counter base from the server time the run starts at: its seconds, times a million. */
export const requestCounterBase = (serverTime: number): bigint =>
  BigInt(Math.floor(serverTime / SECOND)) * 1_000_000n;
