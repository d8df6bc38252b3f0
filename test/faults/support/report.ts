import fs from 'node:fs';
import path from 'node:path';

/**
 * Each fault test's one-line summary: the fault, the load it ran under, and what was lost (which
 * must be nothing). Printed, and written to artifacts/faults/<name>.json for the README table.
 */
export interface FaultSummary {
  readonly fault: string;
  readonly load: string;
  readonly lost: string;
  readonly durationSeconds: number;
  readonly details: Record<string, unknown>;
}

const DIR = path.resolve(__dirname, '..', '..', '..', 'artifacts', 'faults');

export function report(name: string, summary: FaultSummary): void {
  const line = `[faults] ${name}: ${summary.fault} | ${summary.load} | lost: ${summary.lost} | ${summary.durationSeconds.toFixed(1)} s`;
  console.log(`${line}\n${JSON.stringify(summary.details)}`);
  fs.mkdirSync(DIR, { recursive: true });
  fs.writeFileSync(
    path.join(DIR, `${name}.json`),
    `${JSON.stringify({ name, at: new Date().toISOString(), ...summary }, null, 2)}\n`,
  );
}

/** "nothing" when every list is empty, else what is missing or extra. */
export function lostSummary(problems: Record<string, readonly string[]>): string {
  const bad = Object.entries(problems).filter(([, list]) => list.length > 0);
  return bad.length === 0 ? 'nothing' : bad.map(([what, list]) => `${what}: ${list.length}`).join(', ');
}
