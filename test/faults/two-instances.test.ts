import { eventually } from '../support/app';
import { ResilientConsumer, freePort } from '../support/consumer';
import { createTestDatabase } from '../support/database';
import type { TestDatabase } from '../support/database';
import type { ServerProcess } from '../support/process';
import { token } from './support/api';
import { Store, consumerProblems } from './support/checks';
import { FAULT_ENGINE_ENV, SUPPLIER, makeFleet, seedFleet, streamAlert } from './support/fleet';
import { LoadClient, latencySummary } from './support/load';
import type { Unit } from './support/load';
import { lostSummary, report } from './support/report';
import { Servers } from './support/servers';

/**
 * Two server processes on one database compete for the same held alerts and timers: both
 * schedulers poll every 50 ms, ingest goes to both, and a third of the batches is sent to both
 * instances at the same time (a sender that double-delivers). Each alert must be decided once:
 * one timer decision at most, no final decision recorded twice, no duplicate DNO message, the
 * same alert ID from either instance, and every hold decided on time.
 */

const BATCH = 20;
const TARGET_ACKS = 4_000;
const DISTRIBUTORS = ['12', '14'];

describe('fault: two instances share the held alerts and timers', () => {
  let db: TestDatabase | undefined;
  let store: Store | undefined;
  let servers: Servers | undefined;
  const loads: LoadClient[] = [];
  const consumers: ResilientConsumer[] = [];

  afterAll(async () => {
    for (const load of loads) load.abandon();
    await Promise.all(consumers.map((c) => c.stop()));
    await servers?.killAll();
    await store?.close();
    await db?.drop();
  });

  test('each alert decided once, no duplicate message, holds decided on time', async () => {
    const began = Date.now();
    db = await createTestDatabase('postgres');
    store = await Store.open(db.url);
    servers = new Servers({ DATABASE_URL: db.url, ...FAULT_ENGINE_ENV, SCHEDULER_POLL_MS: '50' });
    const ports = [await freePort(), await freePort()];
    const instances: ServerProcess[] = await Promise.all(ports.map((p) => servers!.start(p)));
    const bases = ports.map((p) => `http://127.0.0.1:${p}`);

    const operator = await token({ subject: 'dsp', role: 'OPERATOR' });
    const supplier = await token({ subject: 'supplier', role: 'IS', supplierId: SUPPLIER });
    const fleet = makeFleet('FC', { affected: 300, plain: 100 }, DISTRIBUTORS);
    const executedAt = await seedFleet(bases[0], fleet, { operator, supplier });

    // Each DNO listens on the instance that ingests less of its traffic: wake-ups cross instances.
    for (const [i, distributorId] of DISTRIBUTORS.entries()) {
      const dno = await token({
        subject: `dno${distributorId}`,
        role: 'ED',
        distributorIds: [distributorId],
      });
      const consumer = new ResilientConsumer(() => `ws://127.0.0.1:${ports[(i + 1) % 2]}/graphql`, dno, '0');
      consumer.start();
      consumers.push(consumer);
    }

    // Batches g = 0, 1, 2, ... of one stream: g % 3 == 0 to instance A, 1 to B, 2 to both at once.
    const batch = (g: number): Unit => ({
      via: 'graphql',
      alerts: Array.from({ length: BATCH }, (_, j) => streamAlert(fleet, executedAt, g * BATCH + j)),
    });
    const client = (base: string, slot: number) =>
      new LoadClient({
        baseUrl: () => base,
        token: operator,
        unit: (k) => batch(3 * k + slot),
        alertsPerSecond: 80,
        concurrency: 3,
        timeoutMs: 10_000,
      });
    loads.push(client(bases[0], 0), client(bases[1], 1), client(bases[0], 2), client(bases[1], 2));
    for (const load of loads) load.start();
    const acknowledged = () => new Set(loads.flatMap((l) => [...l.acknowledged.keys()])).size;
    await eventually(
      async () => (acknowledged() >= TARGET_ACKS ? true : undefined),
      90_000,
      `${TARGET_ACKS} alerts acknowledged`,
    );
    await Promise.all(loads.map((l) => l.drain(60_000)));
    const loadSeconds = (Date.now() - began) / 1000;

    const s = store;
    await eventually(
      async () => {
        const p = await s.pending();
        return p.held === 0 && p.timers === 0 ? p : undefined;
      },
      30_000,
      'every held alert decided',
    );

    // One ID per key, whichever instance answered (and whether or not the other answered too).
    const merged = new Map<string, string>();
    const conflicts = loads.flatMap((l) => l.conflicts);
    for (const load of loads) {
      for (const [key, id] of load.acknowledged) {
        const known = merged.get(key);
        if (known !== undefined && known !== id) conflicts.push(`${key}: ${known} and ${id}`);
        merged.set(key, id);
      }
    }
    const verified = await store.verify(merged);
    const streamProblems: string[] = [];
    for (const [i, distributorId] of DISTRIBUTORS.entries()) {
      await consumers[i]
        .waitForCount(verified.lastSequence[distributorId] ?? 0, 30_000)
        .catch(() => undefined); // a shortfall is reported below
      streamProblems.push(
        ...consumerProblems(distributorId, consumers[i].received, await store.outbox(distributorId)),
      );
    }
    const duplicateMessages = (
      await store.query<{ alert_id: string; kind: string; n: number }>(
        `SELECT alert_id::text AS alert_id, kind, count(*)::int AS n FROM dno_outbox GROUP BY alert_id, kind HAVING count(*) > 1`,
      )
    ).map((r) => `${r.alert_id} ${r.kind} x${r.n}`);
    // How late each timer decision came after the due time it answered.
    const lateness = (
      await store.query<{ ms: number }>(
        `SELECT extract(epoch FROM (d.decided_at - h.due_at)) * 1000 AS ms
           FROM alert_decision d
           JOIN alert_decision h ON h.alert_id = d.alert_id AND h.revision = d.revision - 1
          WHERE d.trigger = 'TIMER'`,
      )
    ).map((r) => Number(r.ms));
    const timerDecisions = lateness.length;
    const bothAnswered = loads[2].acknowledged.size;

    report('two-instances', {
      fault:
        'two server processes on one database competing for held alerts and timers (schedulers polling every 50 ms)',
      load: `${merged.size} alerts over ${loadSeconds.toFixed(1)} s, ${bothAnswered} of them sent to both instances at once; ${timerDecisions} timer decisions`,
      lost: lostSummary({
        'store/ledger/outbox': verified.problems,
        'duplicate messages': duplicateMessages,
        'subscriber streams': streamProblems,
        'ID conflicts': conflicts,
      }),
      durationSeconds: (Date.now() - began) / 1000,
      details: {
        attempts: Object.fromEntries(loads.map((l, i) => [`client${i}`, l.outcomes()])),
        timerLatenessMs: latencySummary(lateness),
        outcomes: verified.outcomes,
        messages: verified.messages,
        lastSequence: verified.lastSequence,
      },
    });

    expect(conflicts).toEqual([]);
    expect(verified.problems).toEqual([]);
    expect(duplicateMessages).toEqual([]);
    expect(streamProblems).toEqual([]);
    expect(timerDecisions).toBeGreaterThan(500);
    // Every hold was decided within a few poll periods of its due time, even on a busy machine.
    expect(Math.max(...lateness)).toBeLessThan(5_000);
    // No request failed, except batches refused by an instance's ingest gate (retried, as told).
    const failed = loads.flatMap((l) => l.attempts.filter((a) => a.outcome !== 'ok'));
    expect(failed.filter((a) => a.outcome !== 'OVERLOADED' || a.retryable !== true)).toEqual([]);

    for (const instance of instances) expect(await servers.stop(instance)).toBe(0);
  }, 200_000);
});
