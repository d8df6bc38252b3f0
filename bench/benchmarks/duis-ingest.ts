import fs from 'node:fs';
import path from 'node:path';
import { INGEST, gql, post, token } from '../lib/api';
import type { Ack } from '../lib/api';
import { databaseChecks } from '../lib/checks';
import { ad1, buildInventory, seedInventory } from '../lib/fixtures';
import type { Pair } from '../lib/fixtures';
import { createSchemaValidator } from '../../src/ingest/schema-validator';
import { check, withServer } from '../lib/harness';
import type { CommonOptions } from '../lib/harness';
import type { BenchResult } from '../lib/report';
import { loadAverage, median, nowMs, percentile, progress, round, timedLoop } from '../lib/util';

export interface DuisIngestOptions extends CommonOptions {
  readonly pairs: number;
  /** AD1s per repetition and per path (GraphQL and DUIS each get this many, all distinct). */
  readonly alerts: number;
  /** Untimed requests before each timed run, in its closed loop (see timedLoop). */
  readonly warmup: number;
  readonly repetitions: number;
  readonly concurrency: number;
  readonly smoke: boolean;
  /** Folder with the DUIS/MMC XSDs (default: ../shared/reference/duis beside the repository). */
  readonly schemaDir?: string;
}

const DNOS = ['10', '11', '12', '13', '14', '15', '16', '17'];
const ROOT = path.resolve(__dirname, '..', '..');
/** Who DCC says the alert is for (the second part of a DUIS response ID). */
const RECIPIENT = '90-B3-D5-1F-30-02-00-00';

/** An AD1 exactly as DCC would POST it: a DUIS Response carrying a DCCAlertMessage (see test/fixtures/duis). */
export function ad1Document(pair: Pair, startAt: Date): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<sr:Response xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" schemaVersion="5.4">
  <sr:Header>
    <sr:ResponseID>${pair.ch}:${RECIPIENT}:${startAt.getTime()}</sr:ResponseID>
    <sr:ResponseCode>I0</sr:ResponseCode>
    <sr:ResponseDateTime>${new Date(startAt.getTime() + 30_000).toISOString()}</sr:ResponseDateTime>
  </sr:Header>
  <sr:Body>
    <sr:DCCAlertMessage>
      <sr:DCCAlertCode>AD1</sr:DCCAlertCode>
      <sr:DCCAlert>
        <sr:PowerOutageEvent>
          <sr:CommsHubDeviceID>${pair.ch}</sr:CommsHubDeviceID>
          <sr:StartDateTime>${startAt.toISOString()}</sr:StartDateTime>
          <sr:MPxN>${pair.mpan}</sr:MPxN>
        </sr:PowerOutageEvent>
      </sr:DCCAlert>
    </sr:DCCAlertMessage>
  </sr:Body>
