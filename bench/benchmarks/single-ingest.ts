import { INGEST, gql, token } from '../lib/api';
import type { Ack } from '../lib/api';
import { BASELINE_MARK, databaseChecks, outcomeMix, removeBaselineCopies } from '../lib/checks';
import { ad1, buildInventory, seedInventory } from '../lib/fixtures';
import { withServer } from '../lib/harness';
import type { CommonOptions } from '../lib/harness';
import type { ActivitySampler } from '../lib/pg-activity';
import type { BenchResult } from '../lib/report';
import { statementsSent } from '../lib/metrics';
import {
  loadAverage,
  median,
  nowMs,
  percentile,
  postgresCpuSeconds,
  processCpuSeconds,
  progress,
  round,
  timedLoop,
} from '../lib/util';
import { readStoredRows } from './batched-ingest';

export interface SingleIngestOptions extends CommonOptions {
  readonly pairs: number;
  /** Alerts per repetition (one per mutation). */
  readonly alerts: number;
  /**
   * Requests at the start of each repetition that are not timed, on both sides: the clients
   * start together, so the first requests arrive as one burst and measure that, not the steady
   * state (their latency is reported apart).
   */
  readonly warmup: number;
  readonly repetitions: number;
  readonly concurrency: number;
  readonly smoke: boolean;
  /** Profiling: sampled around the service's timed phases only. */
  readonly sampler?: ActivitySampler;
}

const DNOS = ['10', '11', '12', '13', '14', '15', '16', '17'];

/**
 * One AD1 per ingestAlerts mutation from `concurrency` clients, against a plain single-row
 * INSERT of the same alert row (as the service stored it) at the same concurrency on a pg Pool.
 * Each side runs `warmup` requests first in the same closed loop, untimed, so the timed ones meet
 * the steady state; the first burst's latency (all clients at once) is reported apart.
 */
