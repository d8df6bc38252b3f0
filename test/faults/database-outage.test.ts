import { Client } from 'pg';
import { eventually } from '../support/app';
import { freePort } from '../support/consumer';
import type { ResilientConsumer } from '../support/consumer';
import { guid, mpan } from '../support/integration';
import type { ServerProcess } from '../support/process';
import { gql, metricValue, postDuis, readyz } from './support/api';
import { Store, consumerProblems } from './support/checks';
import { FAULT_ENGINE_ENV, duisAd1, makeFleet, prepareRun, streamAlert } from './support/fleet';
import type { Fleet } from './support/fleet';
import { LoadClient, batchesOf, mixedUnits, percentile, sleep } from './support/load';
import type { Attempt } from './support/load';
import { TempCluster } from './support/pg-cluster';
import { lostSummary, report } from './support/report';
import { Servers } from './support/servers';

/**
 * The database goes away under a running server, which is never restarted: a PostgreSQL of the
 * test's own is stopped for seconds (pg_ctl stop -m fast) and, in the second case, has every
 * connection of the service killed (pg_terminate_backend). Ingest must answer with a retryable
 * code on both HTTP paths (/graphql and /duis), /readyz must say so, nothing may be half-written,
 * and everything must come back by itself: ingest, the LISTEN connection that wakes live
 * subscribers, and the scheduler deciding the holds that fell due meanwhile.
 */

const OUTAGE_MS = 8_000;
const DISTRIBUTORS = ['12', '14'];
const BATCH = 10;
const DUIS_EVERY = 4;
const MIN_KILL_MS = 10_000;
const ENV = { ...FAULT_ENGINE_ENV, SCHEDULER_POLL_MS: '250' };

