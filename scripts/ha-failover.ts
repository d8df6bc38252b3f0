import 'reflect-metadata';
import fs from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { positive } from './cli-options';
import { Client } from 'pg';
import { HaCluster } from '../ops/ha/cluster';
import { PATRONI_TIMINGS } from '../ops/ha/config';
import { readyz } from '../test/faults/support/api';
import { longestOutage, notOkSpans } from '../test/faults/support/availability';
import { Store, consumerProblems } from '../test/faults/support/checks';
import type { OutboxRow } from '../test/faults/support/checks';
import { FAULT_ENGINE_ENV, duisAd1, makeFleet, prepareRun, streamAlert } from '../test/faults/support/fleet';
import { LoadClient, batchesOf, mixedUnits, percentile, sleep } from '../test/faults/support/load';
import { Servers } from '../test/faults/support/servers';
import { ResilientConsumer, VERIFICATION_REQUESTS, freePort } from '../test/support/consumer';

/**
 * The failover drill: the service on the local HA cluster (ops/ha: etcd, Patroni, synchronous
 * replication, HAProxy), under a steady ingest with DNO subscribers and the DSP adapter's
 * verification stream connected, while the primary goes away, in turn by:
 *
 *   switchover  Patroni's planned switchover to the synchronous standby
 *   kill        kill -9 of the primary's postmaster (Patroni fails over at once)
 *   freeze      SIGSTOP of the whole primary member (Patroni and PostgreSQL) for longer than
 *               the leader TTL, then SIGCONT: it finds a new primary and rejoins as a standby
 *
 * After each failover the load is drained and everything is checked from the tables: every
 * acknowledged alert stored once under its ID and decided; every DNO outbox and the verification
 * outbox gap-free; every subscriber, and the verification stream, received exactly its outbox,
 * in order; the server process never restarted. Ingest unavailability is the longest stretch
 * with no acknowledged request, as the load client saw it.
 *
 *   npm run ha:test                                   # 3 rounds of each fault
 *   npm run ha:test -- --rounds 1 --faults kill       # one kill -9
 */

const FAULTS = ['switchover', 'kill', 'freeze'] as const;
type Fault = (typeof FAULTS)[number];

const options = new Command()
  .name('ha-failover')
  .description('Primary failovers of a Patroni cluster under load; checks that nothing acknowledged is lost')
  .option('--rounds <n>', 'failovers of each kind', positive('rounds'), 3)
  .option(
    '--faults <list>',
    `comma-separated, of ${FAULTS.join(', ')}`,
    (v) => {
      const list = v.split(',').map((s) => s.trim());
      const bad = list.filter((f) => !(FAULTS as readonly string[]).includes(f));
      if (bad.length) throw new InvalidArgumentError(`unknown faults: ${bad.join(', ')}`);
      return list as Fault[];
    },
    [...FAULTS],
  )
  .option('--rate <n>', 'alerts a second offered', positive('rate'), 300)
  .option('--batch <n>', 'alerts per ingestAlerts call', positive('batch'), 10)
  .option('--concurrency <n>', 'ingest calls in flight at most', positive('concurrency'), 4)
  .option('--steady-seconds <n>', 'load before each fault', positive('steady-seconds'), 6)
  .option('--after-seconds <n>', 'load after ingest is back', positive('after-seconds'), 4)
  .option(
    '--freeze-seconds <n>',
    'how long the primary is frozen',
    positive('freeze-seconds'),
    PATRONI_TIMINGS.ttl + 5,
  )
  .option('--out <dir>', 'where failover.json goes', 'artifacts/ha')
  .option('--keep', 'keep the cluster folder (logs, data) afterwards', false)
  .parse()
  .opts<{
    rounds: number;
    faults: Fault[];
    rate: number;
    batch: number;
    concurrency: number;
    steadySeconds: number;
    afterSeconds: number;
    freezeSeconds: number;
    out: string;
    keep: boolean;
  }>();

