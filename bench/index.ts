/**
 * npm run bench [-- --smoke] [-- --pglite] [-- --only batched,single,e2e,engine,duis,load] [-- --inventory 1000000,10000000]
 *
 * Each benchmark creates and drops its own database, starts the real server as a child process
 * where HTTP/WebSocket is measured, measures the service and its baseline interleaved
 * (A-B-A-B, medians), checks correctness, and reports the machine load with the figures.
 * Prints a table, writes artifacts/bench/results.json and (full runs) the README's results block.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { batchedIngest } from './benchmarks/batched-ingest';
import { duisIngest } from './benchmarks/duis-ingest';
import { e2eLatency } from './benchmarks/e2e-latency';
import { subscriberLoad } from './benchmarks/subscriber-load';
import { engineBenchmark } from './benchmarks/engine';
import { inventoryScale } from './benchmarks/inventory-scale';
import { singleIngest } from './benchmarks/single-ingest';
import { sizes } from './config';
import type { Backend } from './lib/db';
import { serverVersion } from './lib/db';
import { ActivitySampler } from './lib/pg-activity';
import { markdownTable, textTable } from './lib/report';
import type { BenchResult } from './lib/report';
import { loadAverage, progress } from './lib/util';
import { formatSummary, summarise } from './profile-summary';

const ROOT = path.resolve(__dirname, '..');
const ALL = ['batched', 'single', 'e2e', 'engine', 'duis', 'load'] as const;

export interface Machine {
  readonly date: string;
  readonly nproc: number;
  readonly cpu: string;
  readonly memoryGiB: number;
  readonly node: string;
  readonly postgres: string;
  readonly backend: Backend;
  readonly loadAverage: { start: number[]; end?: number[] };
}

async function machine(backend: Backend): Promise<Machine> {
  return {
    date: new Date().toISOString(),
    nproc: os.availableParallelism(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    postgres: backend === 'pglite' ? 'PGlite (in the benchmark process)' : await serverVersion(),
    backend,
    loadAverage: { start: loadAverage() },
  };
}

function machineLine(m: Machine): string {
  return (
    `${m.date} | ${m.nproc} CPUs (${m.cpu}), ${m.memoryGiB} GiB | Node ${m.node} | PostgreSQL ${m.postgres} | ` +
    `load average 1/5/15 min: start ${m.loadAverage.start.join(' / ')}, end ${(m.loadAverage.end ?? []).join(' / ')}`
  );
}

const START = '<!-- bench:results:start -->';
const END = '<!-- bench:results:end -->';

/**
 * Replaces the results block (between the bench:results markers) of the README, with the table,
 * and of docs/BENCHMARKS.md, with the table and the notes of each benchmark.
 */
function writeDocs(results: readonly BenchResult[], m: Machine, command: string): void {
  const head = [START, '', `Run: \`${command}\` on ${machineLine(m)}.`, '', markdownTable(results), ''];
  const notes = results.map(
    (r) =>
      `- **${r.title}** (${Math.round(r.seconds)} s; load ${r.load.before.join('/')} -> ${r.load.after.join('/')}): ${r.notes.join(' ')}`,
  );
  replaceBlock('README.md', [
    ...head,
    'What each run did: [docs/BENCHMARKS.md](docs/BENCHMARKS.md#results).',
    '',
    END,
  ]);
  replaceBlock(path.join('docs', 'BENCHMARKS.md'), [...head, ...notes, '', END]);
}

function replaceBlock(relative: string, lines: readonly string[]): void {
  const file = path.join(ROOT, relative);
  const text = fs.readFileSync(file, 'utf8');
  const at = text.indexOf(START);
  const to = text.indexOf(END);
  if (at < 0 || to < at) throw new Error(`${relative} has no ${START} ... ${END} block to replace`);
  fs.writeFileSync(file, text.slice(0, at) + lines.join('\n') + text.slice(to + END.length));
}