</sr:Response>
`;
}

interface DuisAnswer {
  results?: { alertId?: string; duplicate?: boolean }[];
  errors?: { code: string; reason?: string; message: string }[];
}

async function postDuis(
  url: string,
  xml: string,
  bearer: string,
): Promise<{ status: number; body: DuisAnswer }> {
  const res = await post(`${url}/duis`, xml, {
    'content-type': 'application/xml',
    authorization: `Bearer ${bearer}`,
  });
  return { status: res.status, body: JSON.parse(res.text) as DuisAnswer };
}

/**
 * AD1s posted one DUIS XML document each to POST /duis with XSD validation on (the service's
 * line-rate path from DCC), against the same kind of AD1 sent one per ingestAlerts mutation over
 * GraphQL, at the same concurrency, interleaved per repetition (the order alternating). The
 * GraphQL path is the baseline: both end in the same service call, so the ratio is what XML
 * parsing, schema validation and mapping cost on top of GraphQL's own parsing and validation.
 */
export async function duisIngest(options: DuisIngestOptions): Promise<BenchResult> {
  const started = Date.now();
  const loadBefore = loadAverage();
  const schemaDir = path.resolve(options.schemaDir ?? path.join(ROOT, '..', 'shared', 'reference', 'duis'));
  if (!fs.existsSync(path.join(schemaDir, 'DUIS_Schema_V5.4.xsd'))) {
    throw new Error(`DUIS ingest: no DUIS_Schema_V5.4.xsd in ${schemaDir} (pass schemaDir)`);
  }
  return withServer(
    options,
    'DUIS ingest',
    async (db, server) => {
      const inventory = buildInventory(options.pairs, DNOS);
      progress(`DUIS ingest: seeding ${options.pairs} pairs`);
      await seedInventory(server.url, db.pool, inventory, { activate: true });
      const operator = await token({ role: 'OPERATOR' });

      // Every AD1 of the run distinct: its own pair and start time, per path and repetition.
      let serial = 0;
      const nextAlert = () => {
        const i = serial++;
        return {
          pair: inventory.pairs[(i * 7919) % inventory.pairs.length],
          startAt: new Date(started - 3_600_000 + i * 1000),
        };
      };
      const acked: string[] = [];
      let sent = 0;
      const refusals: string[] = [];

      // Each run: `warmup` untimed requests, then `count` timed ones, in one closed loop.
      const runGraphql = async (count: number, latencies: number[]) => {
        const n = options.warmup + count;
        const alerts = Array.from({ length: n }, () => nextAlert()).map((a) => ad1(a.pair, a.startAt));
        const seconds = await timedLoop(n, options.concurrency, options.warmup, async (i, timed) => {
          const s = nowMs();
          const res = await gql<{ ingestAlerts: Ack[] }>(server.url, INGEST, { a: [alerts[i]] }, operator);
          if (timed) latencies.push(nowMs() - s);
          if (!res.ingestAlerts[0].duplicate) acked.push(res.ingestAlerts[0].alertId);
        });
        sent += n;
        return count / seconds;
      };
      const runDuis = async (count: number, latencies: number[]) => {
        const n = options.warmup + count;
        const docs = Array.from({ length: n }, () => nextAlert()).map((a) => ad1Document(a.pair, a.startAt));
        const seconds = await timedLoop(n, options.concurrency, options.warmup, async (i, timed) => {
          const s = nowMs();
          const res = await postDuis(server.url, docs[i], operator);
          if (timed) latencies.push(nowMs() - s);
          const result = res.body.results?.[0];
          if (res.status !== 200 || !result?.alertId) {
            refusals.push(`${res.status} ${JSON.stringify(res.body.errors ?? res.body).slice(0, 300)}`);
          } else if (!result.duplicate) acked.push(result.alertId);
        });
        sent += n;
        return count / seconds;
      };

      // Warm-up (not timed): the schemas compiled, both code paths run once through the JIT.
      await runGraphql(0, []);
      await runDuis(0, []);
      // Validation is really on in the server measured: a document that breaks the schema is refused.
      const probe = nextAlert();
      const invalid = await postDuis(
        server.url,
        ad1Document(probe.pair, probe.startAt).replace(
          '<sr:MPxN>',
          '<sr:Unexpected>1</sr:Unexpected><sr:MPxN>',
        ),
        operator,
      );

      const duisRates: number[] = [];
      const graphqlRates: number[] = [];
      const duisLatencies: number[] = [];
      const graphqlLatencies: number[] = [];
      for (let rep = 0; rep < options.repetitions; rep++) {
        const order = rep % 2 === 0 ? (['graphql', 'duis'] as const) : (['duis', 'graphql'] as const);
        for (const which of order) {
          if (which === 'graphql') {
            const rate = await runGraphql(options.alerts, graphqlLatencies);
            graphqlRates.push(rate);
            progress(`DUIS ingest rep ${rep + 1}: GraphQL ${round(rate)} alerts/s`);
          } else {
            const rate = await runDuis(options.alerts, duisLatencies);
            duisRates.push(rate);
            progress(`DUIS ingest rep ${rep + 1}: POST /duis ${round(rate)} documents/s`);
          }
        }
      }

      // The validator alone, in this process, one document at a time: what XSD validation costs
      // a document once the schemas are compiled, whatever the database and the machine do.
      const validator = createSchemaValidator(schemaDir);
      const alone: number[] = [];
      try {
        await validator.ready();
        const sample = Array.from({ length: Math.min(500, options.alerts) }, () => nextAlert()).map((a) =>
          ad1Document(a.pair, a.startAt),
        );
        for (const xml of sample) {
          const s = nowMs();
          await validator.validate(xml, 'DUIS');
          alone.push(nowMs() - s);
        }
      } finally {
        await validator.close();
      }

      if (options.backend === 'pglite') await server.stop();
      const checks = [
        check(
          'every DUIS document accepted (200)',
          refusals.length === 0,
          refusals.length ? `${refusals.length} refused, first: ${refusals[0]}` : 'all 200',
        ),
        check(
          'schema validation on: an invalid document gets 400 SCHEMA_INVALID',
          invalid.status === 400 && invalid.body.errors?.[0]?.reason === 'SCHEMA_INVALID',
          `HTTP ${invalid.status} ${invalid.body.errors?.[0]?.reason ?? ''}`.trim(),
        ),
        ...(await databaseChecks(db.pool, sent, acked)),
      ];
      const duis = median(duisRates);
      const graphql = median(graphqlRates);
      const ratio = duis / graphql;
      const p50 = percentile(duisLatencies, 50);
      const p99 = percentile(duisLatencies, 99);
      const gp50 = percentile(graphqlLatencies, 50);
      const gp99 = percentile(graphqlLatencies, 99);
      const real = options.backend === 'postgres' && !options.smoke;
      return {
        id: 'duis-ingest',
        title: '6. DUIS XML ingest',
        figures: [
          {
            name: `POST /duis, 1 AD1 document each, XSD validation on, ${options.concurrency} clients`,
            value: duis,
            unit: 'documents/s',
            baseline: {
              name: `ingestAlerts over GraphQL, 1 AD1 each, ${options.concurrency} clients`,
              value: graphql,
              unit: 'alerts/s',
            },
            ratio,
            target: '>= 0.5x GraphQL',
            met: real ? ratio >= 0.5 : null,
          },
          {
            name: 'DUIS acknowledgement latency p50',
            value: p50,
            unit: 'ms',
            baseline: { name: 'GraphQL p50', value: gp50, unit: 'ms' },
            ratio: p50 / gp50,
          },
          {
            name: 'DUIS acknowledgement latency p99',
            value: p99,
            unit: 'ms',
            baseline: { name: 'GraphQL p99', value: gp99, unit: 'ms' },
            ratio: p99 / gp99,
            target: 'p99 < 50 ms',
            met: real ? p99 < 50 : null,
          },
        ],
        checks,
        notes: [
          `${options.pairs} pairs; ${options.repetitions} repetitions of ${options.alerts} AD1s per path, each after ${options.warmup} untimed in the same closed loop, the order alternating; rates are medians, latencies over all repetitions.`,
          `per repetition: POST /duis ${duisRates.map((r) => round(r)).join(', ')} documents/s; GraphQL ${graphqlRates.map((r) => round(r)).join(', ')} alerts/s; DUIS/GraphQL ${round(ratio, 2)}x.`,
          `XSD validation alone (compiled once, worker thread, one document at a time): p50 ${round(percentile(alone, 50), 2)} ms, p99 ${round(percentile(alone, 99), 2)} ms over ${alone.length} documents.`,
          `schemas: ${schemaDir}.`,
        ],
        load: { before: loadBefore, after: loadAverage() },
        seconds: (Date.now() - started) / 1000,
      };
    },
    { DUIS_SCHEMA_DIR: schemaDir },
  );
}
