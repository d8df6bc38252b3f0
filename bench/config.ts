import type { Backend } from './lib/db';

/** Sizes of each benchmark: the full run (about 10 minutes on 2 cores) and the smoke run (seconds). */
export function sizes(
  smoke: boolean,
  backend: Backend,
  flags: { stormSeconds?: number; stormRate?: number } = {},
) {
  return {
    batched: {
      backend,
      pairs: smoke ? 400 : 20_000,
      repetitions: 2,
      batchSize: smoke ? 100 : 500,
      clients: 4,
      smoke,
    },
    single: {
      backend,
      pairs: smoke ? 200 : 5_000,
      alerts: smoke ? 80 : 600,
      warmup: smoke ? 16 : 64,
      repetitions: 2,
      concurrency: 8,
      smoke,
    },
    duis: {
      backend,
      pairs: smoke ? 200 : 5_000,
      alerts: smoke ? 60 : 600,
      warmup: smoke ? 16 : 64,
      repetitions: 2,
      concurrency: 8,
      smoke,
    },
    // The smoke run keeps the full run's 30 subscribers over 6 DNOs at half its rate: enough
    // traffic that delivery whose cost grows with subscribers times messages falls seconds behind
    // (docs/BENCHMARKS.md, 2026-12-06), which the p99 bound then catches.
    e2e: {
      backend,
      pairs: smoke ? 3_000 : 20_000,
      subscribers: 30,
      distributors: ['10', '11', '12', '13', '14', '15'],
      steadyRate: smoke ? 500 : 1_000,
      steadySeconds: smoke ? 3 : 8,
      steadyRepetitions: smoke ? 1 : 2,
      steadyP99BoundMs: smoke ? 2_000 : undefined,
      stormRate: flags.stormRate ?? (smoke ? 1_000 : 10_000),
      stormSeconds: flags.stormSeconds ?? (smoke ? 2 : 20),
      stormDrainBoundSeconds: 60,
      smoke,
    },
    engine: {
      esmes: smoke ? 50_000 : 1_400_000,
      windows: smoke ? 2_000 : 50_000,
      alerts: smoke ? 2_000 : 20_000,
      repetitions: smoke ? 2 : 5,
      inWindowShare: 0.3,
    },
    // Ingest under 0, 100 and 1,000 subscriptions, idle or replaying a backlog (docs/BENCHMARKS.md).
    load: {
      backend,
      counts: smoke ? [0, 100] : [0, 100, 1_000],
      backlog: smoke ? 20 : 200,
      ingests: smoke ? 20 : 100,
      smoke,
    },
    inventoryAlerts: smoke ? 30 : 300,
  };
}
