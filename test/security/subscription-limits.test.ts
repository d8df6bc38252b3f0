import { connected, eventually, startTestApp, subscribe } from '../support/app';
import type { TestApp } from '../support/app';
import type { Client as WsClient } from 'graphql-ws';
import { guid, mpan, ok } from '../support/integration';
import { BACKEND } from '../support/database';

/**
 * What one token can hold open over WebSocket, and what a crowd of readers costs ingest. A token
 * holds at most WS_MAX_CONNECTIONS_PER_TOKEN connections (default 4): the next is closed with
 * 4430 TOO_MANY_CONNECTIONS. A connection runs at most WS_MAX_SUBSCRIPTIONS_PER_CONNECTION
 * subscriptions (default 8): the next is refused with RATE_LIMITED, reason
 * TOO_MANY_SUBSCRIPTIONS. And 1,000 subscriptions replaying a DNO's backlog at once leave the
 * operator's ingest responsive: its median stays within idle + 100 ms (or 3x idle), where, before
 * replays were paced, it was 3.2 s. The bound is generous because other suites share the machine;
 * the ratio itself is measured by `npm run bench -- --only load` (docs/BENCHMARKS.md, section 7).
 */

const SUBSCRIPTION =
  'subscription ($after: String) { dnoAlerts(distributorId: "12", after: $after) { sequence kind alert { id outcome } } }';
const INGEST = 'mutation ($a: [AlertInput!]!) { ingestAlerts(alerts: $a) { alertId outcome } }';

/** The close event a refused connection gets, or undefined when it was acknowledged. */
async function closeOf(client: WsClient): Promise<{ code: number; reason: string } | undefined> {
  try {
    await connected(client);
    return undefined;
  } catch (event) {
    return event as { code: number; reason: string };
  }
}

