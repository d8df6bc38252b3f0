import { DEFAULT_ENGINE_SETTINGS, decidePowerOutageAlert, sameDecision } from '../../src/domain/engine';
import type {
  AffectedFirmwareRuleFact,
  AlertDecision,
  CommsHubAssociationFact,
  DeviceFact,
  FirmwareActivationFact,
  PowerOutageAlertFacts,
} from '../../src/domain/engine';
import { DECISION_REASONS } from '../../src/domain/engine';
import { eui, mpanOf } from '../lib/fixtures';
import { check } from '../lib/harness';
import type { BenchResult, Check } from '../lib/report';
import { loadAverage, median, nowMs, prng, progress, round } from '../lib/util';

export interface EngineOptions {
  /** ESMEs in the (compact, in-memory) inventory: 1.4 million is the real scale. */
  readonly esmes: number;
  /** Open activation windows. */
  readonly windows: number;
  /** Facts objects decided per repetition. */
  readonly alerts: number;
  readonly repetitions: number;
  /** Share of AD1s from ESMEs with an open window. */
  readonly inWindowShare: number;
}

const MINUTE = 60_000;
const DNOS = ['10', '11', '12', '13', '14', '15', '16', '17', '18', '19', '20', '21', '22', '23'];
const MODELS = ['010A030B', '0F0F0F0F', '0A0B0C0D'];
const NOW = new Date('2026-11-21T12:00:00.000Z');
const INSTALLED = new Date('2024-01-01T00:00:00.000Z');

const RULES: readonly AffectedFirmwareRuleFact[] = [
  rule('r-esme-1', 'ESME', '010A030B', ['0002012F', '0002012E']),
  rule('r-esme-2', 'ESME', '0A0B0C0D', ['00030001']),
  rule('r-esme-3', 'ESME', '0E0E0E0E', ['00040001'], true),
  rule('r-chf-1', 'CHF', '0C0C0C0C', ['00010001']),
  { ...rule('r-off', 'ESME', '0F0F0F0F', ['00000001']), enabled: false },
  rule('r-esme-4', 'ESME', '0D0D0D0D', ['00050001', '00050002']),
];

function rule(
  id: string,
  deviceType: 'ESME' | 'CHF',
  model: string,
  affected: string[],
  shadow = false,
): AffectedFirmwareRuleFact {
  return {
    id,
    version: 3,
    deviceType,
    manufacturer: 'AB01',
    model,
    affectedFirmwareVersions: affected,
    targetFirmwareVersion: null,
    targetImageHash: null,
    windowMinutes: 30,
    skewMinutes: 2,
    enabled: true,
    shadow,
  };
}

/**
 * The inventory at national scale, compactly: per ESME its model and area by arithmetic, and the
 * activations of the ESMEs with an open window in a Map. Per-alert facts are built from it the
 * way the service slices its set-based loads: one CH, its ESME (sometimes a previous one), their
 * firmware histories, the activations, restores, and the AD1s of the area nearby.
 */
class Inventory {
  readonly windowed: Int32Array;
  private readonly activations = new Map<number, FirmwareActivationFact[]>();
  readonly areas: number;

  constructor(
    readonly esmes: number,
    windows: number,
    seed = 1,
  ) {
    const random = prng(seed);
    this.areas = Math.max(1, Math.floor(esmes / 7));
    this.windowed = new Int32Array(windows);
    for (let k = 0; k < windows; k++) {
      // Spread over the inventory, on affected-model ESMEs (index divisible by 3).
      const i = Math.floor((k * esmes) / windows / 3) * 3;
      this.windowed[k] = i;
      const requestedAt = new Date(NOW.getTime() - Math.floor(random() * 28 * MINUTE));
      const roll = random();
      const status = roll < 0.6 ? 'SUCCEEDED' : roll < 0.9 ? 'SCHEDULED' : 'FAILED';
      this.activations.set(i, [
        {
          id: `act-${i}`,
          requestId: `90-B3-D5-1F-30-01-00-00:${eui('E5', i)}:${k}`,
          deviceGuid: eui('E5', i),
          status,
          requestedAt,
          actualExecutedAt: status === 'SCHEDULED' ? null : new Date(requestedAt.getTime() + 40_000),
          outcomeCode: status === 'SUCCEEDED' ? 'success' : status === 'FAILED' ? 'activationFailure' : null,
          imageHash: 'c0ffee00'.repeat(8),
          targetFirmwareVersion: '00020130',
          firmwareVersionBefore: '0002012F',
        },
      ]);
    }
  }

