import fs from 'node:fs';
import path from 'node:path';
import { renderChart } from './chart';
import { replayScenario } from './replay';
import type { Ad1Decision, ReplayOptions, ReplayResult } from './replay';
import { generateScenario } from './scenario';
import type { Scenario, ScenarioOptions } from './scenario';
import { describeScenarioFacts } from './scenario-facts';
import {
  blanketPolicy,
  computeScores,
  evidenceMinutesOf,
  formatScoreMarkdown,
  formatScoreTable,
  noFilterPolicy,
  outcomeMissingKeys,
  stands,
} from './scoreboard';
import type { PolicyDeliveries, PolicyScore } from './scoreboard';

export * from './scenario';
export { describeScenarioFacts } from './scenario-facts';
export * from './scoreboard';
export { renderChart } from './chart';
export { replayScenario, SimClock } from './replay';
export type { ReplayOptions, ReplayResult } from './replay';

/** The kinds of finding, in the order the reports count them. */
export const FINDING_KINDS = [
  'OTA_DELIVERED_WITH_OUTCOME',
  'OTA_DELIVERED_OUTCOME_MISSING',
  'GENUINE_OUTAGE_HIDDEN',
  'GENUINE_AD1_WITHDRAWN',
  'GENUINE_AD1_DELAYED',
] as const;

/** One line counting the findings by kind, as both reports print it. */
export function formatFindingCounts(findings: readonly Finding[]): string {
  const counts = FINDING_KINDS.map((k) => `${k} ${findings.filter((f) => f.kind === k).length}`);
  return `Findings: ${findings.length} (${counts.join(', ')}); details in scoreboard.json`;
}

/** A genuine AD1 delivered later than this after it arrived is a finding (the target's maximum). */
export const DELAY_FINDING_MINUTES = 20;

/** A wrong or surprising decision of ours, with what the service knew (for the report). */
export interface Finding {
  readonly kind: (typeof FINDING_KINDS)[number];
  readonly outageId: string;
  readonly cause: string;
  readonly ad1Key: string;
  readonly alertId: string | null;
  readonly outcome: string | null;
  readonly reason: string | null;
  readonly history: string[];
  readonly facts: Record<string, unknown>;
}

export interface SimulationReport {
  readonly scenario: Record<string, unknown> & { options: ScenarioOptions };
  readonly backend: string;
  readonly engine: ReplayResult['config']['engine'];
  readonly timings: ReplayResult['timings'] & { generateMs: number };
  readonly counts: ReplayResult['counts'];
  readonly errors: ReplayResult['errors'];
  readonly scores: PolicyScore[];
  readonly oursByOutcome: Record<string, number>;
  readonly findings: Finding[];
}

export interface SimulationRun {
  readonly scenario: Scenario;
  readonly replay: ReplayResult;
  readonly policies: PolicyDeliveries[];
  readonly report: SimulationReport;
}

