import 'reflect-metadata';
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  DEFAULT_SCENARIO,
  formatFindingCounts,
  SCENARIO_PRESETS,
  formatScoreTable,
  runReplaySimulation,
  writeArtifacts,
} from '../src/sim';
import type { ScenarioOptions, ScenarioPreset } from '../src/sim';
import { ClockMismatchError } from '../src/sim/anchor';
import { runLiveSimulation } from '../src/sim/live';
import { formatLiveSummary } from '../src/sim/live-summary';
import { createProgress } from '../src/sim/progress';

/**
 * The fleet simulator and scoreboard: proves (or disproves) that the sieve beats "no filter" and
 * the blanket 30-minute window on the same traffic.
 *   npm run simulate -- --devices 100000 --seed 42 --mode replay --days 2 --out artifacts/sim
 *   npm run simulate -- --mode live --spawn --devices 2000 --days 1 --speed 600
 *   npm run simulate -- --mode live --url http://127.0.0.1:4000 --token-secret "$AUTH_JWT_SECRET" --speed 1
 *   npm run simulate -- --preset harsh --devices 20000 --mode replay
 * A preset sets the scenario's shares; any share given on the command line overrides it.
 * Replay builds its own database: in-memory PGlite, or a throw-away database on DATABASE_URL.
 * Live drives a running server over HTTP and WebSocket; with --spawn it starts one itself (on
 * DATABASE_URL, which should name an empty database, or on embedded PGlite in a temporary folder).
 */
const number = (name: string, min: number, max: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new InvalidArgumentError(`${name} must be ${min}-${max}`);
  return n;
};
const share = (name: string) => number(name, 0, 1);

