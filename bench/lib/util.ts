import fs from 'node:fs';
import os from 'node:os';

/** Monotonic milliseconds (CLOCK_MONOTONIC, shared by every process on the machine). */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = Float64Array.from(values).sort();
  const rank = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[rank];
}

export function loadAverage(): [number, number, number] {
  const [a, b, c] = os.loadavg();
  return [round(a, 2), round(b, 2), round(c, 2)];
}

export function round(value: number, digits = 1): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `worker(i)` for i in 0..n-1 with at most `concurrency` at once, in order of i. */
export async function pool(
  n: number,
  concurrency: number,
  worker: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, n) }, async () => {
    for (;;) {
      const i = next++;
      if (i >= n) return;
      await worker(i);
    }
  });
  await Promise.all(lanes);
}

/**
 * Runs `n` requests from `concurrency` clients in one closed loop; the first `warmup` are not
 * timed (`timed` false), so the timed ones meet the steady state rather than the first burst of
 * every client at once, a cold JIT or fresh connections. Returns the seconds from the first timed
 * request's start to the last request's end.
 */
export async function timedLoop(
  n: number,
  concurrency: number,
  warmup: number,
  request: (i: number, timed: boolean) => Promise<void>,
): Promise<number> {
  let t0: number | undefined;
  await pool(n, concurrency, async (i) => {
    const timed = i >= warmup;
    if (timed) t0 ??= nowMs();
    await request(i, timed);
  });
  return (nowMs() - (t0 ?? nowMs())) / 1000;
}

/** A small deterministic PRNG (mulberry32), so every run sees the same data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Logs a progress line on stderr (the table goes to stdout). */
export function progress(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/**
 * CPU seconds (user + system) a process has used, from /proc (Linux); NaN elsewhere. The
 * benchmarks report CPU per alert beside latency: on a 2-core machine shared by the server,
 * PostgreSQL and the load generator, latency follows the CPU each alert costs.
 */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces), 1-based: 14 utime, 15 stime.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

/** CPU seconds used by every PostgreSQL process on the machine (Linux); NaN elsewhere. */
export function postgresCpuSeconds(): number {
  try {
    let total = 0;
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^[0-9]+$/.test(entry)) continue;
      try {
        if (fs.readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres')
          total += processCpuSeconds(Number(entry));
      } catch {
        // gone meanwhile
      }
    }
    return total;
  } catch {
    return NaN;
  }
}

/** USER_HZ: the unit of /proc CPU times, 100 on every Linux this runs on. */
const CLOCK_TICKS = 100;