const DISTRIBUTORS = ['12', '14', '16'];
const DUIS_EVERY = 5;
/** Engine settings: the fault tests' short holds, plus unconfirmed activations whose AD1s ask the meter. */
const ENV: Record<string, string> = {
  ...FAULT_ENGINE_ENV,
  MAX_COMMS_HUB_OFF_MINUTES: '1',
  TRANSIT_MINUTES: '0',
  VERIFICATION_TIMEOUT_MINUTES: '0.05',
  VERIFICATION_ATTEMPTS: '1',
  VERIFICATION_BUDGET_PER_DNO: '1000000',
  VERIFICATION_BUDGET_PER_AREA: '1000000',
};

export interface RoundResult {
  fault: Fault;
  round: number;
  from: string | undefined;
  to: string | undefined;
  /** Longest stretch with no acknowledged ingest request (ms). */
  unavailableMs: number;
  /** /readyz not 200 (ms, summed). */
  notReadyMs: number;
  acknowledged: number;
  /** Alerts acknowledged a second over the load's whole run, failover included. */
  alertsPerSecond: number;
  failedAttempts: Record<string, number>;
  lost: number;
  duplicated: number;
  streamProblems: string[];
  storeProblems: string[];
  resumes: number;
  verificationRequests: number;
  alertIdJump: number;
  serverRestarted: boolean;
  seconds: number;
}

const line = (s: string) => process.stderr.write(`${s}\n`);

