import { eventually } from '../support/app';
import { freePort } from '../support/consumer';
import type { ResilientConsumer } from '../support/consumer';
import { createTestDatabase } from '../support/database';
import type { TestDatabase } from '../support/database';
import { Store, consumerProblems } from './support/checks';
import { FAULT_ENGINE_ENV, makeFleet, prepareRun, streamAlert } from './support/fleet';
import { LoadClient, batchesOf, latencySummary } from './support/load';
import { lostSummary, report } from './support/report';
import { Servers } from './support/servers';

/**
 * Crash during a storm: a load client ingests a steady stream of alert batches and retries every
 * batch until it is acknowledged, while the server process is SIGKILLed and restarted several
 * times. Afterwards every acknowledged alert is stored once, every hold has been decided, and
 * each DNO's reconnecting subscriber has received its whole outbox, in order, once.
 */

const KILLS = 4;
/** Alerts acknowledged between two kills (and after the last restart): the server really works in between. */
const ACKS_BETWEEN_KILLS = 1_200;
const RATE = 300;
const BATCH = 20;
const DISTRIBUTORS = ['12', '14', '16'];

describe('fault: SIGKILL during an ingest storm', () => {
  let db: TestDatabase | undefined;
  let store: Store | undefined;
  let load: LoadClient | undefined;
  const consumers: ResilientConsumer[] = [];
  let servers: Servers | undefined;

  afterAll(async () => {
    load?.abandon();
    await Promise.all(consumers.map((c) => c.stop()));
    await servers?.killAll();
    await store?.close();
    await db?.drop();
  });

  test('every acknowledged alert stored once, every hold decided, every subscriber complete and in order', async () => {
    const began = Date.now();
    db = await createTestDatabase('postgres');
    store = await Store.open(db.url);
    servers = new Servers({ DATABASE_URL: db.url, ...FAULT_ENGINE_ENV });
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    let server = await servers.start(port);

    const run = await prepareRun(
      port,
      makeFleet('FA', { affected: 300, plain: 200 }, DISTRIBUTORS),
      DISTRIBUTORS,
    );
    consumers.push(...run.consumers);
    const { operator, fleet, executedAt } = run;

    load = new LoadClient({
      baseUrl: () => base,
      token: operator,
      unit: batchesOf((i) => streamAlert(fleet, executedAt, i), BATCH),
      alertsPerSecond: RATE,
      concurrency: 4,
      timeoutMs: 5_000,
    });
    const stormStart = Date.now();
    load.start();
    const kills: { atSeconds: number; inFlightBatches: number; acknowledged: number }[] = [];
    const client = load;
    for (let k = 0; k <= KILLS; k++) {
      const target = client.acknowledged.size + ACKS_BETWEEN_KILLS;
      await eventually(
        async () => (client.acknowledged.size >= target ? true : undefined),
        60_000,
        `${target} alerts acknowledged (have ${client.acknowledged.size})`,
      );
      if (k === KILLS) break;
      kills.push({
        atSeconds: (Date.now() - stormStart) / 1000,
        inFlightBatches: client.pending,
        acknowledged: client.acknowledged.size,
      });
      await servers.crash(server);
      server = await servers.start(port);
    }
    await load.drain(60_000);
    const stormSeconds = (Date.now() - stormStart) / 1000;

    // The scheduler decides every hold, including those that fell due while the server was dead.
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
    for (const [i, distributorId] of DISTRIBUTORS.entries()) {
      const last = verified.lastSequence[distributorId] ?? 0;
      await consumers[i].waitForCount(last, 30_000).catch(() => undefined); // a shortfall is reported below
    }
    const streamProblems: string[] = [];
    for (const [i, distributorId] of DISTRIBUTORS.entries()) {
      streamProblems.push(
        ...consumerProblems(distributorId, consumers[i].received, await store.outbox(distributorId)),
      );
    }

    const outcomes = load.outcomes();
    const okLatencies = load.attempts.filter((a) => a.outcome === 'ok').map((a) => a.ms);
    report('crash-storm', {
      fault: `SIGKILL x${KILLS} during an ingest storm, restarted on the same port`,
      load: `${load.alertsSent} alerts in batches of ${BATCH} at ${RATE}/s target (${(load.alertsSent / stormSeconds).toFixed(0)}/s achieved over ${stormSeconds.toFixed(1)} s), 4 in flight, ${DISTRIBUTORS.length} DNO subscribers`,
      lost: lostSummary({
        'store/ledger/outbox': verified.problems,
        'subscriber streams': streamProblems,
        'ID conflicts': load.conflicts,
      }),
      durationSeconds: (Date.now() - began) / 1000,
      details: {
        kills,
        attempts: outcomes,
        acknowledgedAlerts: load.acknowledged.size,
        storedAlerts: verified.alerts,
        outcomes: verified.outcomes,
        messages: verified.messages,
        lastSequence: verified.lastSequence,
        received: Object.fromEntries(DISTRIBUTORS.map((d, i) => [d, consumers[i].received.length])),
        ackLatencyMs: latencySummary(okLatencies),
      },
    });

    expect(kills).toHaveLength(KILLS);
    expect(load.conflicts).toEqual([]);
    expect(verified.problems).toEqual([]);
    expect(streamProblems).toEqual([]);
    expect(verified.alerts).toBe(load.alertsSent);
    // Only the failures a crash causes: refused or dropped connections, never an error answer.
    expect(Object.keys(outcomes).filter((o) => !['ok', 'network', 'timeout'].includes(o))).toEqual([]);
    // The storm exercised every path: holds suppressed by the timer, releases, plain deliveries.
    expect(verified.outcomes['AD1/SUPPRESSED']).toBeGreaterThan(0);
    expect(verified.outcomes['AD1/RELEASED']).toBeGreaterThan(0);
    expect(verified.outcomes['AD1/DELIVERED']).toBeGreaterThan(0);

    expect(await servers.stop(server)).toBe(0);
  }, 200_000);
});
