import { inspectMpan, parseMpan } from '../../../src/domain/identifiers';
import {
  arrivalAfterDark,
  DEFAULT_SCENARIO,
  firmwareVersionAt,
  generateScenario,
  MAX_COMMS_HUB_OFF_MINUTES,
  MIN_OTA_CUT_MINUTES,
  OTA_CUT_MINUTES,
  otaCutRangeOf,
  premisesReachableAt,
  SIM_IMAGES,
  SIM_MODELS,
} from '../../../src/sim/scenario';
import type { DarkInterval, Scenario } from '../../../src/sim/scenario';

/**
 * The physics of the simulated fleet (docs/TIMELINE.md, step 3): nothing from a
 * premises travels while its CH is dark, a meter without mains executes nothing, an OTA cut lasts
 * its image's characteristic time. Checked over several seeds and a few thousand premises, against
 * dark periods rebuilt here from the outages (not taken from the generator's own timeline).
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const SEEDS = [1, 7, 42, 20260302];
const scenarios = SEEDS.map((seed) => generateScenario({ seed, devices: 3000, days: 2 }));
// Frequent single-premises outages, so that executions falling inside one are common.
const stormy = generateScenario({ seed: 5, devices: 3000, days: 2, singleOutagesPerPremisesYear: 60 });
const all = [...scenarios, stormy];

/** Dark periods per premises, from the outage truth alone. */
function darkOf(s: Scenario): DarkInterval[][] {
  const dark: DarkInterval[][] = s.premises.map(() => []);
  for (const o of s.outages)
    for (const pi of o.premises)
      dark[pi].push({ from: o.startAt, to: o.endAt, outageId: o.id, genuine: o.genuine });
  return dark;
}
const covering = (xs: readonly DarkInterval[], t: number) => xs.filter((d) => d.from <= t && t < d.to);
const premisesOf = (s: Scenario) => new Map(s.premises.map((p) => [p.esmeGuid, p.index]));
/** The latest power return at or before `t`. */
const lastReturn = (xs: readonly DarkInterval[], t: number) =>
  Math.max(...xs.filter((d) => d.to <= t).map((d) => d.to));

describe('simulator physics: dark premises', () => {
  it.each(all.map((s) => [s.options.seed, s] as const))(
    'seed %d: no outcome or restore arrives while its CH is dark',
    (_seed, s) => {
      const dark = darkOf(s);
      const byEsme = premisesOf(s);
      let checked = 0;
      for (const e of s.events) {
        if (e.kind !== 'OUTCOME' && e.kind !== 'RESTORE') continue;
        expect(covering(dark[byEsme.get(e.esmeGuid)!], e.at)).toEqual([]);
        checked++;
      }
      expect(checked).toBeGreaterThan(100);
    },
  );

  it.each(all.map((s) => [s.options.seed, s] as const))(
    'seed %d: a message generated in the dark arrives 5-60 s after power returns',
    (_seed, s) => {
      const dark = darkOf(s);
      let inDark = 0;
      const check = (pi: number, sentAt: number, arrivesAt: number) => {
        const xs = dark[pi];
        if (covering(xs, sentAt).length === 0) {
          // Sent with power: the ordinary transit, unless the next dark period caught it.
          if (arrivesAt - sentAt > 60 * SECOND) expect(lastReturn(xs, arrivesAt)).toBeGreaterThan(sentAt);
          else expect(arrivesAt - sentAt).toBeGreaterThanOrEqual(5 * SECOND);
          return;
        }
        inDark++;
        const back = lastReturn(xs, arrivesAt);
        expect(back).toBeGreaterThan(sentAt);
        expect(arrivesAt - back).toBeGreaterThanOrEqual(5 * SECOND);
        expect(arrivesAt - back).toBeLessThanOrEqual(60 * SECOND);
      };
      for (const a of s.activations)
        if (a.outcomeSentAt !== null) check(a.premises, a.outcomeSentAt, a.outcomeArrivesAt!);
      const byEsme = premisesOf(s);
      for (const e of s.events) {
        if (e.kind !== 'RESTORE') continue;
        // The restore carries the meter's clock; it was sent at the true restoration.
        const pi = byEsme.get(e.esmeGuid)!;
        check(pi, e.restorationAt - s.premises[pi].meterSkewMs, e.at);
      }
      expect(inDark).toBeGreaterThan(0);
    },
  );

  it('sends the outcome of every cutting activation from the dark, so it arrives after the cut', () => {
    for (const s of all) {
      const cuts = new Map(s.outages.filter((o) => o.cause === 'OTA').map((o) => [o.activation!, o]));
      expect(cuts.size).toBeGreaterThan(10);
      for (const [index, cut] of cuts) {
        const a = s.activations[index];
        if (a.outcomeArrivesAt === null) continue;
        expect(a.outcomeArrivesAt).toBeGreaterThanOrEqual(cut.endAt + 5 * SECOND);
      }
    }
  });

  it('lets late outcomes stay late and loses about a tenth', () => {
    expect(DEFAULT_SCENARIO.lostOutcomeShare).toBe(0.1);
    const executed = scenarios.flatMap((s) => s.activations.filter((a) => a.executedAt !== null));
    const lost = executed.filter((a) => a.outcomeDelivery === 'LOST').length / executed.length;
    expect(lost).toBeGreaterThan(0.07);
    expect(lost).toBeLessThan(0.13);
    for (const a of executed.filter((x) => x.outcomeDelivery === 'LATE'))
      expect(a.outcomeArrivesAt! - a.executedAt!).toBeGreaterThanOrEqual(12 * MINUTE);
  });
});

