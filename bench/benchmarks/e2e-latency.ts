import { fork } from 'node:child_process';
import path from 'node:path';
import { createClient } from 'graphql-ws';
import type { Client } from 'graphql-ws';
import WebSocket from 'ws';
import { INGEST, gql, token } from '../lib/api';
import type { Ack } from '../lib/api';
import { databaseChecks } from '../lib/checks';
import { ad1, buildInventory, seedInventory } from '../lib/fixtures';
import type { Pair } from '../lib/fixtures';
import { check, withServer } from '../lib/harness';
import type { BenchResult, Check, Figure } from '../lib/report';
import type { CommonOptions } from '../lib/harness';
import {
  loadAverage,
  median,
  nowMs,
  percentile,
  postgresCpuSeconds,
  processCpuSeconds,
  progress,
  round,
  sleep,
} from '../lib/util';

export interface E2eOptions extends CommonOptions {
  readonly pairs: number;
  readonly subscribers: number;
  readonly distributors: readonly string[];
  readonly steadyRate: number;
  readonly steadySeconds: number;
  readonly steadyRepetitions: number;
  readonly stormRate: number;
  readonly stormSeconds: number;
  /**
   * When set, a correctness check: the steady ack -> message p99 must stay under this. The smoke
   * run sets a generous bound, so that CI notices delivery that falls behind (2026-12: 24 s p99
   * at 1k/s went unnoticed) without failing on a merely busy machine.
   */
  readonly steadyP99BoundMs?: number;
  /** Every storm delivery must have arrived within this many seconds of the last acknowledgement. */
  readonly stormDrainBoundSeconds: number;
  readonly smoke: boolean;
}

interface Received {
  errors: unknown[];
  ids: string[];
  sequences: bigint[];
  at: number[];
}

interface Subscriber {
  readonly dno: string;
  readonly got: Received;
  readonly client: Client;
}

const SUBSCRIPTION =
  'subscription ($after: String) { dnoAlerts(after: $after) { sequence kind alert { id } } }';

