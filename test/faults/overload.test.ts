import { eventually } from '../support/app';
import { freePort } from '../support/consumer';
import type { ResilientConsumer } from '../support/consumer';
import { createTestDatabase } from '../support/database';
import type { TestDatabase } from '../support/database';
import { sampleProcess } from './support/api';
import type { ProcessSample } from './support/api';
import { Store, consumerProblems } from './support/checks';
import { FAULT_ENGINE_ENV, duisAd1, makeFleet, prepareRun, streamAlert } from './support/fleet';
import { LoadClient, batchesOf, latencySummary, mixedUnits, sleep } from './support/load';
import type { Attempt } from './support/load';
import { lostSummary, report } from './support/report';
import { Servers } from './support/servers';

/**
 * Overload: far more ingest than the server can do (64 clients sending 100-alert batches
 * back to back, and DUIS documents among them) must be met with fast back-pressure: the batches over the in-flight limit are
 * refused at once with 503, Retry-After and OVERLOADED (retryable), having written nothing,
 * while the accepted ones finish in bounded time and the process's memory stays bounded. The
 * clients retry what was refused; afterwards nothing accepted is missing and every DNO stream is whole.
 */

const CLIENTS = 64;
const BATCH = 100;
const OVERLOAD_MS = 15_000;
const DUIS_EVERY = 8;
const DISTRIBUTORS = ['12', '14'];