describe('connections per token and subscriptions per connection (defaults)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.stop());

  test('a token holds 4 connections; the 5th is closed 4430 TOO_MANY_CONNECTIONS, and gets in once one closes', async () => {
    const token = await t.token({ role: 'ED', distributorIds: ['12'], subject: 'dno-12-consumer' });
    const held = [t.ws(token), t.ws(token), t.ws(token), t.ws(token)];
    for (const c of held) await connected(c);
    const fifth = await closeOf(t.ws(token));
    expect(fifth).toMatchObject({ code: 4430 });
    expect(fifth!.reason).toMatch(/^TOO_MANY_CONNECTIONS/);
    // Another token, even of the same DNO, is not affected.
    const other = await t.token({ role: 'ED', distributorIds: ['12'], subject: 'dno-12-other' });
    expect(await closeOf(t.ws(other))).toBeUndefined();
    await held[0].dispose();
    const again = await eventually(
      async () => ((await closeOf(t.ws(token))) ? undefined : true),
      10_000,
      'a place',
    );
    expect(again).toBe(true);
  });

  test('a connection runs 8 subscriptions; the 9th is refused RATE_LIMITED TOO_MANY_SUBSCRIPTIONS, and runs once one ends', async () => {
    const token = await t.token({ role: 'ED', distributorIds: ['12'], subject: 'dno-12-many' });
    const client = t.ws(token);
    await connected(client);
    // Nine at once: whichever reaches the check last is refused, the other eight run.
    const subs = Array.from({ length: 9 }, () => subscribe(client, SUBSCRIPTION, { after: '0' }));
    const refused = await eventually(
      async () => {
        const errored = subs.filter((s) => s.error !== undefined);
        return errored.length > 0 ? errored : undefined;
      },
      10_000,
      'the refusal',
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(subs.filter((s) => s.error !== undefined)).toEqual(refused);
    expect(refused).toHaveLength(1);
    expect(refused[0].error).toEqual([
      expect.objectContaining({
        extensions: expect.objectContaining({
          code: 'RATE_LIMITED',
          reason: 'TOO_MANY_SUBSCRIPTIONS',
          limit: 8,
        }),
      }),
    ]);
    subs.find((s) => s.error === undefined)!.dispose();
    const tenth = subscribe(client, SUBSCRIPTION, { after: '0' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(tenth.error).toBeUndefined();
  });
});

describe('1,000 subscriptions catching up leave ingest responsive', () => {
  let t: TestApp;
  let operator: string;
  let next = 0;
  /** One AD1 of a premises with no activation, routed to `dno`: delivered at once. */
  const ad1 = (dno: number) => {
    next += 1;
    return {
      powerOutage: {
        commsHubGuid: guid('5B-00-00-00-00-00', next),
        startAt: new Date().toISOString(),
        mpan: mpan(dno, 20_000 + next),
      },
    };
  };
  /** Acknowledgement time of one single-alert ingest. */
  const ingestOnce = async (dno: number) => {
    const started = performance.now();
    ok((await t.gql(INGEST, { a: [ad1(dno)] }, operator)).body);
    return performance.now() - started;
  };
  const median = (times: number[]) => [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)];
  /** Median acknowledgement time of `n` single-alert ingests, one after another. */
  const ingestMedian = async (n: number, dno: number) => {
    const times: number[] = [];
    for (let i = 0; i < n; i++) times.push(await ingestOnce(dno));
    return median(times);
  };

  beforeAll(async () => {
    // 1,000 subscriptions over 5 tokens: 20 connections of 50 (the per-connection limit raised).
    t = await startTestApp({
      WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: '50',
      RATE_LIMIT_QUERIES_PER_MINUTE: '0',
      RATE_LIMIT_MUTATIONS_PER_MINUTE: '0',
    });
    operator = await t.token({ role: 'OPERATOR' });
  });
  afterAll(() => t?.stop());

  test('ingest p50 under 1,000 catching-up subscriptions stays within idle + 100 ms on PostgreSQL (or 3x idle)', async () => {
    // A backlog on DNO 12's stream for every subscriber to replay from the start.
    const BACKLOG = 50;
    for (let i = 0; i < BACKLOG; i += 10) {
      ok((await t.gql(INGEST, { a: Array.from({ length: 10 }, () => ad1(12)) }, operator)).body);
    }
    await ingestMedian(5, 13); // warm-up
    const idleBefore = await ingestMedian(30, 13);

    const clients: WsClient[] = [];
    for (let k = 0; k < 5; k++) {
      const token = await t.token({ role: 'ED', distributorIds: ['12'], subject: `dno-12-reader-${k}` });
      for (let c = 0; c < 4; c++) clients.push(t.ws(token));
    }
    await Promise.all(clients.map((c) => connected(c)));
    const subs = clients.flatMap((c) =>
      Array.from({ length: 50 }, () => subscribe(c, SUBSCRIPTION, { after: '0' })),
    );
    expect(subs.length).toBe(1000);
    // Ingest, one alert after another, for as long as the storm lasts (to another DNO: the
    // readers' stream does not grow meanwhile).
    let caughtUp = false;
    const storm = eventually(
      async () => (subs.every((s) => s.events.length >= BACKLOG) ? true : undefined),
      120_000,
      'every subscriber caught up',
    ).then(() => (caughtUp = true));
    const times: number[] = [];
    while (!caughtUp) times.push(await ingestOnce(13));
    await storm;
    expect(subs.every((s) => s.error === undefined)).toBe(true);
    const loaded = median(times);
    // Idle again, once every subscriber is at the head: the machine's other work may have changed
    // since the first measurement, and the storm is compared with the slower of the two.
    const idleAfter = await ingestMedian(30, 13);
    const idle = Math.max(idleBefore, idleAfter);
    console.log(
      `ingest p50 idle ${idleBefore.toFixed(1)} / ${idleAfter.toFixed(1)} ms (before / after); under 1,000 subscriptions catching up ${loaded.toFixed(1)} ms (${times.length} ingests)`,
    );
    expect(times.length).toBeGreaterThanOrEqual(10);
    // On PostgreSQL the readers' catch-up reads wait for their share of the pool while ingest keeps
    // its own: the production guarantee, held tight. The embedded PGlite answers every query on
    // the server's own thread, so a thousand replays take CPU from ingest by construction (CI saw
    // 131 ms against 24 ms idle); there the test holds ingest to a bound that still catches a
    // stall, not to the pool's guarantee.
    const slack = BACKEND === 'postgres' ? 100 : 250;
    expect(loaded).toBeLessThanOrEqual(Math.max(3 * idle, idle + slack));
  }, 240_000);
});