const program = new Command()
  .name('simulate')
  .description(
    'Seeded fleet simulator: replays OTA campaigns, outages and faults through poa-sieve and scores it',
  )
  .addOption(
    new Option('--mode <mode>', 'replay (services, simulated clock) or live (a running server)')
      .choices(['replay', 'live'])
      .default('replay'),
  )
  .addOption(
    new Option('--preset <name>', 'scenario preset: the defaults, or harsh (docs/SIMULATOR.md)')
      .choices(Object.keys(SCENARIO_PRESETS))
      .default('default'),
  )
  .option('--devices <n>', 'premises (ESME + CH pairs)', number('devices', 10, 5_000_000), 1000)
  .option('--seed <n>', 'random seed', number('seed', 0, 2 ** 32 - 1), DEFAULT_SCENARIO.seed)
  .option('--days <n>', 'scenario span in days', number('days', 0.05, 30), DEFAULT_SCENARIO.days)
  .option('--start <iso>', 'scenario start (replay)', DEFAULT_SCENARIO.start)
  .option(
    '--affected-share <x>',
    'share of ESMEs on the affected model + firmware',
    share('affected-share'),
    DEFAULT_SCENARIO.affectedShare,
  )
  .option(
    '--campaign-share <x>',
    'share of affected ESMEs activated during the span',
    share('campaign-share'),
    DEFAULT_SCENARIO.campaignShare,
  )
  .option(
    '--ota-probability <x>',
    'probability that an activation on an affected ESME cuts CH power',
    share('ota-probability'),
    DEFAULT_SCENARIO.otaOutageProbability,
  )
  .option(
    '--coincident-share <x>',
    'share of cut-free successful activations followed 4-28 min later by a genuine outage',
    share('coincident-share'),
    DEFAULT_SCENARIO.coincidentOutageShare,
  )
  .option(
    '--lost-outcome-share <x>',
    'share of executed activations whose outcome never reaches the DSP',
    share('lost-outcome-share'),
    DEFAULT_SCENARIO.lostOutcomeShare,
  )
  .option(
    '--bad-check-digit-share <x>',
    'share of AD1s that carry their MPAN with a wrong check digit',
    share('bad-check-digit-share'),
    DEFAULT_SCENARIO.badCheckDigitShare,
  )
  .option(
    '--verification-lost-share <x>',
    'share of verification reads (SR 11.2) that get no answer although the meter is powered',
    share('verification-lost-share'),
    DEFAULT_SCENARIO.verificationLostShare,
  )
  .option(
    '--skewed-clock-share <x>',
    'share of hub (CH) clocks off by up to --max-clock-skew-seconds',
    share('skewed-clock-share'),
    DEFAULT_SCENARIO.skewedClockShare,
  )
  .option(
    '--meter-skewed-clock-share <x>',
    'share of meter (ESME) clocks off by up to --max-clock-skew-seconds',
    share('meter-skewed-clock-share'),
    DEFAULT_SCENARIO.meterSkewedClockShare,
  )
  .option(
    '--max-clock-skew-seconds <s>',
    'how far a skewed hub or meter clock may be off, either way',
    number('max-clock-skew-seconds', 0, 86_400),
    DEFAULT_SCENARIO.maxClockSkewSeconds,
  )
  .option(
    '--supplier-claim-share <x>',
    'share of executed activations whose outcome the supplier also claims (recordActivationOutcome)',
    share('supplier-claim-share'),
    DEFAULT_SCENARIO.supplierClaimShare,
  )
  .option(
    '--claim-when-lost-share <x>',
    "share of those claims the supplier still sends when DCC's outcome is lost",
    share('claim-when-lost-share'),
    DEFAULT_SCENARIO.claimWhenLostShare,
  )
  .option(
    '--clustered-campaign-share <x>',
    'share of affected activations scheduled in clusters of 3-8 meters of one feeder',
    share('clustered-campaign-share'),
    DEFAULT_SCENARIO.clusteredCampaignShare,
  )
  .option(
    '--ch-swap-count <n>',
    'exactly this many CH swaps (overrides the share)',
    number('ch-swap-count', 0, 1_000_000),
  )
  .option('--no-storm', 'leave out the storm')
  .option('--out <dir>', 'where to write scoreboard.{json,txt,md,svg}', 'artifacts/sim')
  .option(
    '--batch-seconds <s>',
    'replay: alerts arriving within this many seconds go in one ingestAlerts call',
    number('batch-seconds', 0.001, 60),
    1,
  )
  .option(
    '--env <KEY=VALUE...>',
    'service settings for the replay or the spawned server (e.g. HOLD_MINUTES=5); defaults otherwise',
  )
  .option('--url <url>', 'live: the server base URL', 'http://127.0.0.1:4000')
  .option(
    '--token-secret <secret>',
    "live: the server's AUTH_JWT_SECRET, to mint operator, supplier and DNO tokens",
  )
  .option('--token-issuer <iss>', "live: the server's AUTH_ISSUER, if it checks one")
  .option('--token-audience <aud>', "live: the server's AUTH_AUDIENCE, if it checks one")
  .option(
    '--speed <x>',
    'live: server-clock seconds per real second (above 1 the server needs CLOCK_SPEED=<x>, or --spawn)',
    number('speed', 1, 100_000),
    1,
  )
  .option(
    '--spawn',
    'live: start the server as a child process (DATABASE_URL or embedded PGlite) and stop it after',
  )
  .option(
    '--drops <n>',
    'live: forced WebSocket disconnects per DNO during the run',
    number('drops', 0, 100),
    1,
  )
  .option('--batch-max <n>', 'live: most alerts per ingestAlerts call', number('batch-max', 1, 10_000), 500)
  .parse();

interface Opts {
  mode: 'replay' | 'live';
  preset: ScenarioPreset;
  devices: number;
  seed: number;
  days: number;
  start: string;
  affectedShare: number;
  campaignShare: number;
  otaProbability: number;
  coincidentShare: number;
  lostOutcomeShare: number;
  badCheckDigitShare: number;
  verificationLostShare: number;
  skewedClockShare: number;
  meterSkewedClockShare: number;
  maxClockSkewSeconds: number;
  supplierClaimShare: number;
  claimWhenLostShare: number;
  clusteredCampaignShare: number;
  chSwapCount?: number;
  storm: boolean;
  out: string;
  batchSeconds: number;
  env?: string[];
  url: string;
  tokenSecret?: string;
  tokenIssuer?: string;
  tokenAudience?: string;
  speed: number;
  spawn?: boolean;
  drops: number;
  batchMax: number;
}