async function subscribe(wsUrl: string, dno: string): Promise<Subscriber> {
  const bearer = await token({ role: 'ED', distributorIds: [dno], subject: `bench-dno-${dno}` });
  const got: Received = { errors: [], ids: [], sequences: [], at: [] };
  const client = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${bearer}` },
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => undefined,
  });
  await new Promise<void>((resolve, reject) => {
    client.on('connected', () => resolve());
    client.on('closed', (e) => reject(new Error(`subscriber closed: ${JSON.stringify(e)}`)));
  });
  client.subscribe<{ dnoAlerts: { sequence: string; kind: string; alert: { id: string } } }>(
    { query: SUBSCRIPTION, variables: { after: '0' } },
    {
      next: (value) => {
        const at = nowMs();
        if (value.errors?.length) got.errors.push(value.errors);
        const m = value.data?.dnoAlerts;
        if (!m) return;
        got.ids.push(m.alert.id);
        got.sequences.push(BigInt(m.sequence));
        got.at.push(at);
      },
      error: (e) => got.errors.push(e),
      complete: () => undefined,
    },
  );
  return { dno, got, client };
}

interface Accepted {
  readonly dno: string;
  readonly sentAt: number;
  readonly ackAt: number;
  readonly phase: string;
}

/**
 * Open-loop load: every 10 ms, sends what the target rate says is due, in one ingestAlerts
 * batch (at most `maxBatch` alerts, at most `maxInFlight` requests at once). Stops sending at
 * the end of the period even when behind: the achieved rate is what was accepted.
 */
async function drive(
  url: string,
  operator: string,
  rate: number,
  seconds: number,
  next: () => { alert: unknown; dno: string },
  accepted: Map<string, Accepted>,
  phase: string,
): Promise<{ sent: number; seconds: number; errors: number }> {
  const total = Math.round(rate * seconds);
  const maxInFlight = 8;
  const maxBatch = 500;
  let queued = 0;
  let inFlight = 0;
  let errors = 0;
  const pending: Promise<void>[] = [];
  const t0 = nowMs();
  const end = t0 + seconds * 1000;
  while (nowMs() < end && queued < total) {
    const due = Math.min(total, Math.floor(((nowMs() - t0) / 1000) * rate));
    while (queued < due && inFlight < maxInFlight) {
      const n = Math.min(maxBatch, due - queued);
      queued += n;
      inFlight++;
      const batch = Array.from({ length: n }, next);
      const sentAt = nowMs();
      pending.push(
        gql<{ ingestAlerts: Ack[] }>(url, INGEST, { a: batch.map((b) => b.alert) }, operator, 60_000)
          .then((res) => {
            const ackAt = nowMs();
            res.ingestAlerts.forEach((r, i) =>
              accepted.set(r.alertId, { dno: batch[i].dno, sentAt, ackAt, phase }),
            );
          })
          .catch(() => {
            errors += n;
          })
          .finally(() => inFlight--),
      );
    }
    await sleep(10);
  }
  await Promise.all(pending);
  return { sent: queued, seconds: (nowMs() - t0) / 1000, errors };
}

/** Waits until every subscriber has every accepted alert of its DNO (or the timeout). */
async function drain(subscribers: readonly Subscriber[], accepted: Map<string, Accepted>, timeoutMs: number) {
  const expected = new Map<string, number>();
  for (const a of accepted.values()) expected.set(a.dno, (expected.get(a.dno) ?? 0) + 1);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (subscribers.every((s) => s.got.ids.length >= (expected.get(s.dno) ?? 0))) return true;
    await sleep(20);
  }
  return false;
}

function latencies(subscribers: readonly Subscriber[], accepted: Map<string, Accepted>, phase: string) {
  const fromAck: number[] = [];
  const fromSend: number[] = [];
  let beforeAck = 0;
  for (const s of subscribers) {
    s.got.ids.forEach((id, i) => {
      const a = accepted.get(id);
      if (!a || a.phase !== phase) return;
      const d = s.got.at[i] - a.ackAt;
      if (d < 0) beforeAck++;
      fromAck.push(Math.max(0, d));
      fromSend.push(s.got.at[i] - a.sentAt);
    });
  }
  return { fromAck, fromSend, beforeAck };
}

/** The raw ws baseline at a rate, to as many clients per DNO; latency from send to receive. */
async function wsBaseline(subscribersPerDno: Map<string, number>, rate: number, seconds: number) {
  const child = fork(path.join(__dirname, '..', 'ws-baseline-server.ts'), [], {
    execArgv: ['-r', 'ts-node/register'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (m: { port: number }) => resolve(m.port));
      child.once('exit', (code) => reject(new Error(`ws baseline exited ${code}`)));
    });
    const samples: number[] = [];
    let received = 0;
    const sockets: WebSocket[] = [];
    for (const [dno, count] of subscribersPerDno) {
      for (let i = 0; i < count; i++) {
        const socket = new WebSocket(`ws://127.0.0.1:${port}/?dno=${dno}`);
        socket.on('message', (data) => {
          const at = nowMs();
          const m = JSON.parse(data.toString()) as {
            payload: { data: { dnoAlerts: { alert: { id: string } } } };
          };
          samples.push(at - Number(BigInt(m.payload.data.dnoAlerts.alert.id)) / 1e6);
          received++;
        });
        await new Promise<void>((resolve, reject) => {
          socket.once('open', () => resolve());
          socket.once('error', reject);
        });
        sockets.push(socket);
      }
    }
    await sleep(200);
    const dnos = [...subscribersPerDno.keys()];
    const done = new Promise<{ sent: number; seconds: number }>((resolve) =>
      child.on('message', (m: { type: string; sent: number; seconds: number }) => {
        if (m.type === 'done') resolve(m);
      }),
    );
    child.send({ type: 'run', plan: { rate, seconds, dnos } });
    const { sent, seconds: took } = await done;
    const expected = [...Array(sent).keys()].reduce(
      (n, j) => n + subscribersPerDno.get(dnos[j % dnos.length])!,
      0,
    );
    const deadline = Date.now() + 60_000;
    while (received < expected && Date.now() < deadline) await sleep(20);
    sockets.forEach((s) => s.close());
    return { samples, sent, rate: sent / took, received, expected };
  } finally {
    child.send({ type: 'stop' });
    await new Promise((r) => child.once('exit', r));
  }
}