describe('fault: overload', () => {
  let db: TestDatabase | undefined;
  let store: Store | undefined;
  let servers: Servers | undefined;
  let load: LoadClient | undefined;
  const consumers: ResilientConsumer[] = [];

  afterAll(async () => {
    load?.abandon();
    await Promise.all(consumers.map((c) => c.stop()));
    await servers?.killAll();
    await store?.close();
    await db?.drop();
  });

  test('refused fast with a retry hint, bounded latency and memory, nothing accepted lost', async () => {
    const began = Date.now();
    db = await createTestDatabase('postgres');
    store = await Store.open(db.url);
    servers = new Servers({
      DATABASE_URL: db.url,
      ...FAULT_ENGINE_ENV,
    });
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const server = await servers.start(port);
    const run = await prepareRun(
      port,
      makeFleet('FD', { affected: 300, plain: 200 }, DISTRIBUTORS),
      DISTRIBUTORS,
    );
    consumers.push(...run.consumers);
    const { operator, fleet, executedAt } = run;

    const baseline = await sampleProcess(base);
    load = new LoadClient({
      baseUrl: () => base,
      token: operator,
      unit: mixedUnits(
        batchesOf((i) => streamAlert(fleet, executedAt, i), BATCH),
        (n) => duisAd1(fleet, n),
        DUIS_EVERY,
      ),
      alertsPerSecond: Number.POSITIVE_INFINITY,
      concurrency: CLIENTS,
      timeoutMs: 60_000,
    });
    const overloadStart = Date.now();
    load.start();
    const samples: ProcessSample[] = [];
    const sampling = (async () => {
      while (Date.now() - overloadStart < OVERLOAD_MS) {
        samples.push(await sampleProcess(base, 30_000));
        await sleep(500);
      }
    })();
    await sampling;
    const overloadAttempts = load.attempts.length;
    await load.drain(120_000);
    const drainedAt = Date.now();

    const s = store;
    await eventually(
      async () => {
        const p = await s.pending();
        return p.held === 0 && p.timers === 0 ? p : undefined;
      },
      30_000,
      'every held alert decided',
    );
    const verified = await store.verify(load.acknowledged);
    const streamProblems: string[] = [];
    for (const [i, distributorId] of DISTRIBUTORS.entries()) {
      await consumers[i]
        .waitForCount(verified.lastSequence[distributorId] ?? 0, 60_000)
        .catch(() => undefined); // a shortfall is reported below
      streamProblems.push(
        ...consumerProblems(distributorId, consumers[i].received, await store.outbox(distributorId)),
      );
    }

    const attempts = load.attempts.slice(0, overloadAttempts);
    const refused = attempts.filter((a) => a.outcome === 'OVERLOADED');
    const accepted = attempts.filter((a) => a.outcome === 'ok');
    const other = load.attempts.filter((a) => a.outcome !== 'ok' && a.outcome !== 'OVERLOADED');
    const rss = samples.map((x) => x.rssBytes);
    const heap = samples.map((x) => x.heapUsedBytes);
    const mb = (b: number) => Math.round(b / 1048576);
    const overloadSeconds = OVERLOAD_MS / 1000;
    const wroteOnRefusal = load.refusedThenAccepted.filter((r) => r.duplicates > 0);
    const refusedMs = latencySummary(refused.map((a) => a.ms));
    const acceptedMs = latencySummary(accepted.map((a) => a.ms));
    const alertsIn = (list: readonly Attempt[]) => list.reduce((n, a) => n + a.alerts, 0);

    report('overload', {
      fault: `overload: ${CLIENTS} clients sending ${BATCH}-alert batches (every ${DUIS_EVERY}th request one DUIS document) back to back for ${overloadSeconds} s`,
      load: `${attempts.length} requests in ${overloadSeconds} s (${(alertsIn(attempts) / overloadSeconds).toFixed(0)} alerts/s offered), ${accepted.length} accepted (${(alertsIn(accepted) / overloadSeconds).toFixed(0)} alerts/s), ${refused.length} refused`,
      lost: lostSummary({
        'store/ledger/outbox': verified.problems,
        'subscriber streams': streamProblems,
        'ID conflicts': load.conflicts,
        'refused batches that wrote': wroteOnRefusal.map((r) => `unit ${r.unit}`),
      }),
      durationSeconds: (Date.now() - began) / 1000,
      details: {
        attempts: load.outcomes(),
        refusedLatencyMs: refusedMs,
        acceptedLatencyMs: acceptedMs,
        rssMb: { baseline: mb(baseline.rssBytes), max: mb(Math.max(...rss)), last: mb(rss[rss.length - 1]) },
        heapUsedMb: {
          baseline: mb(baseline.heapUsedBytes),
          max: mb(Math.max(...heap)),
          last: mb(heap[heap.length - 1]),
        },
        samples: samples.length,
        heapSeriesMb: heap.map(mb),
        rssSeriesMb: rss.map(mb),
        drainSeconds: (drainedAt - overloadStart - OVERLOAD_MS) / 1000,
        refusedThenAccepted: load.refusedThenAccepted.length,
        storedAlerts: verified.alerts,
        received: consumers.map((c) => c.received.length),
        streamProblems: streamProblems.slice(0, 6),
        lastSequence: verified.lastSequence,
        serverWarnings: Servers.warnings(server).slice(-5),
        outcomes: verified.outcomes,
        messages: verified.messages,
      },
    });

    // The offered load really was more than the server takes: some batches were refused.
    expect(refused.length).toBeGreaterThan(0);
    // Each refusal, on either path: 503, a Retry-After, OVERLOADED, retryable; and fast.
    expect(new Set(refused.map((a) => a.via))).toEqual(new Set(['graphql', 'duis']));
    expect(
      refused.filter((a) => a.status !== 503 || a.retryAfterSeconds === undefined || a.retryable !== true),
    ).toEqual([]);
    expect(refusedMs.p99).toBeLessThan(3_000);
    // No other failure: no timeouts, no pool exhaustion passed off as UNAVAILABLE, no INTERNAL.
    expect(other).toEqual([]);
    // The accepted batches were not queued for long either.
    expect(acceptedMs.p99).toBeLessThan(10_000);
    // Memory stays bounded (heap used rises between major collections, then falls back).
    expect(Math.max(...heap) - baseline.heapUsedBytes).toBeLessThan(384 * 1048576);
    expect(Math.max(...rss)).toBeLessThan(768 * 1048576);
    // A refused batch wrote nothing: when the client retried it, none of its alerts was a duplicate.
    expect(load.refusedThenAccepted.length).toBeGreaterThan(0);
    expect(wroteOnRefusal).toEqual([]);
    // Nothing accepted is lost.
    expect(load.conflicts).toEqual([]);
    expect(verified.problems).toEqual([]);
    expect(streamProblems).toEqual([]);
    expect(verified.alerts).toBe(load.alertsSent);

    expect(await servers.stop(server)).toBe(0);
  }, 240_000);
});
