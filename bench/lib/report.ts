/** What a benchmark measured, as printed in the table and written to results.json. */
export interface Figure {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly baseline?: { readonly name: string; readonly value: number; readonly unit: string };
  /** value / baseline value (for latencies: how many times the baseline's). */
  readonly ratio?: number;
  readonly target?: string;
  /** Whether the target was met; null when this run cannot say (e.g. a smoke run). */
  readonly met?: boolean | null;
}

export interface Check {
  readonly name: string;
  readonly pass: boolean;
  readonly detail: string;
}

export interface BenchResult {
  readonly id: string;
  readonly title: string;
  readonly figures: Figure[];
  readonly checks: Check[];
  readonly notes: string[];
  readonly load: { readonly before: number[]; readonly after: number[] };
  readonly seconds: number;
}

export function fmt(value: number, unit: string): string {
  if (!Number.isFinite(value)) return 'n/a';
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  const n = value.toLocaleString('en-GB', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
  return unit ? `${n} ${unit}` : n;
}

export function rows(results: readonly BenchResult[]): string[][] {
  const out: string[][] = [];
  for (const r of results) {
    for (const f of r.figures) {
      out.push([
        r.title,
        f.name,
        fmt(f.value, f.unit),
        f.baseline ? `${fmt(f.baseline.value, f.baseline.unit)} (${f.baseline.name})` : '',
        f.ratio === undefined ? '' : `${fmt(f.ratio, '')}x`,
        f.target ?? '',
        f.met === undefined ? '' : f.met === null ? 'n/a' : f.met ? 'yes' : 'NO',
      ]);
    }
    const failed = r.checks.filter((c) => !c.pass);
    out.push([
      r.title,
      'correctness checks',
      failed.length
        ? `FAIL (${failed.length}/${r.checks.length})`
        : `pass (${r.checks.length}/${r.checks.length})`,
      '',
      '',
      '',
      '',
    ]);
  }
  return out;
}

const HEADER = ['Benchmark', 'Figure', 'Value', 'Baseline', 'Ratio', 'Target', 'Met'];

export function textTable(results: readonly BenchResult[]): string {
  const all = [HEADER, ...rows(results)];
  const widths = HEADER.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join(' | ');
  return [line(HEADER), widths.map((w) => '-'.repeat(w)).join('-|-'), ...all.slice(1).map(line)].join('\n');
}

export function markdownTable(results: readonly BenchResult[]): string {
  const all = rows(results);
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [
    `| ${HEADER.join(' | ')} |`,
    `| ${HEADER.map(() => '---').join(' | ')} |`,
    ...all.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}
