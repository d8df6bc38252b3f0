import { INGEST, gql, token } from '../lib/api';
import type { Ack } from '../lib/api';
import { BASELINE_MARK, databaseChecks, outcomeMix } from '../lib/checks';
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
  pool,
  postgresCpuSeconds,
  processCpuSeconds,
  progress,
  round,
} from '../lib/util';
import { readStoredRows } from './batched-ingest';

export interface SingleIngestOptions extends CommonOptions {
  readonly pairs: number;
  /** Alerts per repetition (one per mutation). */
  readonly alerts: number;
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
    const acked: string[] = [];
    const statementsPerAlert: number[] = [];
    /** CPU milliseconds per alert of the server and of PostgreSQL, service phases only. */
    const cpu = { server: [] as number[], postgres: [] as number[], client: [] as number[] };
    let sent = 0;
    try {
      for (let rep = 0; rep < options.repetitions; rep++) {
        const repStart = Date.now();
        const alerts = Array.from({ length: options.alerts }, (_, i) => {
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
        const t0 = nowMs();
        await pool(alerts.length, options.concurrency, async (i) => {
          const s = nowMs();
          const res = await gql<{ ingestAlerts: Ack[] }>(server.url, INGEST, { a: [alerts[i]] }, operator);
          latencies.push(nowMs() - s);
          if (!res.ingestAlerts[0].duplicate) repAcks.push(res.ingestAlerts[0].alertId);
        });
        const seconds = (nowMs() - t0) / 1000;
        cpu.server.push(((processCpuSeconds(server.child.pid!) - cpuBefore.server) * 1000) / alerts.length);
        cpu.postgres.push(((postgresCpuSeconds() - cpuBefore.postgres) * 1000) / alerts.length);
        const client = process.cpuUsage(cpuBefore.client);
        cpu.client.push((client.user + client.system) / 1000 / alerts.length);
        options.sampler?.pause();
        statementsPerAlert.push(((await statementsSent(server.url)) - statementsBefore) / alerts.length);
        serviceRates.push(alerts.length / seconds);
        sent += alerts.length;
        acked.push(...repAcks);
        progress(`single ingest rep ${rep + 1}: service ${round(alerts.length / seconds)} alerts/s`);

        // B: the same alert rows, one INSERT each (autocommit), natural key suffixed.
        const stored = await readStoredRows(db.pool, repAcks);
        const t1 = nowMs();
        await pool(stored.alerts.length, options.concurrency, async (i) => {
          const row = [...stored.alerts[i].alert];
          row[1] = `${row[1]}${BASELINE_MARK}-single-r${rep}`;
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
          insertLatencies.push(nowMs() - s);
        });
        const insertSeconds = (nowMs() - t1) / 1000;
        insertRates.push(stored.alerts.length / insertSeconds);
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
        `${options.pairs} pairs; ${options.repetitions} repetitions of ${options.alerts} alerts, A-B interleaved; rates are medians, latencies over all repetitions.`,
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