  private device(
    guid: string,
    type: 'ESME' | 'CHF',
    model: string,
    firmware: string[],
    area: string,
  ): DeviceFact {
    return {
      guid,
      type,
      manufacturer: 'AB01',
      model,
      firmwareHistory: firmware.map((version, k) => ({
        version,
        effectiveFrom: new Date(INSTALLED.getTime() + k * 90 * 24 * 60 * MINUTE),
      })),
      smiStatus: 'Commissioned',
      areaKey: area,
    };
  }

  /** The engine's facts for one AD1 from the CH of ESME `i`. */
  facts(i: number, alertSeq: number, random: () => number): PowerOutageAlertFacts {
    const esme = eui('E5', i);
    const ch = eui('C4', i);
    const model = MODELS[i % 3];
    const area = `AREA-${i % this.areas}`;
    const distributorId = DNOS[i % DNOS.length];
    const windowed = this.activations.get(i);
    const anchor = windowed?.[0].actualExecutedAt ?? windowed?.[0].requestedAt;
    const startAt = anchor
      ? new Date(anchor.getTime() + Math.floor(random() * 20 * MINUTE))
      : new Date(NOW.getTime() - Math.floor(random() * 10 * MINUTE));
    const history = random() < 0.3 ? ['0002012E', '0002012F'] : ['0002012F'];
    const devices = [
      this.device(ch, 'CHF', '0C0C0C0C', ['00010001'], area),
      this.device(esme, 'ESME', model, model === '010A030B' ? history : ['00030002'], area),
    ];
    const associations: CommsHubAssociationFact[] = [
      { commsHubGuid: ch, esmeGuid: esme, effectiveFrom: INSTALLED, effectiveTo: null },
    ];
    if (random() < 0.15) {
      const previous = eui('E6', i);
      associations.push({
        commsHubGuid: ch,
        esmeGuid: previous,
        effectiveFrom: new Date(INSTALLED.getTime() - 365 * 24 * 60 * MINUTE),
        effectiveTo: INSTALLED,
      });
      devices.push(this.device(previous, 'ESME', MODELS[(i + 1) % 3], ['00030001'], area));
    }
    const activations: FirmwareActivationFact[] = [...(windowed ?? [])];
    if (random() < 0.1) {
      activations.push({
        id: `old-${i}`,
        requestId: `90-B3-D5-1F-30-01-00-00:${esme}:1`,
        deviceGuid: esme,
        status: 'SUCCEEDED',
        requestedAt: new Date(INSTALLED.getTime() + 100 * 24 * 60 * MINUTE),
        actualExecutedAt: new Date(INSTALLED.getTime() + 100 * 24 * 60 * MINUTE + 30_000),
        outcomeCode: 'success',
        imageHash: 'ab'.repeat(32),
        targetFirmwareVersion: '0002012F',
        firmwareVersionBefore: '0002012E',
      });
    }
    const restores =
      random() < 0.05
        ? [
            {
              id: `r-${alertSeq}`,
              esmeGuid: esme,
              alertCode: '8F36' as const,
              interruptionAt: new Date(startAt.getTime() - 5_000),
              restorationAt: new Date(startAt.getTime() + 4 * MINUTE),
              receivedAt: NOW,
            },
          ]
        : [];
    const neighbours = Math.floor(random() * random() * 13);
    return {
      alert: {
        id: String(alertSeq),
        commsHubGuid: ch,
        startAt,
        receivedAt: NOW,
        mpan: mpanOf(distributorId, i),
        distributorId,
        throttledCount: 1,
        duisResponseId: null,
      },
      devices,
      associations,
      rules: RULES,
      activations,
      supplyRestoredAlerts: restores,
      verifications: [],
      area: {
        key: area,
        neighbourAlerts: Array.from({ length: neighbours }, (_, k) => ({
          alertId: String(alertSeq * 100 + k),
          commsHubGuid: eui('C4', (i + 7 * (k + 1)) % this.esmes),
          startAt: new Date(startAt.getTime() + Math.floor((random() - 0.5) * 16 * MINUTE)),
          throttledCount: random() < 0.1 ? 3 : 1,
          inActivationWindow: random() < 0.2,
        })),
        budget: { suppressions: Math.floor(random() * 4), alerts: 5 + Math.floor(random() * 30) },
      },
      dnoBudget: { suppressions: Math.floor(random() * 100), alerts: 400 + Math.floor(random() * 2000) },
      deliveryPreference: random() < 0.2 ? 'PAIR' : 'FILTER',
      previousDecision: null,
    };
  }
}

/** The facts of `n` AD1s: `share` of them from ESMEs with an open window, the rest from anywhere. */
function buildFacts(inventory: Inventory, n: number, share: number, seed: number): PowerOutageAlertFacts[] {
  const random = prng(seed);
  const out: PowerOutageAlertFacts[] = new Array(n);
  for (let k = 0; k < n; k++) {
    const i =
      random() < share
        ? inventory.windowed[Math.floor(random() * inventory.windowed.length)]
        : Math.floor(random() * inventory.esmes);
    out[k] = inventory.facts(i, k + 1, random);
  }
  return out;
}

