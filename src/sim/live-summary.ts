import { formatFindingCounts } from './index';
import { formatScoreTable } from './scoreboard';
import type { LiveReport } from './live';

/** The CLI's summary of a live run: the scoreboard with how the run went around it. */
export function formatLiveSummary(r: LiveReport, files: readonly string[]): string {
  const s = r.server;
  const lag = r.lag;
  const ours = r.scores.find((x) => x.policy === 'ours');
  const realMs = (scenarioSeconds: number) => Math.round((scenarioSeconds * 1000) / s.clockSpeed);
  const lines = [
    `Scenario: ${JSON.stringify({ ...r.scenario, options: undefined })}`,
    `Server: ${s.url} (${s.spawned ? `spawned, ${s.backend}` : 'running'}); clock ${s.clockSpeed}x real time ` +
      `(measured ${s.measuredSpeed}x); scenario start at ${s.scenarioStartOnServer} on its clock ` +
      `(offset ${s.offsetSeconds} s); fitted clock off by ${s.clockDriftMs} ms at the end`,
    `Timings (ms): ${JSON.stringify(r.timings)}`,
    `Counts: ${JSON.stringify(r.counts)}`,
    `Events sent after their due time (scenario s): p50 ${lag.sendLagSeconds.p50.toFixed(1)}, ` +
      `p99 ${lag.sendLagSeconds.p99.toFixed(1)}, max ${lag.sendLagSeconds.max.toFixed(1)}, ` +
      `${lag.sendLagSeconds.overOneMinute} over a minute; outbox to DNO socket (scenario s): ` +
      `p50 ${lag.deliverySeconds.p50.toFixed(1)}, p99 ${lag.deliverySeconds.p99.toFixed(1)}, max ${lag.deliverySeconds.max.toFixed(1)}`,
    `SR11.3 receipt lag (scenario s): p50 ${lag.causality.requestLagSeconds.p50.toFixed(1)}, ` +
      `p99 ${lag.causality.requestLagSeconds.p99.toFixed(1)}, max ${lag.causality.requestLagSeconds.max.toFixed(1)} ` +
      `over ${lag.causality.requests} requests; device times moved for ${lag.causality.shiftedActivations} ` +
      `activations (p50 ${lag.causality.shiftSeconds.p50} s, max ${lag.causality.shiftSeconds.max} s), ` +
      `${lag.causality.shiftedEvents} events re-timed, ${lag.causality.movedRequests} requested times moved`,
    ...(ours
      ? [
          `Added delay of ours in real time (scenario seconds / speed): p50 ${realMs(ours.delaySeconds.p50)} ms, ` +
            `p99 ${realMs(ours.delaySeconds.p99)} ms, max ${realMs(ours.delaySeconds.max)} ms`,
        ]
      : []),
    ...(r.errors.length ? [`Errors: ${r.errors.length} (first: ${JSON.stringify(r.errors[0])})`] : []),
    '',
    formatScoreTable(r.scores),
    '',
    `Our decisions on arrived AD1s: ${JSON.stringify(r.oursByOutcome)}`,
    formatFindingCounts(r.findings),
    `Wrote ${files.join(', ')}`,
  ];
  return lines.join('\n');
}
