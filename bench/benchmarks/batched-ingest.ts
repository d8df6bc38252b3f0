import type { Pool, PoolClient } from 'pg';
import { INGEST, gql, token } from '../lib/api';
import type { Ack } from '../lib/api';
import { BASELINE_MARK, databaseChecks, outcomeMix, removeBaselineCopies } from '../lib/checks';
import { copyFrom } from '../lib/copy';
import type { CopyValue } from '../lib/copy';
import { ad1, buildInventory, seedInventory } from '../lib/fixtures';
import type { Pair } from '../lib/fixtures';
import { withServer } from '../lib/harness';
import type { CommonOptions } from '../lib/harness';
import type { ActivitySampler } from '../lib/pg-activity';
import type { BenchResult } from '../lib/report';
import { statementsSent } from '../lib/metrics';
import {
  loadAverage,
  median,
  nowMs,
  pool,
  postgresCpuSeconds,
  processCpuSeconds,
  progress,
  round,
} from '../lib/util';

export interface BatchedIngestOptions extends CommonOptions {
  /** ESME + CH pairs in the inventory; every pair sends one AD1 per repetition. */
  readonly pairs: number;
  readonly repetitions: number;
  readonly batchSize: number;
  readonly clients: number;
  readonly smoke: boolean;
  /** Profiling: sampled around the service's timed phases only. */
  readonly sampler?: ActivitySampler;
}

const DNOS = ['10', '11', '12', '13', '14', '15', '16', '17'];

/** Rows read back as PostgreSQL's text output (which is also COPY's text input). */
type TextRow = (string | null)[];
const asText = { getTypeParser: () => (value: string) => value };

const ALERT_COLUMNS = [
  'kind',
  'natural_key',
  'duis_response_id',
  'alert_code',
  'device_guid',
  'mpan',
  'mpan_check_digit_valid',
  'distributor_id',
  'unrouted_reason',
  'area_key',
  'event_at',
  'restored_at',
  'throttled_count',
  'throttled_sequence_id',
  'received_at',
  'ingested_by',
  'in_activation_window',
  'outcome',
  'reason',
  'revision',
  'due_at',
];
const DECISION_COLUMNS = [
  'revision',
  'outcome',
  'reason',
  'late',
  'rule_id',
  'rule_version',
  'activation_id',
  'window_from',
  'window_to',
  'due_at',
  'decided_at',
  'trigger',
  'decision',
  'alert_event_at',
];
const OUTBOX_COLUMNS = [
  'distributor_id',
  'kind',
  'decision_revision',
  'payload',
  'created_at',
  'alert_event_at',
];

/** Column types, for the INSERT ... SELECT FROM unnest fallback (text arrays cast per column). */
const TYPES: Record<string, string> = {
  id: 'bigint',
  alert_id: 'bigint',
  sequence: 'bigint',
  mpan_check_digit_valid: 'boolean',
  in_activation_window: 'boolean',
  late: 'boolean',
  event_at: 'timestamptz',
  alert_event_at: 'timestamptz',
  restored_at: 'timestamptz',
  received_at: 'timestamptz',
  due_at: 'timestamptz',
  window_from: 'timestamptz',
  window_to: 'timestamptz',
  decided_at: 'timestamptz',
  created_at: 'timestamptz',
  throttled_count: 'int',
  revision: 'int',
  rule_version: 'int',
  decision_revision: 'int',
  rule_id: 'uuid',
  activation_id: 'uuid',
  decision: 'jsonb',
  payload: 'jsonb',
};

/** One multi-row INSERT ... SELECT FROM unnest of text arrays (one per column), cast per column. */
async function insertUnnest(
  client: PoolClient,
  table: string,
  columns: readonly string[],
  rows: readonly (readonly CopyValue[])[],
): Promise<number> {
  if (rows.length === 0) return 0;
  const text = (v: CopyValue) => (v === null ? null : v instanceof Date ? v.toISOString() : String(v));
  const params = columns.map((_, i) => rows.map((r) => text(r[i])));
  const res = await client.query(
    `INSERT INTO ${table} (${columns.join(', ')}) ${table === 'alert' ? 'OVERRIDING SYSTEM VALUE' : ''}
     SELECT ${columns.map((c, i) => `c${i}::${TYPES[c] ?? 'text'}`).join(', ')}
       FROM unnest(${columns.map((_, i) => `$${i + 1}::text[]`).join(', ')}) AS u(${columns.map((_, i) => `c${i}`).join(', ')})`,
    params,
  );
  return res.rowCount ?? 0;
}