/** Generates the scenario, replays it through the services, and scores the three policies. */
export async function runReplaySimulation(
  options: Partial<ScenarioOptions>,
  replayOptions: ReplayOptions = {},
): Promise<SimulationRun> {
  const g0 = Date.now();
  const scenario = generateScenario(options);
  const generateMs = Date.now() - g0;
  const replay = await replayScenario(scenario, replayOptions);
  const engine = replay.config.engine;
  const policies = [
    noFilterPolicy(scenario),
    blanketPolicy(scenario, engine.windowMinutes, engine.skewMinutes),
    replay.ours,
  ];
  const missing = outcomeMissingKeys(scenario, evidenceMinutesOf(engine));
  const candidates = [...replay.decisions.values()].filter((d) =>
    d.history.some((h) => h.startsWith('HELD')),
  ).length;
  const scores = computeScores(scenario.ad1s, policies, missing).map((s) =>
    s.policy === 'ours'
      ? {
          ...s,
          verification: {
            requests: replay.counts.verificationRequests,
            answers: replay.counts.verificationAnswers,
            candidates,
          },
        }
      : s,
  );
  const oursByOutcome: Record<string, number> = {};
  for (const ad1 of scenario.ad1s) {
    if (ad1.arrivedAt === null) continue;
    const d = replay.decisions.get(ad1.key);
    const k = `${ad1.genuine ? 'genuine' : 'ota'} ${d?.outcome ?? 'NONE'} ${d?.reason ?? ''}`.trim();
    oursByOutcome[k] = (oursByOutcome[k] ?? 0) + 1;
  }
  const report: SimulationReport = {
    scenario: { ...describeScenarioFacts(scenario), options: scenario.options },
    backend: replay.backend,
    engine,
    timings: { ...replay.timings, generateMs },
    counts: replay.counts,
    errors: replay.errors,
    scores,
    oursByOutcome: Object.fromEntries(Object.entries(oursByOutcome).sort()),
    findings: [
      ...findings(scenario, replay.ours, replay.decisions, missing),
      ...withdrawnFindings(scenario, replay.ours, replay.decisions),
    ],
  };
  return { scenario, replay, policies, report };
}

/** Every OTA-induced AD1 a policy delivered and every genuine outage it never did, with what the service knew. */
export function findings(
  scenario: Scenario,
  ours: PolicyDeliveries,
  decisions: ReadonlyMap<string, Ad1Decision>,
  missing: ReadonlySet<string>,
): Finding[] {
  const out: Finding[] = [];
  const outages = new Map(scenario.outages.map((o) => [o.id, o]));
  const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
  const factsOf = (key: string) => {
    const ad1 = scenario.ad1s.find((a) => a.key === key)!;
    const outage = outages.get(ad1.outageId)!;
    const p = scenario.premises[ad1.premises];
    const activations = scenario.activations
      .filter((a) => a.esmeGuid === ad1.esmeGuid)
      .map((a) => ({
        requestId: a.requestId,
        fate: a.fate,
        executeAt: iso(a.executeAt),
        submittedAt: iso(a.submittedAt),
        executedAt: iso(a.executedAt),
        outcomeCode: a.outcomeCode,
        outcomeArrivesAt: iso(a.outcomeArrivesAt),
        outcomeDelivery: a.outcomeDelivery,
      }));
    return {
      commsHub: ad1.commsHubGuid,
      esme: ad1.esmeGuid,
      model: p.modelClass,
      areaKey: p.areaKey,
      startAt: iso(ad1.startAt),
      arrivedAt: iso(ad1.arrivedAt),
      outage: {
        cause: outage.cause,
        startAt: iso(outage.startAt),
        endAt: iso(outage.endAt),
        premises: outage.premises.length,
      },
      activations,
      restoresSent: scenario.events.filter(
        (e) => e.kind === 'RESTORE' && e.outageId === outage.id && e.esmeGuid === ad1.esmeGuid,
      ).length,
    };
  };
  const decision = (key: string) => decisions.get(key);
  for (const ad1 of scenario.ad1s) {
    if (ad1.genuine || ad1.arrivedAt === null || !ours.deliveredAt.has(ad1.key)) continue;
    const d = decision(ad1.key);
    out.push({
      kind: missing.has(ad1.key) ? 'OTA_DELIVERED_OUTCOME_MISSING' : 'OTA_DELIVERED_WITH_OUTCOME',
      outageId: ad1.outageId,
      cause: 'OTA',
      ad1Key: ad1.key,
      alertId: d?.alertId ?? null,
      outcome: d?.outcome ?? null,
      reason: d?.reason ?? null,
      history: d?.history ?? [],
      facts: factsOf(ad1.key),
    });
  }
  for (const ad1 of scenario.ad1s) {
    const at = ours.deliveredAt.get(ad1.key);
    if (!ad1.genuine || ad1.arrivedAt === null || at === undefined) continue;
    if (at - ad1.arrivedAt <= DELAY_FINDING_MINUTES * 60_000) continue;
    const d = decision(ad1.key);
    out.push({
      kind: 'GENUINE_AD1_DELAYED',
      outageId: ad1.outageId,
      cause: outages.get(ad1.outageId)!.cause,
      ad1Key: ad1.key,
      alertId: d?.alertId ?? null,
      outcome: d?.outcome ?? null,
      reason: d?.reason ?? null,
      history: d?.history ?? [],
      facts: { ...factsOf(ad1.key), deliveredAt: iso(at), delayMinutes: (at - ad1.arrivedAt) / 60_000 },
    });
  }
  const genuineByOutage = new Map<string, string[]>();
  for (const ad1 of scenario.ad1s) {
    if (!ad1.genuine || ad1.arrivedAt === null) continue;
    genuineByOutage.set(ad1.outageId, [...(genuineByOutage.get(ad1.outageId) ?? []), ad1.key]);
  }
  for (const [outageId, keys] of genuineByOutage) {
    if (keys.some((k) => stands(ours, k))) continue;
    for (const key of keys) {
      const d = decision(key);
      out.push({
        kind: 'GENUINE_OUTAGE_HIDDEN',
        outageId,
        cause: outages.get(outageId)!.cause,
        ad1Key: key,
        alertId: d?.alertId ?? null,
        outcome: d?.outcome ?? null,
        reason: d?.reason ?? null,
        history: d?.history ?? [],
        facts: factsOf(key),
      });
    }
  }
  return out;
}

