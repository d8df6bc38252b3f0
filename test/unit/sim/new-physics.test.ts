import crypto from 'node:crypto';
import { planVerificationAnswer } from '../../../src/sim/dcc-adapter';
import {
  DEFAULT_SCENARIO,
  generateScenario,
  HARSH_SCENARIO,
  SCENARIO_PRESETS,
  WITHOUT_2026_12_07_PHYSICS,
} from '../../../src/sim/scenario';
import type { Scenario, SimEvent } from '../../../src/sim/scenario';
import { describeScenarioFacts } from '../../../src/sim/scenario-facts';

/**
 * The physics added on 2026-12-07 (docs/SIMULATOR.md): supplier claims beside DCC's outcomes,
 * meter clocks, clustered campaigns, the harsh preset, and the older seeds kept as they were.
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const SEEDS = [1, 42, 20260302];
const scenarios = SEEDS.map((seed) => generateScenario({ seed, devices: 4000, days: 2 }));
const cases = scenarios.map((s) => [s.options.seed, s] as const);
const eventsOf = <K extends SimEvent['kind']>(s: Scenario, kind: K) =>
  s.events.filter((e): e is Extract<SimEvent, { kind: K }> => e.kind === kind);
const inDark = (s: Scenario, pi: number, t: number) =>
  s.darkIntervals[pi].some((d) => d.from <= t && t < d.to);

describe('supplier claims', () => {
  it('are on by default: 30% of executed activations, half of those whose outcome was lost', () => {
    expect(DEFAULT_SCENARIO.supplierClaimShare).toBe(0.3);
    expect(DEFAULT_SCENARIO.claimWhenLostShare).toBe(0.5);
    const executed = scenarios.flatMap((s) => s.activations.filter((a) => a.executedAt !== null));
    const delivered = executed.filter((a) => a.outcomeArrivesAt !== null);
    const share = delivered.filter((a) => a.claim !== null).length / delivered.length;
    expect(share).toBeGreaterThan(0.26);
    expect(share).toBeLessThan(0.34);
    const lost = executed.filter((a) => a.outcomeDelivery === 'LOST');
    const lostShare = lost.filter((a) => a.claim !== null).length / lost.length;
    expect(lostShare).toBeGreaterThan(0.08);
    expect(lostShare).toBeLessThan(0.22);
    for (const a of lost) if (a.claim) expect(a.claim.outcomeLost).toBe(true);
  });

  it.each(cases)(
    'seed %d: a claim follows the DCC outcome by 1-20 min, with what the meter reported',
    (_seed, s) => {
      const claims = new Map(eventsOf(s, 'CLAIM').map((e) => [e.activation, e]));
      const outcomes = new Map(eventsOf(s, 'OUTCOME').map((e) => [e.activation, e]));
      expect(claims.size).toBe(s.activations.filter((a) => a.claim !== null).length);
      for (const a of s.activations) {
        const claim = claims.get(a.index);
        if (!a.claim) {
          expect(claim).toBeUndefined();
          continue;
        }
        expect(claim).toMatchObject({ at: a.claim.arrivesAt, outcomeCode: a.outcomeCode });
        expect(claim!.executedAt).toBe(a.reportedExecutedAt);
        const outcome = outcomes.get(a.index);
        if (outcome) {
          // The outcome the supplier believes is the one the meter reported, 1-20 min later.
          expect(claim!.executedAt).toBe(outcome.executedAt);
          expect(claim!.firmwareVersion).toBe(outcome.firmwareVersion);
          expect(claim!.at - outcome.at).toBeGreaterThanOrEqual(MINUTE);
          expect(claim!.at - outcome.at).toBeLessThanOrEqual(20 * MINUTE);
        } else {
          // Lost outcome: 5-30 min after the execution, and never while the premises is dark.
          expect(a.outcomeDelivery).toBe('LOST');
          expect(claim!.at - a.executedAt!).toBeGreaterThanOrEqual(5 * MINUTE);
          expect(inDark(s, a.premises, claim!.at)).toBe(false);
          const dark = s.darkIntervals[a.premises].some((d) => d.to < claim!.at && d.to > a.executedAt!);
          if (!dark) expect(claim!.at - a.executedAt!).toBeLessThanOrEqual(30 * MINUTE);
        }
      }
    },
  );

  it('sends none with supplierClaimShare 0, and every outcome still goes as DCC outcome', () => {
    const s = generateScenario({ seed: 42, devices: 2000, days: 1, supplierClaimShare: 0 });
    expect(eventsOf(s, 'CLAIM')).toEqual([]);
    expect(s.activations.every((a) => a.claim === null)).toBe(true);
    const channels = new Set(eventsOf(s, 'OUTCOME').map((e) => e.channel));
    expect([...channels].sort()).toEqual(['8F66', '8F67', 'IMMEDIATE']);
  });
});

describe('meter clocks', () => {
  it.each(cases)('seed %d: every time a meter stamps is off by its own constant offset', (_seed, s) => {
    const byEsme = new Map(s.premises.map((p) => [p.esmeGuid, p]));
    for (const e of eventsOf(s, 'OUTCOME')) {
      const a = s.activations[e.activation];
      expect(e.executedAt - a.executedAt!).toBe(byEsme.get(e.esmeGuid)!.meterSkewMs);
    }
    for (const e of eventsOf(s, 'RESTORE')) {
      const p = byEsme.get(e.esmeGuid)!;
      const outage = s.outages.find((o) => o.id === e.outageId)!;
      const interruption = e.interruptionAt - p.meterSkewMs;
      // The true interruption is the outage start (plus a feeder's spread of up to 10 s).
      expect(interruption - outage.startAt).toBeGreaterThanOrEqual(-SECOND);
      expect(interruption - outage.startAt).toBeLessThanOrEqual(11 * SECOND);
      expect(e.restorationAt - p.meterSkewMs - outage.endAt).toBeGreaterThanOrEqual(-SECOND);
    }
  });

  it('skews about a tenth of meters by up to a minute by default, the rest by a few seconds', () => {
    expect(DEFAULT_SCENARIO.meterSkewedClockShare).toBe(0.1);
    expect(DEFAULT_SCENARIO.maxClockSkewSeconds).toBe(60);
    const offsets = scenarios.flatMap((s) => s.premises.map((p) => Math.abs(p.meterSkewMs)));
    expect(Math.max(...offsets)).toBeLessThanOrEqual(60 * SECOND);
    const skewed = offsets.filter((x) => x > 3 * SECOND).length / offsets.length;
    // 10% skewed, of which those drawn within 3 s (5%) look unskewed.
    expect(skewed).toBeGreaterThan(0.08);
    expect(skewed).toBeLessThan(0.11);
    for (const s of scenarios) expect(describeScenarioFacts(s).maxMeterOffsetSeconds).toBeGreaterThan(50);
  });

  it('bounds hubs and meters by maxClockSkewSeconds', () => {
    const s = generateScenario({
      seed: 3,
      devices: 3000,
      days: 1,
      maxClockSkewSeconds: 240,
      skewedClockShare: 0.5,
      meterSkewedClockShare: 0.5,
    });
    const meters = s.premises.map((p) => Math.abs(p.meterSkewMs));
    const hubs = s.premises.flatMap((p) => p.commsHubs.map((h) => Math.abs(h.skewMs)));
    for (const xs of [meters, hubs]) {
      expect(Math.max(...xs)).toBeLessThanOrEqual(240 * SECOND);
      expect(Math.max(...xs)).toBeGreaterThan(200 * SECOND);
      expect(xs.filter((x) => x > 60 * SECOND).length).toBeGreaterThan(xs.length * 0.3);
    }
  });

  it("stamps a verification answer on the meter's clock, and keeps its true time", () => {
    const s = scenarios[1];
    const p = s.premises.find((x) => Math.abs(x.meterSkewMs) > 20 * SECOND)!;
    let answered = 0;
    for (let t = s.start + 10 * MINUTE; t < s.end; t += 61 * MINUTE) {
      const plan = planVerificationAnswer(
        s,
        { requestId: `r${t}`, deviceGuid: p.esmeGuid, requestedAt: t },
        0,
      );
      if (!plan) continue;
      answered++;
      expect(plan.answeredAt - plan.trueAnsweredAt).toBe(p.meterSkewMs);
      expect(plan.arrivesAt).toBeGreaterThan(plan.trueAnsweredAt);
    }
    expect(answered).toBeGreaterThan(10);
  });
});

describe('clustered campaigns', () => {
  it.each(cases)(
    'seed %d: 3-8 affected meters of one feeder, requested within 5 minutes of each other',
    (_seed, s) => {
      const clusters = new Map<number, Scenario['activations']>();
      for (const a of s.activations)
        if (a.cluster !== null) clusters.set(a.cluster, [...(clusters.get(a.cluster) ?? []), a]);
      expect(clusters.size).toBeGreaterThan(3);
      for (const members of clusters.values()) {
        expect(members.length).toBeGreaterThanOrEqual(3);
        expect(members.length).toBeLessThanOrEqual(8);
        expect(new Set(members.map((a) => s.premises[a.premises].areaKey)).size).toBe(1);
        expect(members.every((a) => a.modelClass === 'AFFECTED' && a.executeAt !== null)).toBe(true);
        const requested = members.map((a) => a.executeAt!);
        expect(Math.max(...requested) - Math.min(...requested)).toBeLessThanOrEqual(5 * MINUTE);
        for (const a of members) {
          expect(a.executeAt! - a.submittedAt).toBeGreaterThanOrEqual(20 * MINUTE);
          expect(a.executeAt!).toBeLessThan(s.end);
        }
      }
      // About 5% of the campaign's activations on affected meters.
      const affected = s.activations.filter((a) => a.modelClass === 'AFFECTED' && a.cluster === null);
      const clustered = [...clusters.values()].flat().length;
      expect(clustered / (clustered + affected.length)).toBeGreaterThan(0.03);
      expect(clustered / (clustered + affected.length)).toBeLessThan(0.07);
    },
  );

  it('makes overlapping OTA cuts on one feeder when most activations cut', () => {
    const s = generateScenario({ seed: 8, devices: 4000, days: 2, otaOutageProbability: 0.9 });
    const facts = describeScenarioFacts(s);
    expect(facts.clustersWithOverlappingCuts).toBeGreaterThan(0);
    expect(facts.clustersWith3CutsIn10Min).toBeGreaterThan(0);
    const none = generateScenario({ seed: 8, devices: 4000, days: 2, clusteredCampaignShare: 0 });
    expect(none.activations.every((a) => a.cluster === null)).toBe(true);
  });
});

describe('deferred execution', () => {
  const stormy = generateScenario({ seed: 5, devices: 3000, days: 2, singleOutagesPerPremisesYear: 60 });

  it('sends the restore at restoration, before the execution that supply allowed', () => {
    const deferred = stormy.activations.filter((a) => a.executionDeferred);
    expect(deferred.length).toBeGreaterThan(5);
    const byEsme = new Map(stormy.premises.map((p) => [p.esmeGuid, p]));
    let checked = 0;
    for (const e of eventsOf(stormy, 'RESTORE')) {
      const p = byEsme.get(e.esmeGuid)!;
      const outage = stormy.outages.find((o) => o.id === e.outageId)!;
      for (const a of deferred.filter((x) => x.premises === p.index)) {
        if (a.executedAt! <= outage.endAt || a.executedAt! > outage.endAt + MINUTE) continue;
        expect(e.restorationAt - p.meterSkewMs).toBeLessThanOrEqual(a.executedAt!);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(0);
    const facts = describeScenarioFacts(stormy);
    expect(facts.deferredExecutions).toBe(deferred.length);
    expect(facts.deferredExecutionCuts).toBeGreaterThan(0);
    expect(facts.deferredCutStartAfterRestorationMaxSeconds).toBeLessThanOrEqual(80);
    expect(facts.deferredRestoresBeforeCut + facts.deferredRestoresHeldBehindCut).toBeGreaterThan(0);
  });
});

describe('the harsh preset', () => {
  it('is the defaults with the harsh values', () => {
    expect(SCENARIO_PRESETS.harsh).toBe(HARSH_SCENARIO);
    expect(SCENARIO_PRESETS.default).toBe(DEFAULT_SCENARIO);
    const changed = Object.fromEntries(
      Object.entries(HARSH_SCENARIO).filter(
        ([k, v]) => DEFAULT_SCENARIO[k as keyof typeof DEFAULT_SCENARIO] !== v,
      ),
    );
    expect(changed).toEqual({
      lostOutcomeShare: 0.3,
      otaOutageProbability: 0.6,
      maxClockSkewSeconds: 240,
      skewedClockShare: 0.3,
      meterSkewedClockShare: 0.3,
      chSwapCount: 20,
      badCheckDigitShare: 0.02,
      verificationLostShare: 0.2,
    });
  });

  it('gives exactly 20 hub swaps, a third of outcomes lost and clocks minutes off', () => {
    const s = generateScenario({ ...HARSH_SCENARIO, devices: 5000, days: 2 });
    const facts = describeScenarioFacts(s);
    expect(facts.chSwaps).toBe(20);
    expect(facts.outcomesLost / facts.executedActivations).toBeGreaterThan(0.26);
    expect(facts.outcomesLost / facts.executedActivations).toBeLessThan(0.34);
    expect(facts.maxMeterOffsetSeconds).toBeGreaterThan(200);
    expect(facts.maxHubOffsetSeconds).toBeGreaterThan(200);
    expect(facts.metersOffBeyondJitter).toBeGreaterThan(0.25 * s.premises.length);
    // chSwapCount overrides the share either way.
    expect(describeScenarioFacts(generateScenario({ devices: 3000, chSwapCount: 5 })).chSwaps).toBe(5);
  });
});

describe('older seeds', () => {
  /**
   * Hashes of what the generator gave before the 2026-12-07 physics (commit 8735b8d), for two
   * seeds without a deferred execution stamped before its restore. With the new physics off,
   * the fleet, campaign, outages, messages and truth must be the same.
   */
  const BEFORE: Record<number, Record<string, string>> = {
    7: {
      events: '3ff9bb8f309d5cc9',
      ad1s: '7546c18d08093d53',
      outages: '53cd24c52738a6b5',
      activations: 'cd1bf3ac74042fc5',
      premises: '2f4f39344daaef16',
      dark: 'e62d82e607039d7b',
    },
    20260302: {
      events: '3992d29b909f4b60',
      ad1s: '2e6807fda8b5f95a',
      outages: '2191585de25edd67',
      activations: 'b0d647809b6eec44',
      premises: 'f723ae53295c5bb2',
      dark: 'bbcec8b5ae219fd8',
    },
  };
  const hash = (x: unknown) =>
    crypto.createHash('sha256').update(JSON.stringify(x)).digest('hex').slice(0, 16);
  const without = <T extends object>(x: T, keys: string[]) =>
    Object.fromEntries(Object.entries(x).filter(([k]) => !keys.includes(k)));

  it.each([
    [7, 2000],
    [20260302, 300],
  ])('seed %d, %d premises: the same scenario with the new physics off', (seed, devices) => {
    const s = generateScenario({ seed, devices, days: 1, ...WITHOUT_2026_12_07_PHYSICS });
    expect({
      events: hash(s.events),
      ad1s: hash(s.ad1s),
      outages: hash(s.outages),
      activations: hash(s.activations.map((a) => without(a, ['claim', 'cluster', 'reportedExecutedAt']))),
      premises: hash(s.premises.map((p) => without(p, ['meterSkewMs']))),
      dark: hash(s.darkIntervals),
    }).toEqual(BEFORE[seed]);
  });
});
