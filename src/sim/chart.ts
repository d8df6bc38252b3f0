import type { PolicyDeliveries } from './scoreboard';
import { POLICY_LABELS } from './scoreboard';
import type { Ad1Truth } from './scenario';

/**
 * A hand-written SVG: one panel per policy, AD1s per time bin as two lines (genuine and
 * OTA-induced). The top panel is what arrives at the DSP, which is also what "no filter" delivers.
 * The y axis is a square-root scale so a storm does not flatten the OTA line; ticks are labelled.
 */
export interface ChartOptions {
  readonly start: number;
  readonly end: number;
  readonly binMinutes?: number;
  readonly title?: string;
}

const W = 960;
const PANEL_H = 170;
const M = { left: 64, right: 20, top: 54, gap: 44, bottom: 40 };
const COLOURS = { genuine: '#1f6fb2', ota: '#e8731a' };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function renderChart(
  ad1s: readonly Pick<Ad1Truth, 'key' | 'genuine' | 'arrivedAt'>[],
  policies: readonly PolicyDeliveries[],
  options: ChartOptions,
): string {
  const binMs = (options.binMinutes ?? 60) * 60_000;
  const bins = Math.max(1, Math.ceil((options.end - options.start) / binMs));
  const series = (times: Map<string, number>) => {
    const g = new Array<number>(bins).fill(0);
    const o = new Array<number>(bins).fill(0);
    for (const a of ad1s) {
      const t = times.get(a.key);
      if (t === undefined) continue;
      const b = Math.floor((t - options.start) / binMs);
      if (b < 0 || b >= bins) continue;
      (a.genuine ? g : o)[b]++;
    }
    return { g, o };
  };
  const arrivals = new Map<string, number>();
  for (const a of ad1s) if (a.arrivedAt !== null) arrivals.set(a.key, a.arrivedAt);
  const panels = [
    { title: `AD1s arriving at the DSP (= what "${POLICY_LABELS.noFilter}" delivers)`, ...series(arrivals) },
    ...policies
      .filter((p) => p.policy !== 'noFilter')
      .map((p) => ({
        title: `Delivered to DNOs: ${POLICY_LABELS[p.policy]}`,
        ...series(new Map(p.deliveredAt)),
      })),
  ];
  const peak = Math.max(1, ...panels.flatMap((p) => [...p.g, ...p.o]));
  const plotW = W - M.left - M.right;
  const height = M.top + panels.length * (PANEL_H + M.gap) - M.gap + M.bottom;
  const x = (i: number) => M.left + ((i + 0.5) / bins) * plotW;
  const ticks = niceTicks(peak);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${height}" fill="#ffffff"/>`,
    `<text x="${M.left}" y="22" font-size="16" font-weight="bold">${esc(options.title ?? 'AD1s per hour: raw vs delivered')}</text>`,
    `<g transform="translate(${W - M.right - 300},12)">`,
    `<rect width="14" height="4" y="8" fill="${COLOURS.genuine}"/><text x="20" y="14">genuine</text>`,
    `<rect x="100" width="14" height="4" y="8" fill="${COLOURS.ota}"/><text x="120" y="14">OTA-induced</text>`,
    `<text x="0" y="32" fill="#555">per ${options.binMinutes ?? 60} min, square-root scale</text>`,
    `</g>`,
  );
  panels.forEach((panel, k) => {
    const top = M.top + k * (PANEL_H + M.gap);
    const y = (v: number) => top + PANEL_H - Math.sqrt(v / peak) * PANEL_H;
    out.push(`<text x="${M.left}" y="${top - 8}" font-weight="bold">${esc(panel.title)}</text>`);
    out.push(
      `<rect x="${M.left}" y="${top}" width="${plotW}" height="${PANEL_H}" fill="#fafafa" stroke="#cccccc"/>`,
    );
    for (const t of ticks) {
      out.push(
        `<line x1="${M.left}" x2="${M.left + plotW}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#e4e4e4"/>`,
        `<text x="${M.left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end" fill="#555">${t}</text>`,
      );
    }
    const path = (values: number[]) =>
      values.map((v, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    out.push(`<path d="${path(panel.g)}" fill="none" stroke="${COLOURS.genuine}" stroke-width="1.6"/>`);
    out.push(`<path d="${path(panel.o)}" fill="none" stroke="${COLOURS.ota}" stroke-width="1.6"/>`);
    const totalG = panel.g.reduce((a, b) => a + b, 0);
    const totalO = panel.o.reduce((a, b) => a + b, 0);
    out.push(
      `<text x="${M.left + plotW - 4}" y="${top + 14}" text-anchor="end" fill="#333">genuine ${totalG}, OTA-induced ${totalO}</text>`,
    );
  });
  // Time axis under the last panel: a label every 6 hours.
  const axisY = M.top + panels.length * (PANEL_H + M.gap) - M.gap;
  const hours = (options.end - options.start) / 3_600_000;
  const step = hours > 96 ? 24 : hours > 24 ? 6 : 2;
  for (let h = 0; h <= hours; h += step) {
    const px = M.left + ((h * 3_600_000) / (bins * binMs)) * plotW;
    const label = new Date(options.start + h * 3_600_000).toISOString().slice(5, 16).replace('T', ' ');
    out.push(
      `<line x1="${px.toFixed(1)}" x2="${px.toFixed(1)}" y1="${axisY}" y2="${axisY + 5}" stroke="#555"/>`,
      `<text x="${px.toFixed(1)}" y="${axisY + 18}" text-anchor="middle" fill="#555">${label}</text>`,
    );
  }
  out.push(`<text x="${M.left + plotW / 2}" y="${axisY + 34}" text-anchor="middle" fill="#555">UTC</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function niceTicks(peak: number): number[] {
  const candidates = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000];
  const ticks = candidates.filter((c) => c <= peak);
  // Keep ticks readable on a square-root axis: at most five, spread out.
  while (ticks.length > 5) ticks.splice(1, 1);
  return [0, ...ticks];
}
