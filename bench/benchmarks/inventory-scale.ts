import type { Pool } from 'pg';
import { INGEST, gql, token } from '../lib/api';
import type { Ack } from '../lib/api';
import { databaseChecks, outcomeMix } from '../lib/checks';
import { copyFrom } from '../lib/copy';
import type { CopyValue } from '../lib/copy';
import {
  AFFECTED_MODEL,
  INSTALLED_FROM,
  ad1,
  buildInventory,
  eui,
  mpanOf,
  seedInventory,
} from '../lib/fixtures';
import type { Pair } from '../lib/fixtures';
import { withServer } from '../lib/harness';
import type { CommonOptions } from '../lib/harness';
import type { BenchResult, Figure } from '../lib/report';
import { loadAverage, nowMs, percentile, progress, round } from '../lib/util';

export interface InventoryScaleOptions extends CommonOptions {
  /** Devices to load (ESME + CH pairs: half each), e.g. [1_000_000, 10_000_000]. */
  readonly sizes: readonly number[];
  /** Single-AD1 ingests timed at each size. */
  readonly alerts: number;
}

const DNOS = ['10', '11', '12', '13', '14', '15', '16', '17', '18', '19', '20', '21', '22', '23'];
/** Big-inventory pairs number from here, clear of the seeded pairs. */
const OFFSET = 10_000_000;

/**
 * Loads `pairs` ESME + CH pairs (numbered from `from`) straight into device, device_firmware
 * and comms_hub_link with COPY FROM STDIN, 50,000 pairs a COPY, one connection.
 */
async function copyInventory(db: Pool, from: number, pairs: number): Promise<number> {
  const client = await db.connect();
  const CHUNK = 50_000;
  const t0 = nowMs();
  try {
    for (let start = 0; start < pairs; start += CHUNK) {
      const devices: CopyValue[][] = [];
      const firmware: CopyValue[][] = [];
      const links: CopyValue[][] = [];
      for (let k = start; k < Math.min(pairs, start + CHUNK); k++) {
        const n = from + k;
        const dno = DNOS[n % DNOS.length];
        const area = `BIG-${Math.floor(k / 7)}`;
        const esme = eui('E5', n);
        const ch = eui('C4', n);
        const model = k % 2 === 0 ? AFFECTED_MODEL : '0F0F0F0F';
        devices.push([esme, 'ESME', 'AB01', model, '0002012F', 'Commissioned', mpanOf(dno, n), area]);
        devices.push([ch, 'CHF', 'AB01', '0C0C0C0C', '00010001', 'Commissioned', null, area]);
        firmware.push([esme, '0002012F', INSTALLED_FROM, 'INVENTORY']);
        firmware.push([ch, '00010001', INSTALLED_FROM, 'INVENTORY']);
        links.push([ch, esme, INSTALLED_FROM]);
      }
      await client.query('BEGIN');
      await copyFrom(
        client,
        'device',
        [
          'guid',
          'device_type',
          'manufacturer',
          'model',
          'firmware_version',
          'smi_status',
          'mpan',
          'area_key',
        ],
        devices,
      );
      await copyFrom(
        client,
        'device_firmware',
        ['device_guid', 'firmware_version', 'effective_from', 'source'],
        firmware,
      );
      await copyFrom(client, 'comms_hub_link', ['comms_hub_guid', 'esme_guid', 'effective_from'], links);
      await client.query('COMMIT');
      if ((start / CHUNK) % 20 === 19) progress(`inventory: ${(start + CHUNK) * 2} devices loaded`);
    }
    await client.query('ANALYZE device, device_firmware, comms_hub_link');
  } finally {
    client.release();
  }
  return (nowMs() - t0) / 1000;
}

async function timeSingles(
  url: string,
  operator: string,
  pairs: Pair[],
  n: number,
): Promise<{ ms: number[]; ids: string[] }> {
  const ms: number[] = [];
  const ids: string[] = [];
  const base = Date.now() - 60_000;
  for (let i = 0; i < n; i++) {
    const pair = pairs[(i * 7919) % pairs.length];
    const t0 = nowMs();
    const res = await gql<{ ingestAlerts: Ack[] }>(
      url,
      INGEST,
      { a: [ad1(pair, new Date(base + i))] },
      operator,
    );
    ms.push(nowMs() - t0);
    ids.push(res.ingestAlerts[0].alertId);
  }
  return { ms, ids };
}

function bigPair(n: number): Pair {
  const dno = DNOS[n % DNOS.length];
  return {
    index: n,
    esme: eui('E5', n),
    ch: eui('C4', n),
    mpan: mpanOf(dno, n),
    distributorId: dno,
    area: '',
    ota: false,
  };
}

/** Decision latency of single AD1s with a small inventory, then with each large one loaded. */
export async function inventoryScale(options: InventoryScaleOptions): Promise<BenchResult> {
  const started = Date.now();
  const loadBefore = loadAverage();
  return withServer(options, 'inventory scale', async (db, server) => {
    const small = buildInventory(2000, DNOS);
    await seedInventory(server.url, db.pool, small, { activate: true });
    const operator = await token({ role: 'OPERATOR' });
    const base = await timeSingles(server.url, operator, [...small.pairs], options.alerts);
    const b50 = percentile(base.ms, 50);
    const b99 = percentile(base.ms, 99);
    progress(`inventory: 4,000 devices: p50 ${round(b50)} ms, p99 ${round(b99)} ms`);
    const figures: Figure[] = [];
    const notes: string[] = [];
    const acked = [...base.ids];
    let loaded = 0;
    for (const size of [...options.sizes].sort((a, b) => a - b)) {
      const pairs = Math.floor(size / 2) - loaded;
      progress(`inventory: loading ${pairs * 2} devices by COPY`);
      const seconds = await copyInventory(db.pool, OFFSET + loaded, pairs);
      loaded += pairs;
      notes.push(`${(loaded * 2).toLocaleString('en-GB')} devices: loaded by COPY in ${round(seconds)} s`);
      const sample = Array.from({ length: 5000 }, (_, k) =>
        bigPair(OFFSET + Math.floor((k * loaded) / 5000)),
      );
      const run = await timeSingles(server.url, operator, sample, options.alerts);
      acked.push(...run.ids);
      const p50 = percentile(run.ms, 50);
      const p99 = percentile(run.ms, 99);
      progress(`inventory: ${loaded * 2} devices: p50 ${round(p50)} ms, p99 ${round(p99)} ms`);
      const label = `${(loaded * 2 + 4000).toLocaleString('en-GB')} devices`;
      figures.push(
        {
          name: `${label}: single-AD1 ingest p50`,
          value: p50,
          unit: 'ms',
          baseline: { name: '4,000 devices p50', value: b50, unit: 'ms' },
          ratio: p50 / b50,
        },
        {
          name: `${label}: single-AD1 ingest p99`,
          value: p99,
          unit: 'ms',
          baseline: { name: '4,000 devices p99', value: b99, unit: 'ms' },
          ratio: p99 / b99,
        },
      );
    }
    const checks = await databaseChecks(db.pool, acked.length, acked);
    notes.push(
      `outcomes: ${JSON.stringify(await outcomeMix(db.pool, acked))}; one client, sequential, ${options.alerts} AD1s per size`,
    );
    return {
      id: 'inventory-scale',
      title: '5. Inventory scale',
      figures,
      checks,
      notes,
      load: { before: loadBefore, after: loadAverage() },
      seconds: (Date.now() - started) / 1000,
    };
  });
}