describe('simulator physics: no execution without mains', () => {
  it.each(all.map((s) => [s.options.seed, s] as const))(
    'seed %d: no activation executes inside a genuine outage of its own premises',
    (_seed, s) => {
      const genuine = darkOf(s).map((xs) => xs.filter((d) => d.genuine));
      for (const a of s.activations) {
        if (a.executedAt === null) continue;
        expect(covering(genuine[a.premises], a.executedAt)).toEqual([]);
      }
    },
  );

  it('runs a deferred activation 5-60 s after supply returns and reports the actual time', () => {
    const genuine = darkOf(stormy).map((xs) => xs.filter((d) => d.genuine));
    const deferred = stormy.activations.filter((a) => a.executionDeferred);
    expect(deferred.length).toBeGreaterThan(5);
    for (const a of deferred) {
      const due = a.executeAt ?? a.submittedAt;
      expect(a.executedAt!).toBeGreaterThan(due);
      const back = lastReturn(genuine[a.premises], a.executedAt!);
      expect(a.executedAt! - back).toBeGreaterThanOrEqual(5 * SECOND);
      expect(a.executedAt! - back).toBeLessThanOrEqual(60 * SECOND);
    }
    const reported = new Map(
      stormy.events.flatMap((e) => (e.kind === 'OUTCOME' ? [[e.activation, e.executedAt] as const] : [])),
    );
    // On the meter's clock: the true execution plus the meter's offset.
    for (const a of stormy.activations)
      if (reported.has(a.index))
        expect(reported.get(a.index)).toBe(a.executedAt! + stormy.premises[a.premises].meterSkewMs);
  });
});

describe('simulator physics: OTA cuts and coincident outages', () => {
  it('keeps every image cut range inside 3-15 minutes', () => {
    expect(MIN_OTA_CUT_MINUTES).toBe(3);
    expect(MAX_COMMS_HUB_OFF_MINUTES).toBe(15);
    for (const range of Object.values(OTA_CUT_MINUTES)) {
      expect(range.minMinutes).toBeGreaterThanOrEqual(MIN_OTA_CUT_MINUTES);
      expect(range.maxMinutes).toBeLessThanOrEqual(MAX_COMMS_HUB_OFF_MINUTES);
      expect(range.minMinutes).toBeLessThan(range.maxMinutes);
    }
    expect(otaCutRangeOf('AFFECTED')).not.toBeNull();
    expect(otaCutRangeOf('OTHER')).toBeNull();
  });

  it.each(all.map((s) => [s.options.seed, s] as const))(
    "seed %d: an OTA cut starts seconds after a successful execution and lasts its image's length",
    (_seed, s) => {
      for (const o of s.outages.filter((x) => x.cause === 'OTA')) {
        const a = s.activations[o.activation!];
        const range = otaCutRangeOf(a.modelClass)!;
        expect(a.fate).toBe('SUCCEEDED');
        expect(o.startAt - a.executedAt!).toBeGreaterThanOrEqual(2 * SECOND);
        expect(o.startAt - a.executedAt!).toBeLessThanOrEqual(15 * SECOND);
        const minutes = (o.endAt - o.startAt) / MINUTE;
        expect(minutes).toBeGreaterThanOrEqual(range.minMinutes);
        expect(minutes).toBeLessThanOrEqual(range.maxMinutes);
        expect(minutes).toBeGreaterThanOrEqual(MIN_OTA_CUT_MINUTES);
        expect(minutes).toBeLessThanOrEqual(MAX_COMMS_HUB_OFF_MINUTES);
      }
    },
  );

  it.each(all.map((s) => [s.options.seed, s] as const))(
    'seed %d: coincident outages start 4-28 min after a cut-free execution and overlap no cut',
    (_seed, s) => {
      const cut = new Set(s.outages.filter((o) => o.cause === 'OTA').map((o) => o.activation));
      const coincident = s.outages.filter((o) => o.cause === 'COINCIDENT');
      expect(coincident.length).toBeGreaterThan(0);
      const dark = darkOf(s);
      for (const o of coincident) {
        const a = s.activations[o.activation!];
        expect(a.fate).toBe('SUCCEEDED');
        expect(cut.has(a.index)).toBe(false);
        expect(o.startAt - a.executedAt!).toBeGreaterThanOrEqual(4 * MINUTE);
        expect(o.startAt - a.executedAt!).toBeLessThanOrEqual(28 * MINUTE);
        const cuts = dark[o.premises[0]].filter((d) => !d.genuine);
        expect(cuts.filter((d) => d.from < o.endAt && o.startAt < d.to)).toEqual([]);
      }
      // And the whole feeder that loses supply inside an activation's window.
      expect(s.outages.some((o) => o.cause === 'FEEDER' && o.activation !== null)).toBe(true);
    },
  );
});

