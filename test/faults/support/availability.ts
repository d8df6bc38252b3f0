import type { Attempt } from './load';

/**
 * How long ingest was unavailable around a fault, from the load client's own record: the longest
 * stretch, from `from` on, during which no request was acknowledged. Measured between the
 * completions of successive acknowledged requests (a request that was slow but succeeded counts
 * when its answer came), so it includes the time the client spent retrying, as a DSP would see it.
 * Under a steady load of tens of requests a second, a healthy stretch is tens of milliseconds.
 */
export function longestOutage(
  attempts: readonly Attempt[],
  from: number,
  to: number,
): { ms: number; start: number; end: number } {
  const done = attempts
    .filter((a) => a.outcome === 'ok')
    .map((a) => a.at + a.ms)
    .filter((t) => t >= from && t <= to)
    .sort((a, b) => a - b);
  let best = { ms: 0, start: from, end: from };
  let previous = from;
  for (const t of [...done, to]) {
    if (t - previous > best.ms) best = { ms: t - previous, start: previous, end: t };
    previous = t;
  }
  return best;
}

/** Total time within [from, to] that samples of a probe (taken in order) said "not ok", and the spans. */
export function notOkSpans(
  samples: readonly { at: number; ok: boolean }[],
  from: number,
  to: number,
): { totalMs: number; spans: { start: number; end: number }[] } {
  const spans: { start: number; end: number }[] = [];
  let open: number | undefined;
  for (const s of samples) {
    if (s.at < from || s.at > to) continue;
    if (!s.ok && open === undefined) open = s.at;
    if (s.ok && open !== undefined) {
      spans.push({ start: open, end: s.at });
      open = undefined;
    }
  }
  if (open !== undefined) spans.push({ start: open, end: to });
  return { totalMs: spans.reduce((n, s) => n + (s.end - s.start), 0), spans };
}