describe('fault: the database stops and its connections are killed', () => {
  let cluster: TempCluster | undefined;
  let dbUrl = '';
  let servers: Servers | undefined;
  let server: ServerProcess;
  let base = '';
  let operator = '';
  let fleet: Fleet;
  let executedAt: Date;
  const consumers: ResilientConsumer[] = [];
  const loads: LoadClient[] = [];
  /** Alerts acknowledged outside the load clients (probes), natural key -> ID. */
  const probes = new Map<string, string>();
  let probeCount = 0;
  /** Units the load clients have issued so far: the next client continues the same stream. */
  let unitsSoFar = 0;

  const stream = (offsetUnits: number) => {
    const units = mixedUnits(
      batchesOf((i) => streamAlert(fleet, executedAt, i), BATCH),
      (n) => duisAd1(fleet, n),
      DUIS_EVERY,
    );
    return (k: number) => units(k + offsetUnits);
  };

  beforeAll(async () => {
    cluster = await TempCluster.create();
    dbUrl = await cluster.createDatabase('poa_faults');
    servers = new Servers({ DATABASE_URL: dbUrl, ...ENV });
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    server = await servers.start(port);
    const run = await prepareRun(
      port,
      makeFleet('FB', { affected: 200, plain: 100 }, DISTRIBUTORS),
      DISTRIBUTORS,
    );
    consumers.push(...run.consumers);
    ({ operator, fleet, executedAt } = run);
  }, 120_000);

  afterAll(async () => {
    for (const load of loads) load.abandon();
    await Promise.all(consumers.map((c) => c.stop()));
    await servers?.killAll();
    await cluster?.destroy();
  });

  const newLoad = (): LoadClient => {
    const load = new LoadClient({
      baseUrl: () => base,
      token: operator,
      unit: stream(unitsSoFar),
      alertsPerSecond: 150,
      concurrency: 4,
      timeoutMs: 10_000,
    });
    loads.push(load);
    return load;
  };
  const finish = async (load: LoadClient) => {
    await load.drain(60_000);
    unitsSoFar += load.unitsIssued;
  };
  const acknowledgedGrows = async (load: LoadClient, by: number, what: string) => {
    const target = load.acknowledged.size + by;
    const since = Date.now();
    try {
      await eventually(
        async () => {
          if (server.child.exitCode !== null) throw new Error(`the server exited while waiting for ${what}`);
          return load.acknowledged.size >= target ? true : undefined;
        },
        60_000,
        what,
      );
    } catch (error) {
      // A stall must say where it is: what the load saw meanwhile, and what the server logged.
      const metrics = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5_000) })
        .then((r) => r.text())
        .catch((e: unknown) => `(metrics unreadable: ${String(e)})`);
      const lines = metrics
        .split('\n')
        .filter((l) => /db_pool|ingest_failures|hold_queue/.test(l) && !l.startsWith('#'));
      throw new Error(
        `${(error as Error).message}: ${load.acknowledged.size}/${target} acknowledged, ${load.pending} unit(s) in flight; ` +
          `attempts since: ${JSON.stringify(load.outcomes((a) => a.at >= since))}\n` +
          `metrics:\n${lines.join('\n')}\nserver (pid ${server.child.pid}, exit code ${server.child.exitCode}) output, last 60 lines:\n${server
            .output()
            .split('\n')
            .slice(-60)
            .map((l) => l.slice(0, 400))
            .join('\n')}`,
      );
    }
  };

  /** One AD1 over each HTTP path, from hubs the load never uses. */
  const probe = async () => {
    const n = probeCount++;
    const ch = guid('FB-00-00-00-00-0B', n);
    const startAt = new Date(Date.UTC(2026, 1, 1, 0, 0, n)).toISOString();
    const graphql = await gql<{ ingestAlerts: { alertId: string }[] }>(
      base,
      'mutation ($a: [AlertInput!]!) { ingestAlerts(alerts: $a) { alertId } }',
      { a: [{ powerOutage: { commsHubGuid: ch, startAt, mpan: mpan('12', 700_000 + n) } }] },
      operator,
    );
    const doc = duisAd1(fleet, 500_000 + n);
    const duis = await postDuis(base, doc.xml, operator);
    return {
      graphql,
      duis,
      keys: { graphql: `AD1:${ch}:${startAt}`, duis: doc.naturalKey },
    };
  };
  /** Sends a probe until both paths accept it, and records the acknowledged IDs. */
  const probeUntilAccepted = async () =>
    eventually(
      async () => {
        const p = await probe();
        const id = p.graphql.body.data?.ingestAlerts[0].alertId;
        const duisId = p.duis.body.results?.[0].alertId;
        if (id) probes.set(p.keys.graphql, id);
        if (duisId) probes.set(p.keys.duis, duisId);
        return id && duisId ? true : undefined;
      },
      30_000,
      'ingest accepted again on both paths',
    );

  /**
   * How long a live subscriber of DNO 12 takes to receive an alert after its acknowledgement,
   * for `n` alerts sent one after another. Subscribers re-read the outbox every 5 s anyway, so
   * deliveries well inside that can only have been woken by LISTEN/NOTIFY.
   */
  const wakeups = async (n: number): Promise<number[]> => {
    const consumer = consumers[0];
    const latencies: number[] = [];
    for (let k = 0; k < n; k++) {
      const i = probeCount++;
      const ch = guid('FB-00-00-00-00-0A', i);
      const startAt = new Date(Date.UTC(2026, 1, 2, 0, 0, i)).toISOString();
      const { body } = await gql<{ ingestAlerts: { alertId: string }[] }>(
        base,
        'mutation ($a: [AlertInput!]!) { ingestAlerts(alerts: $a) { alertId } }',
        { a: [{ powerOutage: { commsHubGuid: ch, startAt, mpan: mpan('12', 600_000 + i) } }] },
        operator,
      );
      const id = body.data?.ingestAlerts[0].alertId;
      if (!id) throw new Error(`ingest failed: ${JSON.stringify(body.errors)}`);
      probes.set(`AD1:${ch}:${startAt}`, id);
      const acked = Date.now();
      await eventually(
        async () => (consumer.received.some((m) => m.alertId === id) ? true : undefined),
        15_000,
        `alert ${id} on the DNO 12 stream`,
      );
      latencies.push(Date.now() - acked);
    }
    return latencies;
  };

  const timersNow = async (): Promise<number> => {
    const c = new Client({ connectionString: dbUrl });
    await c.connect();
    try {
      return (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM alert WHERE due_at IS NOT NULL'))
        .rows[0].n;
    } finally {
      await c.end();
    }
  };

  /** Everything that must hold afterwards; returns the problems and the store's report. */
  const verifyAll = async () => {
    const store = await Store.open(dbUrl);
    try {
      await eventually(
        async () => {
          const p = await store.pending();
          return p.held === 0 && p.timers === 0 ? p : undefined;
        },
        30_000,
        'every held alert decided',
      );
      const acknowledged = new Map(probes);
      for (const load of loads) for (const [k, v] of load.acknowledged) acknowledged.set(k, v);
      const verified = await store.verify(acknowledged);
      const streamProblems: string[] = [];
      for (const [i, distributorId] of DISTRIBUTORS.entries()) {
        await consumers[i]
          .waitForCount(verified.lastSequence[distributorId] ?? 0, 30_000)
          .catch(() => undefined); // a shortfall is reported below
        streamProblems.push(
          ...consumerProblems(distributorId, consumers[i].received, await store.outbox(distributorId)),
        );
      }
      const conflicts = loads.flatMap((l) => l.conflicts);
      return { verified, streamProblems, conflicts, acknowledged: acknowledged.size };
    } finally {
      await store.close();
    }
  };

  /** Live subscribers per DNO on this server, from its metrics: one each, or something leaked. */
  const subscribers = async (): Promise<Record<string, number>> => {
    const text = await (await fetch(`${base}/metrics`)).text();
    return Object.fromEntries(
      DISTRIBUTORS.map((d) => [d, metricValue(text, 'dno_subscribers', `distributor_id="${d}"`)]),
    );
  };

  const failures = (attempts: readonly Attempt[]) => attempts.filter((a) => a.outcome !== 'ok');

  test('pg_ctl stop -m fast for 8 s: retryable errors on both paths, /readyz 503 then 200, full recovery without a restart', async () => {
    const began = Date.now();
    const pid = server.child.pid;
    const load = newLoad();
    load.start();
    await acknowledgedGrows(load, 600, 'load running before the outage');
    const timersAtStop = await timersNow();

    const stopAt = Date.now();
    await cluster!.stop('fast');
    const stoppedAt = Date.now();
    await eventually(async () => ((await readyz(base)) === 503 ? true : undefined), 10_000, '/readyz 503');
    const notReadyAfterMs = Date.now() - stoppedAt;
    const during = await probe();
    await sleep(Math.max(0, stopAt + OUTAGE_MS - Date.now()));
    await cluster!.start();
    const startedAt = Date.now();
    await eventually(async () => ((await readyz(base)) === 200 ? true : undefined), 30_000, '/readyz 200');
    const readyAfterMs = Date.now() - startedAt;
    await probeUntilAccepted();
    const acceptedAfterMs = Date.now() - startedAt;
    await acknowledgedGrows(load, 600, 'load acknowledged again after the outage');
    await finish(load);

    const { verified, streamProblems, conflicts, acknowledged } = await verifyAll();
    const latencies = await wakeups(5);
    const live = await subscribers();
    const failed = failures(load.attempts);
    const outageFailures = failed.filter((a) => a.at >= stopAt - 1000 && a.at <= startedAt + 5000);

    report('database-stop', {
      fault: `pg_ctl stop -m fast, down ${((startedAt - stopAt) / 1000).toFixed(1)} s, server not restarted`,
      load: `${load.alertsSent} alerts at 150/s target (batches of ${BATCH}; every ${DUIS_EVERY}th request one DUIS document), ${timersAtStop} holds pending at the stop`,
      lost: lostSummary({
        'store/ledger/outbox': verified.problems,
        'subscriber streams': streamProblems,
        'ID conflicts': conflicts,
      }),
      durationSeconds: (Date.now() - began) / 1000,
      details: {
        attempts: load.outcomes(),
        failuresByPath: {
          graphql: load.outcomes((a) => a.via === 'graphql' && a.outcome !== 'ok'),
          duis: load.outcomes((a) => a.via === 'duis' && a.outcome !== 'ok'),
        },
        failureLatencyMsP99: percentile(
          failed.map((a) => a.ms),
          99,
        ),
        probeDuringOutage: {
          graphql: { status: during.graphql.status, extensions: during.graphql.body.errors?.[0]?.extensions },
          duis: { status: during.duis.status, error: during.duis.body.errors?.[0] },
        },
        notReadyAfterMs,
        readyAfterMs,
        acceptedAfterMs,
        wakeupLatenciesMs: latencies,
        liveSubscribers: live,
        internalErrors: Servers.warnings(server)
          .filter((l) => l.includes('unexpected error in a GraphQL operation'))
          .slice(0, 3),
        acknowledged,
        storedAlerts: verified.alerts,
        outcomes: verified.outcomes,
        messages: verified.messages,
      },
    });

    // Both HTTP paths answer the outage with a retryable code.
    expect(during.graphql.body.errors?.[0]?.extensions).toMatchObject({
      code: 'UNAVAILABLE',
      retryable: true,
    });
    expect(during.graphql.body.data ?? null).toBeNull();
    expect(during.duis.status).toBe(503);
    expect(during.duis.body.errors?.[0]).toMatchObject({ code: 'UNAVAILABLE', retryable: true });
    // So did every request of the load that failed, on either path.
    expect(outageFailures.length).toBeGreaterThan(0);
    expect(failed.filter((a) => a.outcome !== 'UNAVAILABLE' || a.retryable !== true)).toEqual([]);
    expect(failed.filter((a) => a.via === 'duis' && a.status !== 503)).toEqual([]);
    expect(new Set(failed.map((a) => a.via))).toEqual(new Set(['graphql', 'duis']));
    expect(timersAtStop).toBeGreaterThan(0);

    expect(conflicts).toEqual([]);
    expect(verified.problems).toEqual([]);
    expect(streamProblems).toEqual([]);
    // LISTEN is back: every wake-up well inside the subscribers' 5 s safety re-read.
    expect(Math.max(...latencies)).toBeLessThan(2_000);
    // The subscriptions that failed during the outage were let go: one live subscriber per DNO.
    expect(live).toEqual(Object.fromEntries(DISTRIBUTORS.map((d) => [d, 1])));
    // The same process all along.
    expect(server.child.exitCode).toBeNull();
    expect(server.child.pid).toBe(pid);
  }, 150_000);

  test('pg_terminate_backend on every connection of the service: retryable errors, never INTERNAL, full recovery', async () => {
    const began = Date.now();
    const pid = server.child.pid;
    const load = newLoad();
    load.start();
    await acknowledgedGrows(load, 300, 'load running before the kills');
    const killStart = Date.now();
    let rounds = 0;
    let terminated = 0;
    let listenTerminated = 0;
    // Kill every connection of the service, again and again, for at least MIN_KILL_MS and until
    // requests on both paths have been caught by it mid-flight. Hundreds of kills, some landing
    // just as the pool hands a new connection out: once that crashed the process.
    await eventually(
      async () => {
        rounds++;
        terminated += await cluster!.terminate(
          `datname = 'poa_faults' AND application_name LIKE 'poa-sieve%'`,
        );
        listenTerminated += await cluster!.terminate(`application_name = 'poa-sieve-listen'`);
        const failed = failures(load.attempts.filter((a) => a.at >= killStart));
        await sleep(200);
        return Date.now() - killStart >= MIN_KILL_MS &&
          failed.some((a) => a.via === 'graphql') &&
          failed.some((a) => a.via === 'duis')
          ? true
          : undefined;
      },
      30_000,
      'requests on both paths caught by a killed connection',
    );
    const killSeconds = (Date.now() - killStart) / 1000;
    await acknowledgedGrows(load, 300, 'load acknowledged again after the kills');
    await finish(load);
    await eventually(async () => ((await readyz(base)) === 200 ? true : undefined), 30_000, '/readyz 200');

    const { verified, streamProblems, conflicts, acknowledged } = await verifyAll();
    const latencies = await wakeups(5);
    const live = await subscribers();
    const failed = failures(load.attempts);

    report('database-connections-killed', {
      fault: `pg_terminate_backend on every connection of the service (LISTEN included), ${rounds} rounds over ${killSeconds.toFixed(1)} s, ${terminated + listenTerminated} backends ended`,
      load: `${load.alertsSent} alerts at 150/s target (batches of ${BATCH}; every ${DUIS_EVERY}th request one DUIS document)`,
      lost: lostSummary({
        'store/ledger/outbox': verified.problems,
        'subscriber streams': streamProblems,
        'ID conflicts': conflicts,
      }),
      durationSeconds: (Date.now() - began) / 1000,
      details: {
        attempts: load.outcomes(),
        failuresByPath: {
          graphql: load.outcomes((a) => a.via === 'graphql' && a.outcome !== 'ok'),
          duis: load.outcomes((a) => a.via === 'duis' && a.outcome !== 'ok'),
        },
        wakeupLatenciesMs: latencies,
        liveSubscribers: live,
        internalErrors: Servers.warnings(server)
          .filter((l) => l.includes('unexpected error in a GraphQL operation'))
          .slice(0, 3),
        acknowledged,
        storedAlerts: verified.alerts,
        outcomes: verified.outcomes,
        messages: verified.messages,
      },
    });

    expect(failed.filter((a) => a.outcome !== 'UNAVAILABLE' || a.retryable !== true)).toEqual([]);
    expect(failed.filter((a) => a.via === 'duis' && a.status !== 503)).toEqual([]);
    expect(conflicts).toEqual([]);
    expect(verified.problems).toEqual([]);
    expect(streamProblems).toEqual([]);
    expect(Math.max(...latencies)).toBeLessThan(2_000);
    expect(live).toEqual(Object.fromEntries(DISTRIBUTORS.map((d) => [d, 1])));
    expect(server.child.exitCode).toBeNull();
    expect(server.child.pid).toBe(pid);
  }, 150_000);
});
