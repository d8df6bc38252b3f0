/**
 * Summarises a V8 .cpuprofile (node --cpu-prof): self time per function and per origin
 * (src/..., a node_modules package, node: internals, GC, idle), largest first.
 *   node -r ts-node/register bench/profile-summary.ts artifacts/bench/profile/<file>.cpuprofile [top]
 */
import fs from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  readonly totalMs: number;
  readonly functions: { name: string; where: string; ms: number; share: number }[];
  readonly origins: { origin: string; ms: number; share: number }[];
}

function origin(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1];
  if (url.startsWith('node:')) return 'node: internals';
  const src = /\/work\/main\/((?:src|migrations)\/[^/]+)/.exec(url);
  return src ? src[1] : path.basename(url);
}

export function summarise(file: string, top = 25): ProfileSummary {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const functions = new Map<string, { name: string; where: string; ms: number }>();
  const origins = new Map<string, number>();
  for (const [id, ms] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const name = functionName || '(anonymous)';
    const where = url
      ? `${url.replace(/^file:\/\//, '').replace(/^\/work\/main\//, '')}:${lineNumber + 1}`
      : '';
    const key = `${name} ${where}`;
    const f = functions.get(key) ?? { name, where, ms: 0 };
    f.ms += ms;
    functions.set(key, f);
    const o = origin(url, name);
    origins.set(o, (origins.get(o) ?? 0) + ms);
  }
  return {
    totalMs: total,
    functions: [...functions.values()]
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top)
      .map((f) => ({ ...f, share: f.ms / total })),
    origins: [...origins]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([o, ms]) => ({ origin: o, ms, share: ms / total })),
  };
}

export function formatSummary(s: ProfileSummary): string {
  const pct = (x: number) => `${(x * 100).toFixed(1).padStart(5)}%`;
  return [
    `CPU profile: ${Math.round(s.totalMs)} ms sampled`,
    'Self time by origin:',
    ...s.origins.map((o) => `  ${pct(o.share)}  ${Math.round(o.ms).toString().padStart(7)} ms  ${o.origin}`),
    'Top functions by self time:',
    ...s.functions.map(
      (f) => `  ${pct(f.share)}  ${Math.round(f.ms).toString().padStart(7)} ms  ${f.name}  ${f.where}`,
    ),
  ].join('\n');
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: profile-summary.ts <file.cpuprofile> [top]');
    process.exit(2);
  }
  console.log(formatSummary(summarise(file, Number(process.argv[3] ?? 25))));
}