export type BaselineWrite = 'copy' | 'unnest';
export const BASELINE_NAME: Record<BaselineWrite, string> = {
  copy: 'COPY FROM STDIN, same rows/batches/clients',
  unnest: 'INSERT ... SELECT FROM unnest per table, same rows/batches, one connection on PGlite',
};

export interface StoredRows {
  /** Per alert: its row, its ledger rows and its outbox rows, as text. */
  readonly alerts: { alert: TextRow; decisions: TextRow[]; outbox: TextRow[] }[];
}

/** Reads back exactly what the service stored for these alerts (untimed). */
export async function readStoredRows(db: Pool, ids: readonly string[]): Promise<StoredRows> {
  const q = (text: string) => db.query<TextRow>({ text, values: [ids], rowMode: 'array', types: asText });
  const alerts = await q(
    `SELECT id, ${ALERT_COLUMNS.join(', ')} FROM alert WHERE id = ANY($1::bigint[]) ORDER BY id`,
  );
  const decisions = await q(
    `SELECT alert_id, ${DECISION_COLUMNS.join(', ')} FROM alert_decision WHERE alert_id = ANY($1::bigint[]) ORDER BY id`,
  );
  const outbox = await q(
    `SELECT alert_id, ${OUTBOX_COLUMNS.join(', ')} FROM dno_outbox WHERE alert_id = ANY($1::bigint[]) ORDER BY distributor_id, sequence`,
  );
  const byAlert = new Map<string, { alert: TextRow; decisions: TextRow[]; outbox: TextRow[] }>();
  for (const [id, ...rest] of alerts.rows) byAlert.set(id!, { alert: rest, decisions: [], outbox: [] });
  for (const [id, ...rest] of decisions.rows) byAlert.get(id!)!.decisions.push(rest);
  for (const [id, ...rest] of outbox.rows) byAlert.get(id!)!.outbox.push(rest);
  return { alerts: [...byAlert.values()] };
}

/**
 * The baseline: the identical rows (alert + alert_decision + dno_outbox) written with COPY FROM
 * STDIN, one transaction per batch, the same batches and concurrency as the service. Each
 * transaction allocates the alert IDs from the alert's identity sequence and the DNO sequence
 * numbers from dno_sequence (as the service must), then runs three COPYs. Copies get a
 * natural-key suffix (the key is unique) and no due_at (the scheduler must not pick them up).
 */
