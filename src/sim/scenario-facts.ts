import { describeScenario } from './scenario';
import type { Scenario } from './scenario';

/**
 * The scenario's counts for the report: describeScenario's, and those of the physics that make a
 * filter's life hard (claims, meter clocks, clustered campaigns, deferred executions), so that a
 * scoreboard always says how much of each its traffic held.
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;

export function describeScenarioFacts(s: Scenario): Record<string, number> {
  return {
    ...describeScenario(s),
    ...claimFacts(s),
    ...clockFacts(s),
    ...clusterFacts(s),
    ...deferredFacts(s),
  };
}

function claimFacts(s: Scenario): Record<string, number> {
  const claims = s.activations.filter((a) => a.claim !== null);
  return {
    executedActivations: s.activations.filter((a) => a.executedAt !== null).length,
    outcomesLost: s.activations.filter((a) => a.outcomeDelivery === 'LOST').length,
    supplierClaims: claims.length,
    supplierClaimsOfLostOutcomes: claims.filter((a) => a.claim!.outcomeLost).length,
  };
}

function clockFacts(s: Scenario): Record<string, number> {
  const jitter = s.options.meterClockJitterSeconds * SECOND;
  const meters = s.premises.map((p) => Math.abs(p.meterSkewMs));
  const hubs = s.premises.flatMap((p) => p.commsHubs.map((h) => Math.abs(h.skewMs)));
  return {
    metersOffBeyondJitter: meters.filter((m) => m > jitter).length,
    maxMeterOffsetSeconds: Math.max(0, ...meters) / SECOND,
    hubsOffOver3s: hubs.filter((h) => h > 3 * SECOND).length,
    maxHubOffsetSeconds: Math.max(0, ...hubs) / SECOND,
  };
}

/** Clusters, and those whose OTA cuts overlapped: 2 or more at once, or 3+ within 10 minutes (as a feeder fault's AD1s). */
function clusterFacts(s: Scenario): Record<string, number> {
  const byCluster = new Map<number, number[]>();
  for (const a of s.activations)
    if (a.cluster !== null) byCluster.set(a.cluster, [...(byCluster.get(a.cluster) ?? []), a.index]);
  const cutsOf = new Map(s.outages.filter((o) => o.cause === 'OTA').map((o) => [o.activation!, o]));
  let overlapping = 0;
  let feederLike = 0;
  for (const members of byCluster.values()) {
    const cuts = members.flatMap((i) => (cutsOf.has(i) ? [cutsOf.get(i)!] : []));
    cuts.sort((x, y) => x.startAt - y.startAt);
    if (cuts.some((c, i) => i > 0 && c.startAt < Math.max(...cuts.slice(0, i).map((x) => x.endAt))))
      overlapping++;
    if (cuts.some((c, i) => i >= 2 && c.startAt - cuts[i - 2].startAt <= 10 * MINUTE)) feederLike++;
  }
  return {
    clusteredActivations: s.activations.filter((a) => a.cluster !== null).length,
    campaignClusters: byCluster.size,
    clustersWithOverlappingCuts: overlapping,
    clustersWith3CutsIn10Min: feederLike,
  };
}

/**
 * Activations a genuine outage deferred (docs/TIMELINE.md, timeline step 6), those that then cut their
 * hub, and where the restore of the outage before such a cut went: reached the DSP before the new
 * cut began, or held behind it (it waits for the hub like any other message).
 */
function deferredFacts(s: Scenario): Record<string, number> {
  const deferred = s.activations.filter((a) => a.executionDeferred);
  const cuts = new Map(s.outages.filter((o) => o.cause === 'OTA').map((o) => [o.activation!, o]));
  const restores = new Map<string, number>();
  for (const e of s.events) if (e.kind === 'RESTORE') restores.set(`${e.outageId}|${e.esmeGuid}`, e.at);
  let before = 0;
  let held = 0;
  const afterRestoration: number[] = [];
  for (const a of deferred) {
    const cut = cuts.get(a.index);
    if (!cut) continue;
    const outage = s.darkIntervals[a.premises]
      .filter((d) => d.genuine && d.to <= a.executedAt!)
      .reduce((x, y) => (y.to > x.to ? y : x));
    afterRestoration.push(cut.startAt - outage.to);
    const restoreAt = restores.get(`${outage.outageId}|${a.esmeGuid}`);
    if (restoreAt !== undefined && restoreAt < cut.startAt) before++;
    else if (restoreAt !== undefined) held++;
  }
  return {
    deferredExecutions: deferred.length,
    deferredExecutionCuts: afterRestoration.length,
    deferredCutStartAfterRestorationMaxSeconds: Math.round(Math.max(0, ...afterRestoration) / SECOND),
    deferredRestoresBeforeCut: before,
    deferredRestoresHeldBehindCut: held,
  };
}