async function main(): Promise<number> {
  line('starting the HA cluster (etcd, 3 x Patroni/PostgreSQL, HAProxy)');
  const cluster = await HaCluster.start({ log: (s) => line(`  ${s}`) });
  const servers = new Servers({});
  const consumers: ResilientConsumer[] = [];
  const loads: LoadClient[] = [];
  let sampling = true;
  try {
    const admin = new Client({ connectionString: cluster.url() });
    await admin.connect();
    await admin.query('CREATE DATABASE poa_ha');
    await admin.end();
    const dbUrl = cluster.url('poa_ha');
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const server = await servers.start(port, { DATABASE_URL: dbUrl, ...ENV });
    const pid = server.child.pid;
    // A quarter of the affected meters have no outcome: their AD1s become verification requests.
    const fleet = makeFleet('AA', { affected: 200, plain: 100 }, DISTRIBUTORS);
    const run = await prepareRun(port, fleet, DISTRIBUTORS, (p) => p.n % 4 !== 0);
    consumers.push(...run.consumers);
    const verification = new ResilientConsumer(
      () => `ws://127.0.0.1:${port}/graphql`,
      run.operator,
      '0',
      VERIFICATION_REQUESTS,
    );
    verification.start();
    consumers.push(verification);

    const ready: { at: number; ok: boolean }[] = [];
    const sampler = (async () => {
      while (sampling) {
        ready.push({ at: Date.now(), ok: (await readyz(base)) === 200 });
        await sleep(200);
      }
    })();

    const units = mixedUnits(
      batchesOf((i) => streamAlert(fleet, run.executedAt, i), options.batch),
      (n) => duisAd1(fleet, n),
      DUIS_EVERY,
    );
    let unitsSoFar = 0;
    const acknowledged = () => {
      const all = new Map<string, string>();
      for (const l of loads) for (const [k, v] of l.acknowledged) all.set(k, v);
      return all;
    };
    const results: RoundResult[] = [];
    let maxAlertId = 0;

    for (const fault of options.faults) {
      for (let round = 1; round <= options.rounds; round++) {
        await cluster.waitHealthy(180_000);
        const began = Date.now();
        const offset = unitsSoFar;
        const load = new LoadClient({
          baseUrl: () => base,
          token: run.operator,
          unit: (k) => units(k + offset),
          alertsPerSecond: options.rate,
          concurrency: options.concurrency,
          timeoutMs: 10_000,
        });
        loads.push(load);
        load.start();
        await sleep(options.steadySeconds * 1000);
        const resumesBefore = consumers.reduce((n, c) => n + c.resumes, 0);
        const from = await cluster.leader();
        const faultAt = Date.now();
        if (fault === 'switchover') await cluster.switchover();
        else if (fault === 'kill') cluster.killPostmaster(from!);
        else {
          const thaw = cluster.freeze(from!);
          await sleep(options.freezeSeconds * 1000);
          thaw();
        }
        // Ingest is back once requests that started after the fault are acknowledged again.
        const deadline = Date.now() + 120_000;
        while (
          !load.attempts.some((a) => a.outcome === 'ok' && a.at > faultAt + 200) ||
          (await cluster.leader()) === undefined
        ) {
          if (Date.now() > deadline) throw new Error(`ingest not back 120 s after the ${fault}`);
          await sleep(200);
        }
        await sleep(options.afterSeconds * 1000);
        await load.drain(120_000);
        unitsSoFar += load.unitsIssued;
        const to = await cluster.leader();
        const end = Date.now();

        const store = await Store.open(dbUrl);
        let result: RoundResult;
        try {
          await waitUntilDecided(store);
          const acked = acknowledged();
          const verified = await store.verify(acked);
          const streamProblems: string[] = [];
          for (const [i, d] of DISTRIBUTORS.entries()) {
            await consumers[i].waitForCount(verified.lastSequence[d] ?? 0, 60_000).catch(() => undefined);
            streamProblems.push(...consumerProblems(d, consumers[i].received, await store.outbox(d)));
          }
          const requests = await verificationOutbox(store);
          streamProblems.push(...requests.problems);
          await verification.waitForCount(requests.rows.length, 60_000).catch(() => undefined);
          streamProblems.push(...consumerProblems('verification', verification.received, requests.rows));
          const ids = await store.query<{ max: number }>(
            'SELECT coalesce(max(id), 0)::int AS max FROM alert',
          );
          const jump = await alertIdJump(store, maxAlertId);
          maxAlertId = ids[0].max;
          const lost = verified.problems.filter((p) => p.startsWith('acknowledged alerts not stored'));
          result = {
            fault,
            round,
            from,
            to,
            unavailableMs: longestOutage(load.attempts, faultAt - 1000, end).ms,
            notReadyMs: notOkSpans(ready, faultAt - 1000, end).totalMs,
            acknowledged: load.acknowledged.size,
            alertsPerSecond: Math.round(load.acknowledged.size / ((end - began) / 1000)),
            failedAttempts: load.outcomes((a) => a.outcome !== 'ok'),
            lost: lost.length ? Number(/\((\d+)\)/.exec(lost[0])?.[1] ?? 1) : 0,
            duplicated: verified.alerts - acked.size,
            streamProblems,
            storeProblems: [...verified.problems, ...load.conflicts],
            resumes: consumers.reduce((n, c) => n + c.resumes, 0) - resumesBefore,
            verificationRequests: requests.rows.length,
            alertIdJump: jump,
            serverRestarted: server.child.exitCode !== null || server.child.pid !== pid,
            seconds: (Date.now() - began) / 1000,
          };
        } finally {
          await store.close();
        }
        results.push(result);
        line(
          `${fault} ${round}: ${result.from} -> ${result.to}, ingest unavailable ${(result.unavailableMs / 1000).toFixed(1)} s, ` +
            `not ready ${(result.notReadyMs / 1000).toFixed(1)} s, ${result.acknowledged} acknowledged (${result.alertsPerSecond}/s), failed attempts ${JSON.stringify(result.failedAttempts)}, ` +
            `lost ${result.lost}, duplicated ${result.duplicated}, stream problems ${result.streamProblems.length}, ` +
            `store problems ${result.storeProblems.length}, resumes ${result.resumes}, alert id jump ${result.alertIdJump}` +
            `${result.serverRestarted ? ', SERVER RESTARTED' : ''}`,
        );
        for (const p of [...result.storeProblems, ...result.streamProblems].slice(0, 8)) line(`    ${p}`);
      }
    }
    sampling = false;
    await sampler;
    const failed = results.filter(
      (r) =>
        r.lost ||
        r.duplicated ||
        r.streamProblems.length ||
        r.storeProblems.length ||
        r.serverRestarted ||
        r.unavailableMs > 30_000,
    );
    const summary = summarise(results);
    fs.mkdirSync(options.out, { recursive: true });
    fs.writeFileSync(
      path.join(options.out, 'failover.json'),
      `${JSON.stringify({ at: new Date().toISOString(), options, summary, results, warnings: Servers.warnings(server).slice(-20) }, null, 2)}\n`,
    );
    fs.writeFileSync(path.join(options.out, 'server.log'), server.output());
    for (const s of summary) line(s);
    line(failed.length ? `FAIL: ${failed.length} failover(s) broke a guarantee` : 'PASS');
    return failed.length ? 1 : 0;
  } finally {
    sampling = false;
    for (const l of loads) l.abandon();
    await Promise.all(consumers.map((c) => c.stop()));
    await servers.killAll();
    await cluster.stop({ keepFiles: options.keep });
    if (options.keep) line(`cluster folder kept: ${cluster.layout.dir}`);
  }
}

