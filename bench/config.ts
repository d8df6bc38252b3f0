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
      repetitions: 2,
      concurrency: 8,
      smoke,
    },
    duis: {
      backend,
      pairs: smoke ? 200 : 5_000,
      alerts: smoke ? 60 : 600,
      repetitions: 2,
      concurrency: 8,
      smoke,
    },
    e2e: {
      backend,
      pairs: smoke ? 300 : 20_000,
      subscribers: smoke ? 6 : 30,
      distributors: smoke ? ['10', '11', '12'] : ['10', '11', '12', '13', '14', '15'],
      steadyRate: smoke ? 100 : 1_000,
      steadySeconds: smoke ? 1 : 8,
      steadyRepetitions: 2,
      stormRate: flags.stormRate ?? (smoke ? 500 : 10_000),
      stormSeconds: flags.stormSeconds ?? (smoke ? 1 : 20),
      smoke,
    },
    engine: {
      esmes: smoke ? 50_000 : 1_400_000,
      windows: smoke ? 2_000 : 50_000,
      alerts: smoke ? 2_000 : 20_000,
      repetitions: smoke ? 2 : 5,
      inWindowShare: 0.3,
    },
    inventoryAlerts: smoke ? 30 : 300,
  };
}