export async function engineBenchmark(options: EngineOptions): Promise<BenchResult> {
  const started = Date.now();
  const loadBefore = loadAverage();
  progress(
    `engine: ${options.esmes} ESMEs, ${options.windows} open windows, ${options.alerts} AD1s a repetition`,
  );
  const inventory = new Inventory(options.esmes, options.windows);
  const settings = DEFAULT_ENGINE_SETTINGS;
  const facts = buildFacts(inventory, options.alerts, options.inWindowShare, 42);
  // Warm-up (JIT) on the same facts.
  for (const f of facts) decidePowerOutageAlert(f, settings, NOW);

  const decideRates: number[] = [];
  const buildRates: number[] = [];
  const jsonRates: number[] = [];
  let decisions: AlertDecision[] = [];
  let sink = 0;
  for (let rep = 0; rep < options.repetitions; rep++) {
    let t0 = nowMs();
    decisions = facts.map((f) => decidePowerOutageAlert(f, settings, NOW));
    decideRates.push(facts.length / ((nowMs() - t0) / 1000));

    t0 = nowMs();
    const built = buildFacts(inventory, options.alerts, options.inWindowShare, 42);
    buildRates.push(built.length / ((nowMs() - t0) / 1000));
    sink += built.length;

    t0 = nowMs();
    for (const f of facts) sink += (JSON.parse(JSON.stringify(f)) as { devices: unknown[] }).devices.length;
    jsonRates.push(facts.length / ((nowMs() - t0) / 1000));
    progress(
      `engine rep ${rep + 1}: decide ${round(decideRates[rep])}/s, build ${round(buildRates[rep])}/s, JSON ${round(jsonRates[rep])}/s`,
    );
    await new Promise((r) => setImmediate(r));
  }

  const mix: Record<string, number> = {};
  for (const d of decisions) mix[`${d.outcome}/${d.reason}`] = (mix[`${d.outcome}/${d.reason}`] ?? 0) + 1;
  const outcomes = new Set(decisions.map((d) => d.outcome));
  const checks: Check[] = [
    check(
      'every decision has a known outcome and reason',
      decisions.length === facts.length &&
        decisions.every(
          (d) =>
            ['DELIVERED', 'HELD', 'SUPPRESSED', 'PAIRED', 'RELEASED'].includes(d.outcome) &&
            (DECISION_REASONS as readonly string[]).includes(d.reason),
        ),
      `${decisions.length} decisions`,
    ),
    check(
      'deterministic (same facts, same decision)',
      facts
        .slice(0, 500)
        .every((f, k) => sameDecision(decidePowerOutageAlert(f, settings, NOW), decisions[k])),
      'first 500 re-decided',
    ),
    check(
      'the mix exercises delivery and holds',
      outcomes.has('DELIVERED') && outcomes.has('HELD'),
      `outcomes: ${[...outcomes].join(', ')}`,
    ),
  ];
  const decide = median(decideRates);
  const build = median(buildRates);
  const json = median(jsonRates);
  const sizes = facts.map((f) => JSON.stringify(f).length);
  return {
    id: 'engine',
    title: '4. Decision engine',
    figures: [
      {
        name: 'decidePowerOutageAlert, in process',
        value: decide,
        unit: 'decisions/s',
        baseline: { name: 'building the facts objects', value: build, unit: 'facts/s' },
        ratio: decide / build,
      },
      {
        name: 'decidePowerOutageAlert vs JSON round-trip',
        value: decide,
        unit: 'decisions/s',
        baseline: { name: 'JSON.parse(JSON.stringify(facts))', value: json, unit: 'facts/s' },
        ratio: decide / json,
      },
    ],
    checks,
    notes: [
      `${options.esmes.toLocaleString('en-GB')} ESMEs (compact in-memory inventory), ${options.windows.toLocaleString('en-GB')} open windows, ` +
        `${Math.round(options.inWindowShare * 100)}% of AD1s from ESMEs in a window; ${options.alerts} facts objects, ` +
        `${options.repetitions} interleaved repetitions (decide / build / JSON), medians. Mean facts size ` +
        `${Math.round(sizes.reduce((a, b) => a + b, 0) / sizes.length)} bytes as JSON.`,
      `decisions: ${JSON.stringify(mix)}`,
      `(checksum ${sink})`,
    ],
    load: { before: loadBefore, after: loadAverage() },
    seconds: (Date.now() - started) / 1000,
  };
}