async function main(): Promise<void> {
  const program = new Command()
    .name('bench')
    .description('poa-sieve benchmarks: service vs baseline, interleaved, with correctness checks')
    .option('--smoke', 'tiny sizes: every benchmark in seconds', false)
    .option('--pglite', 'embedded PGlite instead of the local PostgreSQL', false)
    .option('--only <list>', `comma-separated subset of ${ALL.join(',')},inventory`)
    .option('--storm-seconds <n>', 'duration of the 10,000 alerts/s storm', (v) => Number(v))
    .option('--storm-rate <n>', 'target rate of the storm, alerts/s', (v) => Number(v))
    .option(
      '--inventory <sizes>',
      'also run the inventory-scale benchmark with these device counts, e.g. 1000000,10000000',
    )
    .option(
      '--profile',
      'run the batched ingest (or --only batched,single,e2e) with the server under --cpu-prof and summarise the profile',
      false,
    )
    .option('--out <file>', 'results JSON', path.join(ROOT, 'artifacts', 'bench', 'results.json'))
    .option('--docs', "write the results into README.md's results block (default: full PostgreSQL runs only)")
    .option('--no-docs', 'do not write README.md')
    .parse();
  const opts = program.opts<{
    smoke: boolean;
    pglite: boolean;
    only?: string;
    stormSeconds?: number;
    stormRate?: number;
    inventory?: string;
    profile: boolean;
    out: string;
    docs?: boolean;
  }>();
  const backend: Backend = opts.pglite ? 'pglite' : 'postgres';
  const selected = opts.only
    ? opts.only.split(',').map((s) => s.trim())
    : opts.profile
      ? ['batched']
      : [...ALL];
  const unknown = selected.filter((s) => !(ALL as readonly string[]).includes(s) && s !== 'inventory');
  if (unknown.length) throw new Error(`unknown benchmark(s): ${unknown.join(', ')}`);
  const s = sizes(opts.smoke, backend, { stormSeconds: opts.stormSeconds, stormRate: opts.stormRate });
  const m = await machine(backend);
  progress(`machine: ${machineLine(m)}`);

  const profileDir = path.join(ROOT, 'artifacts', 'bench', 'profile');
  const results: BenchResult[] = [];
  const profiles: { file: string; summary: string }[] = [];
  if (opts.profile) {
    fs.rmSync(profileDir, { recursive: true, force: true });
    fs.mkdirSync(profileDir, { recursive: true });
  }
  for (const name of selected) {
    if (name === 'batched' || name === 'single') {
      let nodeArgs: string[] | undefined;
      const sampler = opts.profile && backend === 'postgres' ? new ActivitySampler() : undefined;
      if (opts.profile) nodeArgs = ['--cpu-prof', '--cpu-prof-dir', profileDir];
      results.push(
        name === 'batched'
          ? await batchedIngest({ ...s.batched, serverNodeArgs: nodeArgs, sampler })
          : await singleIngest({ ...s.single, serverNodeArgs: nodeArgs, sampler }),
      );
      if (sampler) {
        await sampler.close();
        profiles.push({ file: `PostgreSQL during the service phases (${name})`, summary: sampler.summary() });
      }
      if (opts.profile) {
        for (const f of fs.readdirSync(profileDir).filter((x) => x.startsWith('CPU.'))) {
          const file = path.join(profileDir, `${name}-${f}`);
          fs.renameSync(path.join(profileDir, f), file);
          profiles.push({ file, summary: formatSummary(summarise(file, 30)) });
        }
      }
    }
    if (name === 'e2e') {
      // --profile with --only e2e: the server under --cpu-prof while it ingests and delivers.
      const sampler = opts.profile && backend === 'postgres' ? new ActivitySampler() : undefined;
      const nodeArgs = opts.profile ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : undefined;
      await sampler?.resume();
      results.push(await e2eLatency({ ...s.e2e, serverNodeArgs: nodeArgs }));
      if (sampler) {
        await sampler.close();
        profiles.push({ file: 'PostgreSQL during the end-to-end run', summary: sampler.summary() });
      }
      if (opts.profile) {
        for (const f of fs.readdirSync(profileDir).filter((x) => x.startsWith('CPU.'))) {
          const file = path.join(profileDir, `e2e-${f}`);
          fs.renameSync(path.join(profileDir, f), file);
          profiles.push({ file, summary: formatSummary(summarise(file, 30)) });
        }
      }
    }
    if (name === 'engine') results.push(await engineBenchmark(s.engine));
    if (name === 'duis') results.push(await duisIngest(s.duis));
    if (name === 'load') results.push(await subscriberLoad(s.load));
  }
  if (opts.inventory || selected.includes('inventory')) {
    const list = (opts.inventory ?? '1000000').split(',').map((v) => Number(v.replace(/_/g, '')));
    if (list.some((n) => !Number.isInteger(n) || n < 2))
      throw new Error('--inventory takes device counts, e.g. 1000000');
    results.push(await inventoryScale({ backend, sizes: list, alerts: s.inventoryAlerts }));
  }
  m.loadAverage.end = loadAverage();

  const table = textTable(results);
  const failed = results.flatMap((r) =>
    r.checks.filter((c) => !c.pass).map((c) => `${r.title}: ${c.name}: ${c.detail}`),
  );
  console.log(`\n${machineLine(m)}\n\n${table}\n`);
  for (const r of results) console.log(`${r.title}: ${r.notes.join('\n  ')}`);
  for (const p of profiles) console.log(`\n${p.file}\n${p.summary}`);
  console.log(
    failed.length
      ? `\nCORRECTNESS: FAIL\n${failed.join('\n')}`
      : '\nCORRECTNESS: PASS (every check of every benchmark)',
  );

  fs.mkdirSync(path.dirname(opts.out), { recursive: true });
  fs.writeFileSync(
    opts.out,
    JSON.stringify({ machine: m, smoke: opts.smoke, results, profiles, pass: failed.length === 0 }, null, 2),
  );
  progress(`results written to ${path.relative(ROOT, opts.out)}`);
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  if (opts.docs ?? (!opts.smoke && backend === 'postgres' && !opts.profile && !opts.only)) {
    writeDocs(results, m, command);
    progress('results table written to README.md');
  }
  process.exitCode = failed.length ? 1 : 0;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
