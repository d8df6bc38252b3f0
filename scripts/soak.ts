import 'reflect-metadata';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { positive } from './cli-options';
import { Client } from 'pg';
import { freePort } from '../test/support/consumer';
import type { ResilientConsumer } from '../test/support/consumer';
import { spawnServer } from '../test/support/process';
import type { ServerProcess } from '../test/support/process';
import { sampleProcess } from '../test/faults/support/api';
import type { ProcessSample } from '../test/faults/support/api';
import { Store } from '../test/faults/support/checks';
import { FAULT_ENGINE_ENV, makeFleet, prepareRun, streamAlert } from '../test/faults/support/fleet';
import { LoadClient, batchesOf, percentile, sleep } from '../test/faults/support/load';
import { TEST_SECRET } from '../test/support/app';

/**
 * Soak: a steady ingest rate against a real server process for a long time (default an hour),
 * with DNO subscribers reading their streams, sampling the server's memory (from /metrics) and
 * the ingest latency every minute, and failing when the live heap keeps growing.
 *
 *   npm run soak                              # 60 minutes at 100 alerts/s
 *   npm run soak -- --minutes 5 --rate 200    # a short one
 *
 * It starts the server itself (src/main.ts in its own process) on a throw-away database of the
 * PostgreSQL at --postgres (dropped at the end), seeds a fleet, and checks afterwards that every
 * acknowledged alert is stored, decided and delivered (the fault tests' checks). Every minute
 * goes to <out>/soak.csv and the whole run to <out>/soak.json.
 *
 * Memory verdict: heap used is a sawtooth between major collections, so each minute keeps the
 * lowest of its samples (taken every few seconds), which tracks the live heap. The run fails
 * when the last quarter's lowest minutes sit more than --max-heap-growth-mb above the first
 * quarter's (the first minute, warm-up, left out).
 */

const options = new Command()
  .name('soak')
  .description('Steady ingest against a real server for a long time; samples memory and latency each minute')
  .option('--minutes <n>', 'how long to run', positive('minutes'), 60)
  .option('--rate <n>', 'alerts a second', positive('rate'), 100)
  .option('--batch <n>', 'alerts per ingestAlerts call', positive('batch'), 20)
  .option('--concurrency <n>', 'calls in flight at most', positive('concurrency'), 4)
  .option(
    '--sample-seconds <n>',
    'memory sampling interval within each minute',
    positive('sample-seconds'),
    5,
  )
  .option(
    '--max-heap-growth-mb <n>',
    'live-heap growth that fails the run',
    positive('max-heap-growth-mb'),
    64,
  )
  .option(
    '--postgres <url>',
    'PostgreSQL admin URL (a database is created there and dropped)',
    process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  )
  .option('--out <dir>', 'where soak.csv and soak.json go', 'artifacts/soak')
  .parse()
  .opts<{
    minutes: number;
    rate: number;
    batch: number;
    concurrency: number;
    sampleSeconds: number;
    maxHeapGrowthMb: number;
    postgres: string;
    out: string;
  }>();

interface Minute {
  minute: number;
  acknowledged: number;
  alertsPerSecond: number;
  calls: number;
  failed: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  rssMb: number;
  heapMinMb: number;
  heapMaxMb: number;
  received: number;
}

const mb = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;