export async function copyBaseline(
  db: Pool,
  stored: StoredRows,
  batchSize: number,
  clients: number,
  tag: string,
  write: BaselineWrite = 'copy',
): Promise<{ seconds: number; rows: number }> {
  const put = write === 'copy' ? copyFrom : insertUnnest;
  const batches: StoredRows['alerts'][] = [];
  for (let i = 0; i < stored.alerts.length; i += batchSize)
    batches.push(stored.alerts.slice(i, i + batchSize));
  const natural = ALERT_COLUMNS.indexOf('natural_key');
  const due = ALERT_COLUMNS.indexOf('due_at');
  let rows = 0;
  const connections: PoolClient[] = await Promise.all(Array.from({ length: clients }, () => db.connect()));
  try {
    const t0 = nowMs();
    let next = 0;
    await Promise.all(
      connections.map(async (c) => {
        for (;;) {
          const b = next++;
          if (b >= batches.length) return;
          const batch = batches[b];
          await c.query('BEGIN');
          const ids = (
            await c.query<{ id: string }>(
              `SELECT nextval(pg_get_serial_sequence('alert', 'id'))::text AS id FROM generate_series(1, $1)`,
              [batch.length],
            )
          ).rows.map((r) => r.id);
          const perDno = new Map<string, number>();
          for (const a of batch) for (const o of a.outbox) perDno.set(o[0]!, (perDno.get(o[0]!) ?? 0) + 1);
          const dnos = [...perDno.keys()].sort();
          // Rows locked in distributor order first, as the service does: an UPDATE ... FROM joins
          // in whatever order its plan takes, and two such transactions deadlocked (seen here).
          await c.query(
            'SELECT 1 FROM dno_sequence WHERE distributor_id = ANY($1::text[]) ORDER BY distributor_id FOR UPDATE',
            [dnos],
          );
          const last = new Map(
            (
              await c.query<{ d: string; last: string }>(
                `UPDATE dno_sequence s SET last_sequence = s.last_sequence + n.c
                   FROM unnest($1::text[], $2::int[]) AS n(d, c) WHERE s.distributor_id = n.d
                 RETURNING s.distributor_id AS d, s.last_sequence::text AS last`,
                [dnos, dnos.map((d) => perDno.get(d))],
              )
            ).rows.map((r) => [r.d, BigInt(r.last) - BigInt(perDno.get(r.d)!)]),
          );
          const alertRows: CopyValue[][] = [];
          const decisionRows: CopyValue[][] = [];
          const outboxRows: CopyValue[][] = [];
          batch.forEach((a, i) => {
            const row: CopyValue[] = [ids[i], ...a.alert];
            row[1 + natural] = `${a.alert[natural]}${BASELINE_MARK}-${tag}`;
            row[1 + due] = null;
            alertRows.push(row);
            for (const d of a.decisions) decisionRows.push([ids[i], ...d]);
            for (const o of a.outbox) {
              const seq = last.get(o[0]!)! + 1n;
              last.set(o[0]!, seq);
              outboxRows.push([o[0], seq.toString(), o[1], ids[i], ...o.slice(2)]);
            }
          });
          rows += await put(c, 'alert', ['id', ...ALERT_COLUMNS], alertRows);
          rows += await put(c, 'alert_decision', ['alert_id', ...DECISION_COLUMNS], decisionRows);
          rows += await put(
            c,
            'dno_outbox',
            ['distributor_id', 'sequence', 'kind', 'alert_id', ...OUTBOX_COLUMNS.slice(2)],
            outboxRows,
          );
          await c.query('COMMIT');
        }
      }),
    );
    return { seconds: (nowMs() - t0) / 1000, rows };
  } finally {
    connections.forEach((c) => c.release());
  }
}

/** Alerts of one repetition: one AD1 from every pair, in a fixed shuffled order, starting just before now. */
function alertsFor(pairs: readonly Pair[], repStart: number) {
  const order = [...pairs].sort(
    (a, b) => ((a.index * 2654435761) % 4294967296) - ((b.index * 2654435761) % 4294967296),
  );
  return order.map((p) => ad1(p, new Date(repStart - 30_000 - (p.index % 60_000))));
}