describe('simulator physics: MPANs with a bad check digit', () => {
  it('puts a wrong check digit on about the configured share of AD1s, truth unchanged', () => {
    const options = { seed: 3, devices: 3000, days: 2 };
    const clean = generateScenario({ ...options, badCheckDigitShare: 0 });
    const dirty = generateScenario({ ...options, badCheckDigitShare: 0.2 });
    const mpans = (s: Scenario) => s.events.flatMap((e) => (e.kind === 'AD1' ? [e] : []));
    expect(mpans(clean).every((e) => inspectMpan(e.mpan).checkDigitValid)).toBe(true);
    const byKey = new Map(dirty.ad1s.map((a) => [a.key, a]));
    const bad = mpans(dirty).filter((e) => !inspectMpan(e.mpan).checkDigitValid);
    const share = bad.length / mpans(dirty).length;
    expect(share).toBeGreaterThan(0.15);
    expect(share).toBeLessThan(0.25);
    for (const e of bad) {
      const truth = dirty.premises[byKey.get(e.key)!.premises];
      expect(e.mpan.slice(0, 12)).toBe(truth.mpan.slice(0, 12));
      expect(() => parseMpan(e.mpan)).toThrow(/check digit/);
      expect(inspectMpan(e.mpan).distributorId).toBe(truth.distributorId);
    }
    expect(DEFAULT_SCENARIO.badCheckDigitShare).toBe(0.002);
  });
});

describe('simulator physics: verification truth', () => {
  const s = scenarios[2];

  it('is reachable outside dark periods only', () => {
    const cut = s.outages.find((o) => o.cause === 'OTA')!;
    const esme = s.premises[cut.premises[0]].esmeGuid;
    expect(premisesReachableAt(s, esme, cut.startAt - MINUTE)).toBe(
      !s.darkIntervals[cut.premises[0]].some(
        (d) => d.from <= cut.startAt - MINUTE && cut.startAt - MINUTE < d.to,
      ),
    );
    expect(premisesReachableAt(s, esme, (cut.startAt + cut.endAt) / 2)).toBe(false);
    expect(premisesReachableAt(s, esme, cut.endAt)).toBe(true);
    const genuine = s.outages.find((o) => o.cause === 'PREMISES')!;
    const other = s.premises[genuine.premises[0]].esmeGuid;
    expect(premisesReachableAt(s, other, genuine.startAt + SECOND)).toBe(false);
    expect(premisesReachableAt(s, '00-00-00-00-00-00-00-00', s.start)).toBe(false);
  });

  it('reports the image version only after a successful execution', () => {
    const ok = s.activations.find((a) => a.fate === 'SUCCEEDED' && a.modelClass === 'AFFECTED')!;
    expect(firmwareVersionAt(s, ok.esmeGuid, ok.executedAt! - SECOND)).toBe(SIM_MODELS.AFFECTED.firmware);
    expect(firmwareVersionAt(s, ok.esmeGuid, ok.executedAt!)).toBe(SIM_IMAGES.AFFECTED.version);
    const failed = s.activations.find((a) => a.fate === 'FAILED')!;
    expect(firmwareVersionAt(s, failed.esmeGuid, s.end)).toBe(SIM_MODELS[failed.modelClass].firmware);
    expect(() => firmwareVersionAt(s, '00-00-00-00-00-00-00-00', s.start)).toThrow();
  });
});

describe('arrivalAfterDark', () => {
  const d = (from: number, to: number): DarkInterval => ({ from, to, outageId: 'x', genuine: false });
  const ten = () => 10 * SECOND;

  it('adds transit when powered and waits for power when dark', () => {
    expect(arrivalAfterDark([], 0, ten)).toBe(10 * SECOND);
    expect(arrivalAfterDark([d(0, MINUTE)], 5 * SECOND, ten)).toBe(MINUTE + 10 * SECOND);
    expect(arrivalAfterDark([d(0, MINUTE)], MINUTE, ten)).toBe(MINUTE + 10 * SECOND);
  });

  it('never lands inside a later dark period', () => {
    const xs = [d(0, MINUTE), d(MINUTE + 5 * SECOND, 2 * MINUTE)];
    expect(arrivalAfterDark(xs, SECOND, ten)).toBe(2 * MINUTE + 10 * SECOND);
  });
});

describe('simulator physics: determinism', () => {
  it('gives the same activations, outages and dark periods for the same seed', () => {
    const a = generateScenario({ seed: 99, devices: 2000, days: 2 });
    const b = generateScenario({ seed: 99, devices: 2000, days: 2 });
    expect(JSON.stringify(b.activations)).toBe(JSON.stringify(a.activations));
    expect(JSON.stringify(b.outages)).toBe(JSON.stringify(a.outages));
    expect(JSON.stringify(b.darkIntervals)).toBe(JSON.stringify(a.darkIntervals));
    expect(JSON.stringify(b.events)).toBe(JSON.stringify(a.events));
  });
});