/** Waits until no alert is held and no timer is set (the holds of the last load decided). */
async function waitUntilDecided(store: Store): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const p = await store.pending();
    if (p.held === 0 && p.timers === 0) return;
    if (Date.now() > deadline) throw new Error(`alerts still held after 60 s: ${JSON.stringify(p)}`);
    await sleep(500);
  }
}

/** The verification outbox in sequence order, and its gaps (it must run 1..last_sequence). */
async function verificationOutbox(store: Store): Promise<{ rows: OutboxRow[]; problems: string[] }> {
  const rows = await store.query<OutboxRow>(
    `SELECT sequence::text AS sequence, 'ATTEMPT_' || attempt AS kind, alert_id::text AS "alertId", 0 AS revision
       FROM verification_request WHERE sequence IS NOT NULL ORDER BY verification_request.sequence`,
  );
  const [{ last }] = await store.query<{ last: string }>(
    'SELECT last_sequence::text AS last FROM verification_sequence WHERE id = 1',
  );
  const wrong = rows.findIndex((r, i) => Number(r.sequence) !== i + 1);
  const problems =
    wrong >= 0 || rows.length !== Number(last)
      ? [
          `verification outbox: ${rows.length} requests, last_sequence ${last}, first out of place at ${wrong + 1}`,
        ]
      : [];
  return { rows, problems };
}

/** The largest step between successive alert IDs above `after` (sequence values lost in a failover show here). */
async function alertIdJump(store: Store, after: number): Promise<number> {
  const [{ jump }] = await store.query<{ jump: number }>(
    `SELECT coalesce(max(id - prev), 0)::int AS jump
       FROM (SELECT id, lag(id) OVER (ORDER BY id) AS prev FROM alert WHERE id > $1) s`,
    [after],
  );
  return jump;
}

function summarise(results: readonly RoundResult[]): string[] {
  return FAULTS.filter((f) => results.some((r) => r.fault === f)).map((f) => {
    const rs = results.filter((r) => r.fault === f);
    const un = rs.map((r) => r.unavailableMs / 1000);
    const nr = rs.map((r) => r.notReadyMs / 1000);
    const sum = (k: (r: RoundResult) => number) => rs.reduce((n, r) => n + k(r), 0);
    return (
      `${f} x${rs.length}: ingest unavailable p50 ${percentile(un, 50).toFixed(1)} s, max ${Math.max(...un).toFixed(1)} s; ` +
      `not ready p50 ${percentile(nr, 50).toFixed(1)} s, max ${Math.max(...nr).toFixed(1)} s; ` +
      `${sum((r) => r.acknowledged)} acknowledged, lost ${sum((r) => r.lost)}, duplicated ${sum((r) => r.duplicated)}, ` +
      `stream problems ${sum((r) => r.streamProblems.length)}, store problems ${sum((r) => r.storeProblems.length)}, ` +
      `subscriber resumes ${sum((r) => r.resumes)}, restarts ${rs.filter((r) => r.serverRestarted).length}`
    );
  });
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `ha-failover failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(2);
  },
);