export async function singleIngest(options: SingleIngestOptions): Promise<BenchResult> {
  const started = Date.now();
  const loadBefore = loadAverage();
  return withServer(options, 'single ingest', async (db, server) => {
    const inventory = buildInventory(options.pairs, DNOS);
    progress(`single ingest: seeding ${options.pairs} pairs`);
    await seedInventory(server.url, db.pool, inventory, { activate: true });
    const operator = await token({ role: 'OPERATOR' });
    // A pool of exactly `concurrency` connections for the baseline.
    const baselineConnections = options.backend === 'pglite' ? 1 : options.concurrency;
    const { Pool } = await import('pg');
    // On PGlite (one backend) the baseline gets one connection, as the server does.
    const insertPool = new Pool({
      connectionString: db.url,
      max: baselineConnections,
    });

    const serviceRates: number[] = [];
    const insertRates: number[] = [];
    const latencies: number[] = [];
    const insertLatencies: number[] = [];
    /** Latency of the first `concurrency` requests of each repetition (sent at once): the burst. */
    const burst: number[] = [];
    const acked: string[] = [];
    const statementsPerAlert: number[] = [];
    /** CPU milliseconds per alert of the server and of PostgreSQL, service phases only. */
    const cpu = { server: [] as number[], postgres: [] as number[], client: [] as number[] };
    let sent = 0;
    try {
      for (let rep = 0; rep < options.repetitions; rep++) {
        const repStart = Date.now();
        const alerts = Array.from({ length: options.warmup + options.alerts }, (_, i) => {
          const pair = inventory.pairs[(i * 7919 + rep * 104729) % inventory.pairs.length];
          return ad1(pair, new Date(repStart - 60_000 + i));
        });
        const repAcks: string[] = [];
        const statementsBefore = await statementsSent(server.url);
        await options.sampler?.resume();
        const cpuBefore = {
          server: processCpuSeconds(server.child.pid!),
          postgres: postgresCpuSeconds(),
          client: process.cpuUsage(),
        };
        const warmAcks: string[] = [];
        const seconds = await timedLoop(
          alerts.length,
          options.concurrency,
          options.warmup,
          async (i, timed) => {
            const s = nowMs();
            const res = await gql<{ ingestAlerts: Ack[] }>(server.url, INGEST, { a: [alerts[i]] }, operator);
            if (timed) latencies.push(nowMs() - s);
            else if (i < options.concurrency) burst.push(nowMs() - s);
            if (!res.ingestAlerts[0].duplicate)
              (timed ? repAcks : warmAcks).push(res.ingestAlerts[0].alertId);
          },
        );
        // CPU and statements over the whole loop (warm-up included), per alert.
        cpu.server.push(((processCpuSeconds(server.child.pid!) - cpuBefore.server) * 1000) / alerts.length);
        cpu.postgres.push(((postgresCpuSeconds() - cpuBefore.postgres) * 1000) / alerts.length);
        const client = process.cpuUsage(cpuBefore.client);
        cpu.client.push((client.user + client.system) / 1000 / alerts.length);
        options.sampler?.pause();
        statementsPerAlert.push(((await statementsSent(server.url)) - statementsBefore) / alerts.length);
        serviceRates.push(options.alerts / seconds);
        sent += alerts.length;
        acked.push(...warmAcks, ...repAcks);
        progress(`single ingest rep ${rep + 1}: service ${round(options.alerts / seconds)} alerts/s`);

        // B: the same alert rows, one INSERT each (autocommit), natural key suffixed.
        const stored = await readStoredRows(db.pool, repAcks);
        // The warm-up inserts copies of the first rows, marked apart.
        const rows = [...stored.alerts.slice(0, options.warmup), ...stored.alerts];
        const insertSeconds = await timedLoop(
          rows.length,
          options.concurrency,
          options.warmup,
          async (i, timed) => {
            const row = [...rows[i].alert];
            row[1] = `${row[1]}${BASELINE_MARK}-single-r${rep}${timed ? '' : '-warm'}`;
            row[20] = null; // due_at: the scheduler must not pick up copies
            const s = nowMs();
            await insertPool.query(
              `INSERT INTO alert (kind, natural_key, duis_response_id, alert_code, device_guid, mpan, mpan_check_digit_valid,
                                distributor_id, unrouted_reason, area_key, event_at, restored_at, throttled_count,
                                throttled_sequence_id, received_at, ingested_by, in_activation_window, outcome, reason,
                                revision, due_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)`,
              row,
            );
            if (timed) insertLatencies.push(nowMs() - s);
          },
        );
        insertRates.push(stored.alerts.length / insertSeconds);
        await removeBaselineCopies(db.pool);
        progress(
          `single ingest rep ${rep + 1}: INSERT ${round(stored.alerts.length / insertSeconds)} rows/s`,
        );
      }
    } finally {
      await insertPool.end();
    }

    // PGlite is one backend: a check sent while the server's timer poll or outbox reads run would
    // interleave with them ("bind message supplies 1 parameters, but prepared statement requires
    // 3", seen after the storm). The server has done its part: stop it first.
    if (options.backend === 'pglite') await server.stop();
    const checks = await databaseChecks(db.pool, sent, acked);
    const mix = await outcomeMix(db.pool, acked);
    const service = median(serviceRates);
    const insert = median(insertRates);
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    const real = options.backend === 'postgres' && !options.smoke;
    return {
      id: 'single-ingest',
      title: '2. Single-alert ingest',
      figures: [
        {
          name: `ingestAlerts, 1 alert each, ${options.concurrency} clients`,
          value: service,
          unit: 'alerts/s',
          baseline: {
            name: `single-row INSERT, ${baselineConnections} connection${baselineConnections === 1 ? '' : 's'}`,
            value: insert,
            unit: 'rows/s',
          },
          ratio: service / insert,
        },
        {
          name: 'acknowledgement latency p50',
          value: p50,
          unit: 'ms',
          baseline: { name: 'INSERT p50', value: percentile(insertLatencies, 50), unit: 'ms' },
          ratio: p50 / percentile(insertLatencies, 50),
        },
        {
          name: 'acknowledgement latency p99',
          value: p99,
          unit: 'ms',
          baseline: { name: 'INSERT p99', value: percentile(insertLatencies, 99), unit: 'ms' },
          ratio: p99 / percentile(insertLatencies, 99),
          target: 'p99 < 50 ms',
          met: real ? p99 < 50 : null,
        },
      ],
      checks,
      notes: [
        `${options.pairs} pairs; ${options.repetitions} repetitions of ${options.alerts} alerts after ${options.warmup} untimed, A-B interleaved; rates are medians, latencies over all repetitions.`,
        `first burst (the ${options.concurrency} clients' first requests of a repetition, sent at once, untimed): ${burst.map((v) => round(v, 1)).join(', ')} ms`,
        `per repetition: service ${serviceRates.map((r) => round(r)).join(', ')} alerts/s; INSERT ${insertRates.map((r) => round(r)).join(', ')} rows/s`,
        `outcomes: ${JSON.stringify(mix)}`,
        `SQL statements per alert (poa_sieve_db_queries_total, timer poll included): ${statementsPerAlert.map((n) => round(n, 1)).join(', ')}`,
        `CPU per alert: server ${cpu.server.map((v) => round(v, 2)).join(', ')} ms, PostgreSQL ${cpu.postgres.map((v) => round(v, 2)).join(', ')} ms, load generator ${cpu.client.map((v) => round(v, 2)).join(', ')} ms`,
      ],
      load: { before: loadBefore, after: loadAverage() },
      seconds: (Date.now() - started) / 1000,
    };
  });
}