/** Command-line options that set a scenario option, and which one. */
const SCENARIO_FLAGS: Partial<Record<keyof Opts, keyof ScenarioOptions>> = {
  seed: 'seed',
  devices: 'devices',
  days: 'days',
  start: 'start',
  affectedShare: 'affectedShare',
  campaignShare: 'campaignShare',
  otaProbability: 'otaOutageProbability',
  coincidentShare: 'coincidentOutageShare',
  lostOutcomeShare: 'lostOutcomeShare',
  badCheckDigitShare: 'badCheckDigitShare',
  verificationLostShare: 'verificationLostShare',
  skewedClockShare: 'skewedClockShare',
  meterSkewedClockShare: 'meterSkewedClockShare',
  maxClockSkewSeconds: 'maxClockSkewSeconds',
  supplierClaimShare: 'supplierClaimShare',
  claimWhenLostShare: 'claimWhenLostShare',
  clusteredCampaignShare: 'clusteredCampaignShare',
  chSwapCount: 'chSwapCount',
  storm: 'storm',
};

/** The preset, with every scenario option given on the command line over it. */
function scenarioOptions(o: Opts): Partial<ScenarioOptions> {
  const scenario: Record<string, unknown> = { ...SCENARIO_PRESETS[o.preset] };
  for (const [flag, key] of Object.entries(SCENARIO_FLAGS)) {
    // Seed, size and span always come from the command line (their defaults are the presets').
    const always = flag === 'seed' || flag === 'devices' || flag === 'days' || flag === 'start';
    if (always || program.getOptionValueSource(flag) === 'cli') scenario[key] = o[flag as keyof Opts];
  }
  return scenario as Partial<ScenarioOptions>;
}

async function main(): Promise<void> {
  const o = program.opts<Opts>();
  const scenario = scenarioOptions(o);
  const progress = createProgress();
  const started = Date.now();
  const env = Object.fromEntries(
    (o.env ?? []).map((kv) => {
      const i = kv.indexOf('=');
      if (i <= 0) throw new InvalidArgumentError(`--env expects KEY=VALUE, got ${kv}`);
      return [kv.slice(0, i), kv.slice(i + 1)];
    }),
  );
  if (o.mode === 'live') {
    if (!o.spawn && !o.tokenSecret)
      throw new InvalidArgumentError('--token-secret is required in live mode (or --spawn)');
    const live = await runLiveSimulation(scenario, {
      url: o.url,
      tokenSecret: o.tokenSecret,
      tokenIssuer: o.tokenIssuer,
      tokenAudience: o.tokenAudience,
      speed: o.speed,
      spawn: !!o.spawn,
      databaseUrl: process.env.DATABASE_URL || undefined,
      env,
      dropsPerDno: o.drops,
      batchMax: o.batchMax,
      onProgress: (d, t, phase) => progress.update(d, t, phase),
    });
    progress.done(`live run finished in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const files = writeArtifacts(live, o.out);
    process.stdout.write(formatLiveSummary(live.report, files) + '\n');
    return;
  }
  const run = await runReplaySimulation(scenario, {
    databaseUrl: process.env.DATABASE_URL || undefined,
    env,
    batchMs: o.batchSeconds * 1000,
    onProgress: (d, t, phase) => progress.update(d, t, phase),
  });
  progress.done(`replay finished in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const files = writeArtifacts(run, o.out);
  const r = run.report;
  const lines = [
    `Scenario (preset ${o.preset}): ${JSON.stringify({ ...r.scenario, options: undefined })}`,
    `Backend: ${r.backend}; timings (ms): ${JSON.stringify(r.timings)}; ${JSON.stringify(r.counts)}`,
    r.errors.length
      ? `Events the service rejected: ${r.errors.length} (first: ${JSON.stringify(r.errors[0])})`
      : '',
    '',
    formatScoreTable(r.scores),
    '',
    `Our decisions on arrived AD1s: ${JSON.stringify(r.oursByOutcome)}`,
    formatFindingCounts(r.findings),
    `Wrote ${files.join(', ')}`,
  ];
  process.stdout.write(lines.filter((l, i) => l !== '' || i > 2).join('\n') + '\n');
}

main().catch((error: unknown) => {
  // A server whose clock does not match --speed is a usage problem: the message says what to do.
  const text =
    error instanceof ClockMismatchError
      ? error.message
      : error instanceof Error
        ? (error.stack ?? error.message)
        : String(error);
  process.stderr.write(`simulate: ${text}\n`);
  process.exit(1);
});