/** Every genuine AD1 delivered and then withdrawn: a correction the service should not have made. */
export function withdrawnFindings(
  scenario: Scenario,
  ours: PolicyDeliveries,
  decisions: ReadonlyMap<string, Ad1Decision>,
): Finding[] {
  const iso = (t: number | undefined) => (t === undefined ? null : new Date(t).toISOString());
  return scenario.ad1s
    .filter((a) => a.genuine && ours.deliveredAt.has(a.key) && !stands(ours, a.key))
    .map((a) => {
      const d = decisions.get(a.key);
      const outageStands = scenario.ad1s.some((x) => x.outageId === a.outageId && stands(ours, x.key));
      return {
        kind: 'GENUINE_AD1_WITHDRAWN' as const,
        outageId: a.outageId,
        cause: a.outageId.split('-')[0],
        ad1Key: a.key,
        alertId: d?.alertId ?? null,
        outcome: d?.outcome ?? null,
        reason: d?.reason ?? null,
        history: d?.history ?? [],
        facts: {
          deliveredAt: iso(ours.deliveredAt.get(a.key)),
          withdrawnAt: iso(ours.withdrawnAt?.get(a.key)),
          outageStillDelivered: outageStands,
        },
      };
    });
}

/** What the artifacts are made of: a replay run or a live one. */
export interface ArtifactSource {
  readonly scenario: Scenario;
  readonly policies: readonly PolicyDeliveries[];
  readonly report: { readonly scores: readonly PolicyScore[] };
}

/** Writes scoreboard.json, scoreboard.md, scoreboard.txt and scoreboard.svg into `dir`. */
export function writeArtifacts(run: ArtifactSource, dir: string): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const files = {
    'scoreboard.json': JSON.stringify(run.report, null, 2) + '\n',
    'scoreboard.txt': formatScoreTable(run.report.scores) + '\n',
    'scoreboard.md': formatScoreMarkdown(run.report.scores) + '\n',
    'scoreboard.svg': renderChart(run.scenario.ad1s, run.policies, {
      start: run.scenario.start,
      end: run.scenario.end + 6 * 3_600_000,
      binMinutes: run.scenario.options.days > 4 ? 180 : 60,
      title: `AD1s per hour: ${run.scenario.premises.length.toLocaleString('en-GB')} premises, seed ${run.scenario.options.seed}, ${run.scenario.options.days} days`,
    }),
  };
  return Object.entries(files).map(([name, text]) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  });
}