async function main(): Promise<number> {
  const name = `poa_soak_${crypto.randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: options.postgres });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const dbUrl = Object.assign(new URL(options.postgres), { pathname: `/${name}` }).toString();

  let server: ServerProcess | undefined;
  let load: LoadClient | undefined;
  const consumers: ResilientConsumer[] = [];
  try {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    server = await spawnServer({
      DATABASE_URL: dbUrl,
      AUTH_JWT_SECRET: TEST_SECRET,
      LOG_LEVEL: 'info',
      SEED_DEMO: 'false',
      NODE_ENV: 'production',
      PORT: String(port),
      ...FAULT_ENGINE_ENV,
      HOLD_MINUTES: '1',
      SCHEDULER_POLL_MS: '1000',
    });
    const distributors = ['12', '14', '16'];
    const run = await prepareRun(
      port,
      makeFleet('F5', { affected: 1000, plain: 500 }, distributors),
      distributors,
    );
    consumers.push(...run.consumers);
    const { operator, fleet, executedAt } = run;
    const received = () => consumers.reduce((n, c) => n + c.received.length, 0);

    load = new LoadClient({
      baseUrl: () => base,
      token: operator,
      unit: batchesOf((i) => streamAlert(fleet, executedAt, i), options.batch),
      alertsPerSecond: options.rate,
      concurrency: options.concurrency,
      timeoutMs: 30_000,
    });
    fs.mkdirSync(options.out, { recursive: true });
    const csvPath = path.join(options.out, 'soak.csv');
    fs.writeFileSync(
      csvPath,
      'minute,acknowledged,alerts_per_s,calls,failed,p50_ms,p95_ms,p99_ms,max_ms,rss_mb,heap_min_mb,heap_max_mb,received\n',
    );
    const idle = await sampleProcess(base);
    const started = Date.now();
    load.start();
    const minutes: Minute[] = [];
    let attemptsSeen = 0;
    let acknowledgedBefore = 0;
    for (let m = 1; m <= Math.ceil(options.minutes); m++) {
      const end = Math.min(started + m * 60_000, started + options.minutes * 60_000);
      const samples: ProcessSample[] = [];
      while (Date.now() < end) {
        samples.push(await sampleProcess(base, 30_000));
        await sleep(Math.min(options.sampleSeconds * 1000, Math.max(0, end - Date.now())));
      }
      samples.push(await sampleProcess(base, 30_000));
      const attempts = load.attempts.slice(attemptsSeen);
      attemptsSeen += attempts.length;
      const ok = attempts.filter((a) => a.outcome === 'ok').map((a) => a.ms);
      const acknowledged = load.acknowledged.size;
      const heaps = samples.map((x) => x.heapUsedBytes);
      const row: Minute = {
        minute: m,
        acknowledged,
        alertsPerSecond: Math.round(
          (acknowledged - acknowledgedBefore) / ((end - (started + (m - 1) * 60_000)) / 1000),
        ),
        calls: attempts.length,
        failed: attempts.length - ok.length,
        p50Ms: percentile(ok, 50),
        p95Ms: percentile(ok, 95),
        p99Ms: percentile(ok, 99),
        maxMs: Math.max(0, ...ok),
        rssMb: mb(samples[samples.length - 1].rssBytes),
        heapMinMb: mb(Math.min(...heaps)),
        heapMaxMb: mb(Math.max(...heaps)),
        received: received(),
      };
      acknowledgedBefore = acknowledged;
      minutes.push(row);
      fs.appendFileSync(csvPath, `${Object.values(row).join(',')}\n`);
      const failures = attempts.filter((a) => a.outcome !== 'ok').map((a) => a.outcome);
      const failedBy = [...new Set(failures)].map((o) => `${o} ${failures.filter((f) => f === o).length}`);
      process.stderr.write(
        `minute ${m}: ${row.alertsPerSecond}/s, p50/p99 ${row.p50Ms}/${row.p99Ms} ms, ${row.failed} failed` +
          `${failedBy.length ? ` (${failedBy.join(', ')})` : ''}, rss ${row.rssMb} MB, heap ${row.heapMinMb}-${row.heapMaxMb} MB\n`,
      );
    }
    await load.drain(120_000);

    // Everything acknowledged is stored, decided and in the outboxes; the subscribers caught up.
    const store = await Store.open(dbUrl);
    let problems: string[];
    let storedAlerts = 0;
    try {
      const deadline = Date.now() + 5 * 60_000;
      for (;;) {
        const p = await store.pending();
        if ((p.held === 0 && p.timers === 0) || Date.now() > deadline) break;
        await sleep(1000);
      }
      const verified = await store.verify(load.acknowledged);
      storedAlerts = verified.alerts;
      const newest = Object.values(verified.lastSequence).reduce((a, b) => a + b, 0);
      const caughtUp = Date.now() + 120_000;
      while (received() < newest && Date.now() < caughtUp) await sleep(500);
      problems = [...verified.problems, ...load.conflicts];
      if (received() !== newest) problems.push(`subscribers received ${received()} of ${newest} messages`);
    } finally {
      await store.close();
    }

    const body = minutes.slice(1);
    const quarter = Math.max(1, Math.floor(body.length / 4));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const firstQuarter = mean(body.slice(0, quarter).map((r) => r.heapMinMb));
    const lastQuarter = mean(body.slice(-quarter).map((r) => r.heapMinMb));
    const heapGrowthMb = body.length >= 2 ? Math.round((lastQuarter - firstQuarter) * 10) / 10 : 0;
    const heapGrows = heapGrowthMb > options.maxHeapGrowthMb;
    const summary = {
      options,
      idle: { rssMb: mb(idle.rssBytes), heapUsedMb: mb(idle.heapUsedBytes) },
      minutes,
      acknowledged: load.acknowledged.size,
      storedAlerts,
      failedCalls: load.attempts.filter((a) => a.outcome !== 'ok').length,
      heapGrowthMb,
      verdict: heapGrows || problems.length ? 'FAIL' : 'PASS',
      problems: [...problems, ...(heapGrows ? [`live heap grew ${heapGrowthMb} MB`] : [])],
    };
    fs.writeFileSync(path.join(options.out, 'soak.json'), `${JSON.stringify(summary, null, 2)}\n`);
    process.stdout.write(
      `soak: ${summary.acknowledged} alerts in ${options.minutes} min, ${summary.failedCalls} failed calls, ` +
        `live heap ${heapGrowthMb >= 0 ? '+' : ''}${heapGrowthMb} MB (first vs last quarter), ` +
        `${summary.verdict}${summary.problems.length ? `: ${summary.problems.slice(0, 5).join('; ')}` : ''}\n` +
        `per minute: ${csvPath}\n`,
    );
    return summary.verdict === 'PASS' ? 0 : 1;
  } finally {
    load?.abandon();
    await Promise.all(consumers.map((c) => c.stop()));
    if (server && server.child.exitCode === null) {
      server.child.kill('SIGTERM');
      await server.exited;
    }
    const drop = new Client({ connectionString: options.postgres });
    await drop.connect();
    await drop.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await drop.end();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `soak failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(2);
  },
);
