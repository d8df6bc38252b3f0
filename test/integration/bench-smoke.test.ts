import { batchedIngest } from '../../bench/benchmarks/batched-ingest';
import { duisIngest } from '../../bench/benchmarks/duis-ingest';
import { e2eLatency } from '../../bench/benchmarks/e2e-latency';
import { engineBenchmark } from '../../bench/benchmarks/engine';
import { inventoryScale } from '../../bench/benchmarks/inventory-scale';
import { singleIngest } from '../../bench/benchmarks/single-ingest';
import { subscriberLoad } from '../../bench/benchmarks/subscriber-load';
import { sizes } from '../../bench/config';
import type { BenchResult } from '../../bench/lib/report';
import { markdownTable, textTable } from '../../bench/lib/report';
import { BACKEND } from '../support/database';

/**
 * The smoke version of every benchmark (`npm run bench -- --smoke`), called in process rather
 * than through the CLI: each still creates its own database and spawns the real server. The
 * figures must all be there and the correctness checks must pass; the targets are not asserted
 * (a smoke run on a busy machine says nothing about them). PostgreSQL only.
 */
const onPostgres = BACKEND === 'postgres' ? describe : describe.skip;

onPostgres('benchmarks (smoke)', () => {
  const s = sizes(true, 'postgres');
  const results: BenchResult[] = [];

  const expectSound = (r: BenchResult, figures: RegExp[]) => {
    results.push(r);
    const failed = r.checks.filter((c) => !c.pass);
    expect(failed).toEqual([]);
    expect(r.checks.length).toBeGreaterThan(0);
    for (const pattern of figures) {
      const figure = r.figures.find((f) => pattern.test(f.name));
      expect(figure).toBeDefined();
      expect(Number.isFinite(figure!.value)).toBe(true);
      expect(figure!.value).toBeGreaterThanOrEqual(0);
      if (figure!.baseline) {
        expect(Number.isFinite(figure!.baseline.value)).toBe(true);
        expect(Number.isFinite(figure!.ratio)).toBe(true);
      }
    }
    expect(r.load.before).toHaveLength(3);
  };

  test('1. batched ingest vs COPY', async () => {
    expectSound(await batchedIngest(s.batched), [/^ingestAlerts, batches of/]);
  }, 180_000);

  test('2. single-alert ingest vs single-row INSERT', async () => {
    expectSound(await singleIngest(s.single), [/1 alert each/, /latency p50/, /latency p99/]);
  }, 180_000);

  test('3. end-to-end latency: steady, storm, raw ws baseline; exactly once per subscriber', async () => {
    expectSound(await e2eLatency(s.e2e), [
      /message p50/,
      /message p99/,
      /storm: accepted rate/,
      /storm: ack -> message p99/,
    ]);
  }, 240_000);

  test('4. decision engine vs building the facts', async () => {
    expectSound(await engineBenchmark(s.engine), [/in process/, /JSON round-trip/]);
  }, 120_000);

  test('5. inventory scale (tiny)', async () => {
    const r = await inventoryScale({ backend: 'postgres', sizes: [2_000], alerts: s.inventoryAlerts });
    expectSound(r, [/single-AD1 ingest p50/, /single-AD1 ingest p99/]);
  }, 180_000);

  test('6. DUIS XML ingest (validation on) vs the same AD1s over GraphQL', async () => {
    const r = await duisIngest(s.duis);
    expectSound(r, [
      /^POST \/duis, 1 AD1 document each/,
      /DUIS acknowledgement latency p50/,
      /DUIS acknowledgement latency p99/,
    ]);
    expect(r.figures[0].baseline?.name).toMatch(/ingestAlerts over GraphQL/);
    expect(r.checks.map((c) => c.name)).toContain(
      'schema validation on: an invalid document gets 400 SCHEMA_INVALID',
    );
  }, 180_000);

  test('7. ingest under idle and catching-up subscriptions vs none', async () => {
    expectSound(await subscriberLoad(s.load), [/no subscription/, /100 subscriptions idle/, /catching up/]);
  }, 180_000);

  test('the table has every figure and the checks line', () => {
    const text = textTable(results);
    const md = markdownTable(results);
    for (const r of results) {
      for (const f of r.figures) {
        expect(text).toContain(f.name);
        expect(md).toContain(f.name.replace(/\|/g, '\\|'));
      }
    }
    expect(text.match(/correctness checks/g)).toHaveLength(results.length);
  });
});