export async function batchedIngest(options: BatchedIngestOptions): Promise<BenchResult> {
  const started = Date.now();
  const loadBefore = loadAverage();
  return withServer(options, 'batched ingest', async (db, server) => {
    const inventory = buildInventory(options.pairs, DNOS);
    progress(
      `batched ingest: seeding ${options.pairs} ESME+CH pairs (${inventory.ota.length} in activation windows)`,
    );
    await seedInventory(server.url, db.pool, inventory, { activate: true });
    const operator = await token({ role: 'OPERATOR' });

    // COPY FROM STDIN never completes over pglite-socket: PGlite gets the unnest baseline
    // (BENCH_BASELINE_WRITE=unnest selects it on PostgreSQL too).
    const write: BaselineWrite =
      process.env.BENCH_BASELINE_WRITE === 'unnest' || options.backend === 'pglite' ? 'unnest' : 'copy';
    const serviceRates: number[] = [];
    const copyRates: number[] = [];
    const acked: string[] = [];
    const statementsPerBatch: number[] = [];
    /** CPU milliseconds per alert of the server and of PostgreSQL, service phases only. */
    const cpu = { server: [] as number[], postgres: [] as number[] };
    let sent = 0;
    for (let rep = 0; rep < options.repetitions; rep++) {
      // A: the service, over HTTP, `clients` concurrent clients, batches of `batchSize`.
      const alerts = alertsFor(inventory.pairs, Date.now() + rep);
      const batches: (typeof alerts)[] = [];
      for (let i = 0; i < alerts.length; i += options.batchSize)
        batches.push(alerts.slice(i, i + options.batchSize));
      const repAcks: string[] = [];
      const statementsBefore = await statementsSent(server.url);
      await options.sampler?.resume();
      const cpuBefore = { server: processCpuSeconds(server.child.pid!), postgres: postgresCpuSeconds() };
      const t0 = nowMs();
      await pool(batches.length, options.clients, async (b) => {
        const res = await gql<{ ingestAlerts: Ack[] }>(server.url, INGEST, { a: batches[b] }, operator);
        for (const r of res.ingestAlerts) if (!r.duplicate) repAcks.push(r.alertId);
      });
      const seconds = (nowMs() - t0) / 1000;
      cpu.server.push(((processCpuSeconds(server.child.pid!) - cpuBefore.server) * 1000) / alerts.length);
      cpu.postgres.push(((postgresCpuSeconds() - cpuBefore.postgres) * 1000) / alerts.length);
      options.sampler?.pause();
      statementsPerBatch.push(((await statementsSent(server.url)) - statementsBefore) / batches.length);
      sent += alerts.length;
      acked.push(...repAcks);
      serviceRates.push(alerts.length / seconds);
      progress(`batched ingest rep ${rep + 1}: service ${round(alerts.length / seconds)} alerts/s`);

      // B: COPY of the identical rows.
      const stored = await readStoredRows(db.pool, repAcks);
      // PGlite is one backend: baseline transactions on several of its sessions interleave (a full
      // run hung in the second repetition), so there the baseline writes on one connection, as the
      // server does.
      const lanes = options.backend === 'pglite' ? 1 : options.clients;
      const copy = await copyBaseline(db.pool, stored, options.batchSize, lanes, `r${rep}`, write);
      copyRates.push(stored.alerts.length / copy.seconds);
      progress(
        `batched ingest rep ${rep + 1}: ${write} ${round(stored.alerts.length / copy.seconds)} alerts/s`,
      );
      await removeBaselineCopies(db.pool);
    }

    // PGlite is one backend: a check sent while the server's timer poll or outbox reads run would
    // interleave with them ("bind message supplies 1 parameters, but prepared statement requires
    // 3", seen after the storm). The server has done its part: stop it first.
    if (options.backend === 'pglite') await server.stop();
    const checks = await databaseChecks(db.pool, sent, acked);
    const mix = await outcomeMix(db.pool, acked);
    const service = median(serviceRates);
    const copy = median(copyRates);
    const ratio = service / copy;
    const onPostgres = options.backend === 'postgres' && !options.smoke;
    return {
      id: 'batched-ingest',
      title: '1. Batched ingest',
      figures: [
        {
          name: `ingestAlerts, batches of ${options.batchSize}, ${options.clients} clients`,
          value: service,
          unit: 'alerts/s',
          baseline: { name: BASELINE_NAME[write], value: copy, unit: 'alerts/s' },
          ratio,
          target: 'ratio >= 0.5',
          met: onPostgres ? ratio >= 0.5 : null,
        },
      ],
      checks,
      notes: [
        `${options.pairs} pairs (${inventory.ota.length} in activation windows), ${inventory.areas} area keys, ${DNOS.length} DNOs; ` +
          `${options.repetitions} repetitions of ${options.pairs} AD1s, A-B interleaved; medians.`,
        `per repetition: service ${serviceRates.map((r) => round(r)).join(', ')} alerts/s; ${write === 'copy' ? 'COPY' : 'unnest INSERT'} ${copyRates.map((r) => round(r)).join(', ')} alerts/s`,
        `outcomes of the ingested alerts: ${JSON.stringify(mix)}`,
        `SQL statements per batch (poa_sieve_db_queries_total, timer poll included): ${statementsPerBatch.map((n) => round(n, 1)).join(', ')}`,
        `CPU per alert: server ${cpu.server.map((v) => round(v, 3)).join(', ')} ms, PostgreSQL ${cpu.postgres.map((v) => round(v, 3)).join(', ')} ms`,
      ],
      load: { before: loadBefore, after: loadAverage() },
      seconds: (Date.now() - started) / 1000,
    };
  });
}