export async function e2eLatency(options: E2eOptions): Promise<BenchResult> {
  const started = Date.now();
  const loadBefore = loadAverage();
  return withServer(options, 'end-to-end latency', async (db, server) => {
    const inventory = buildInventory(options.pairs, options.distributors, 0);
    progress(`e2e: seeding ${options.pairs} pairs over ${options.distributors.length} DNOs`);
    await seedInventory(server.url, db.pool, inventory, { activate: false });
    const operator = await token({ role: 'OPERATOR' });
    const subscribers: Subscriber[] = [];
    for (let i = 0; i < options.subscribers; i++) {
      subscribers.push(await subscribe(server.wsUrl, options.distributors[i % options.distributors.length]));
    }
    const perDno = new Map<string, number>();
    for (const s of subscribers) perDno.set(s.dno, (perDno.get(s.dno) ?? 0) + 1);

    // Each pair's AD1s get increasing, distinct start instants just before now.
    const lastStart = new Map<number, number>();
    let cursor = 0;
    const next = (): { alert: unknown; dno: string } => {
      const pair: Pair = inventory.pairs[cursor++ % inventory.pairs.length];
      const start = Math.max(Date.now() - 2_000, (lastStart.get(pair.index) ?? 0) + 1);
      lastStart.set(pair.index, start);
      return { alert: ad1(pair, new Date(start)), dno: pair.distributorId };
    };
    const accepted = new Map<string, Accepted>();

    // Warm-up: one alert per DNO, until every subscriber has it (its subscription is live).
    progress('e2e: warming up the subscriptions');
    await drive(
      server.url,
      operator,
      1000,
      options.distributors.length / 1000 + 0.05,
      next,
      accepted,
      'warm-up',
    );
    if (!(await drain(subscribers, accepted, 30_000))) {
      const errors = subscribers.flatMap((s) => s.got.errors);
      const counts = subscribers.map((s) => s.got.ids.length).join(',');
      throw new Error(
        `subscribers did not receive the warm-up (${accepted.size} accepted; received ${counts}): ${JSON.stringify(errors).slice(0, 500)}`,
      );
    }

    const figures: Figure[] = [];
    const notes: string[] = [];
    const real = options.backend === 'postgres' && !options.smoke;
    // Steady: service and raw ws interleaved, A-B-A-B.
    const steady = { fromAck: [] as number[], fromSend: [] as number[], beforeAck: 0, rates: [] as number[] };
    /** CPU milliseconds per accepted alert, of the server and of PostgreSQL, per repetition. */
    const cpu = { server: [] as number[], postgres: [] as number[] };
    const steadyWs: number[] = [];
    let steadyDrained = true;
    for (let rep = 0; rep < options.steadyRepetitions; rep++) {
      const phase = `steady-${rep}`;
      const cpuBefore = { server: processCpuSeconds(server.child.pid!), postgres: postgresCpuSeconds() };
      const run = await drive(
        server.url,
        operator,
        options.steadyRate,
        options.steadySeconds,
        next,
        accepted,
        phase,
      );
      steadyDrained = (await drain(subscribers, accepted, 60_000)) && steadyDrained;
      const alerts = [...accepted.values()].filter((a) => a.phase === phase).length;
      cpu.server.push(((processCpuSeconds(server.child.pid!) - cpuBefore.server) * 1000) / alerts);
      cpu.postgres.push(((postgresCpuSeconds() - cpuBefore.postgres) * 1000) / alerts);
      const l = latencies(subscribers, accepted, phase);
      steady.fromAck.push(...l.fromAck);
      steady.fromSend.push(...l.fromSend);
      steady.beforeAck += l.beforeAck;
      steady.rates.push(run.sent / run.seconds);
      progress(
        `e2e steady rep ${rep + 1}: ${round(run.sent / run.seconds)} alerts/s, p99 ${round(percentile(l.fromAck, 99))} ms`,
      );
      const ws = await wsBaseline(perDno, options.steadyRate, options.steadySeconds);
      steadyWs.push(...ws.samples);
      progress(`e2e steady rep ${rep + 1}: raw ws p99 ${round(percentile(ws.samples, 99))} ms`);
    }
    const sp50 = percentile(steady.fromAck, 50);
    const sp99 = percentile(steady.fromAck, 99);
    const wp50 = percentile(steadyWs, 50);
    const wp99 = percentile(steadyWs, 99);
    const steadyRate = median(steady.rates);
    figures.push(
      {
        name: `steady: accepted rate (target ${options.steadyRate}/s for ${options.steadySeconds} s)`,
        value: steadyRate,
        unit: 'alerts/s',
        target: `${options.steadyRate}/s sustained`,
        met: real ? steadyRate >= options.steadyRate * 0.95 : null,
      },
      {
        name: `steady (target ${options.steadyRate}/s, ${options.subscribers} subscribers): ack -> message p50`,
        value: sp50,
        unit: 'ms',
        baseline: { name: 'raw ws broadcast p50', value: wp50, unit: 'ms' },
        ratio: sp50 / wp50,
        target: '< 25 ms',
        met: real ? sp50 < 25 : null,
      },
      {
        name: `steady (target ${options.steadyRate}/s, ${options.subscribers} subscribers): ack -> message p99`,
        value: sp99,
        unit: 'ms',
        baseline: { name: 'raw ws broadcast p99', value: wp99, unit: 'ms' },
        ratio: sp99 / wp99,
        target: '< 100 ms',
        met: real ? sp99 < 100 : null,
      },
    );
    notes.push(
      `steady: achieved ${steady.rates.map((r) => round(r)).join(', ')} alerts/s; send -> message p50/p99 ` +
        `${round(percentile(steady.fromSend, 50))}/${round(percentile(steady.fromSend, 99))} ms; ` +
        `${steady.beforeAck} of ${steady.fromAck.length} deliveries arrived before the HTTP acknowledgement (counted as 0 ms); ` +
        `CPU per alert (ingested and delivered to ${options.subscribers / options.distributors.length} subscribers): ` +
        `server ${cpu.server.map((v) => round(v, 2)).join(', ')} ms, PostgreSQL ${cpu.postgres.map((v) => round(v, 2)).join(', ')} ms`,
    );

    // Storm: service, then raw ws at the same rate.
    progress(`e2e: storm at ${options.stormRate}/s for ${options.stormSeconds} s`);
    const storm = await drive(
      server.url,
      operator,
      options.stormRate,
      options.stormSeconds,
      next,
      accepted,
      'storm',
    );
    const stormDrainStart = nowMs();
    const stormDrained = await drain(subscribers, accepted, options.stormDrainBoundSeconds * 1000);
    const drainSeconds = (nowMs() - stormDrainStart) / 1000;
    const l = latencies(subscribers, accepted, 'storm');
    const stormAccepted = [...accepted.values()].filter((a) => a.phase === 'storm').length;
    const stormRate = stormAccepted / storm.seconds;
    const ws = await wsBaseline(perDno, options.stormRate, options.stormSeconds);
    const stp99 = percentile(l.fromAck, 99);
    figures.push(
      {
        name: `storm: accepted rate (target ${options.stormRate}/s for ${options.stormSeconds} s)`,
        value: stormRate,
        unit: 'alerts/s',
        baseline: { name: 'raw ws broadcast rate', value: ws.rate, unit: 'msgs/s' },
        ratio: stormRate / ws.rate,
        target: `${options.stormRate}/s sustained`,
        met: real ? stormRate >= options.stormRate * 0.95 : null,
      },
      {
        name: 'storm: ack -> message p99',
        value: stp99,
        unit: 'ms',
        baseline: { name: 'raw ws broadcast p99', value: percentile(ws.samples, 99), unit: 'ms' },
        ratio: stp99 / percentile(ws.samples, 99),
        target: '< 1000 ms',
        met: real ? stp99 < 1000 : null,
      },
    );
    notes.push(
      `storm: ${storm.sent} alerts sent, ${stormAccepted} accepted, ${storm.errors} failed, in ${round(storm.seconds)} s; ` +
        `drained in ${round(drainSeconds)} s after the last acknowledgement; ack -> message p50 ${round(percentile(l.fromAck, 50))} ms; ` +
        `raw ws: ${ws.received}/${ws.expected} messages received, p50 ${round(percentile(ws.samples, 50))} ms`,
    );

    // Exactly once, per subscriber: every accepted alert of its DNO, no duplicate, contiguous sequences.
    const checks: Check[] = [];
    const byDno = new Map<string, Set<string>>();
    for (const [id, a] of accepted) {
      const set = byDno.get(a.dno) ?? new Set<string>();
      set.add(id);
      byDno.set(a.dno, set);
    }
    let duplicates = 0;
    let lost = 0;
    let foreign = 0;
    let gaps = 0;
    for (const s of subscribers) {
      const want = byDno.get(s.dno) ?? new Set<string>();
      const seen = new Set<string>();
      for (const id of s.got.ids) {
        if (seen.has(id)) duplicates++;
        seen.add(id);
        if (!want.has(id)) foreign++;
      }
      for (const id of want) if (!seen.has(id)) lost++;
      s.got.sequences.forEach((q, i) => {
        if (q !== BigInt(i + 1)) gaps++;
      });
    }
    checks.push(
      check(
        `storm drained within ${options.stormDrainBoundSeconds} s of its last acknowledgement, steady within 60 s`,
        stormDrained && steadyDrained,
        `drained: steady ${steadyDrained}, storm ${stormDrained} (${round(drainSeconds)} s)`,
      ),
      check('no alert lost (per subscriber)', lost === 0, `${lost} (alert, subscriber) deliveries missing`),
      check('no alert duplicated (per subscriber)', duplicates === 0, `${duplicates} duplicates`),
      check('no message of another DNO or unacknowledged', foreign === 0, `${foreign} unexpected messages`),
      check('sequences contiguous from 1', gaps === 0, `${gaps} out-of-place sequences`),
    );
    if (options.steadyP99BoundMs !== undefined) {
      checks.push(
        check(
          `steady ack -> message p99 under ${options.steadyP99BoundMs} ms`,
          sp99 < options.steadyP99BoundMs,
          `${round(sp99)} ms`,
        ),
      );
    }
    await Promise.all(subscribers.map((s) => s.client.dispose()));
    // PGlite is one backend: a check sent while the server's timer poll or outbox reads run would
    // interleave with them ("bind message supplies 1 parameters, but prepared statement requires
    // 3", seen after the storm). The server has done its part: stop it first.
    if (options.backend === 'pglite') await server.stop();
    checks.push(...(await databaseChecks(db.pool, accepted.size, [...accepted.keys()])));
    return {
      id: 'e2e-latency',
      title: '3. End-to-end latency',
      figures,
      checks,
      notes: [
        `${options.pairs} pairs, ${options.subscribers} graphql-ws subscribers over ${options.distributors.length} DNOs ` +
          `(each AD1 goes to the ${options.subscribers / options.distributors.length} subscribers of its DNO); ` +
          `latency = message received - HTTP response received; baseline = a raw ws server (own process) broadcasting the same message shape to as many clients at the same rate, send -> receive.`,
        ...notes,
      ],
      load: { before: loadBefore, after: loadAverage() },
      seconds: (Date.now() - started) / 1000,
    };
  });
}
