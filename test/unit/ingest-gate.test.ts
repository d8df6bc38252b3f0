import { OverloadedError } from '../../src/domain/errors';
import { IngestGate } from '../../src/http/ingest-gate';

/** The ingest gate on its own: admission, hand-over in arrival order, refusal without running. */

/** A piece of work the test finishes by hand. */
function pending() {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  let started = false;
  return {
    work: async () => {
      started = true;
      await done;
      return 'done';
    },
    finish: () => finish(),
    get started() {
      return started;
    },
  };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('IngestGate', () => {
  test('runs up to maxInFlight at once, queues the next ones and starts them in arrival order', async () => {
    const gate = new IngestGate({ maxInFlight: 2, maxQueued: 2, maxWaitMs: 60_000 });
    const jobs = [pending(), pending(), pending(), pending()];
    const runs = jobs.map((j) => gate.run(j.work));
    await flush();
    expect(jobs.map((j) => j.started)).toEqual([true, true, false, false]);
    jobs[1].finish();
    await flush();
    expect(jobs.map((j) => j.started)).toEqual([true, true, true, false]);
    jobs[0].finish();
    await flush();
    expect(jobs.map((j) => j.started)).toEqual([true, true, true, true]);
    jobs[2].finish();
    jobs[3].finish();
    await expect(Promise.all(runs)).resolves.toEqual(['done', 'done', 'done', 'done']);
  });

  test('refuses at once when the queue is full, without running the work', async () => {
    const gate = new IngestGate({ maxInFlight: 1, maxQueued: 1, maxWaitMs: 60_000 });
    const [a, b, c] = [pending(), pending(), pending()];
    const runA = gate.run(a.work);
    const runB = gate.run(b.work);
    const refused = gate.run(c.work);
    await expect(refused).rejects.toBeInstanceOf(OverloadedError);
    await expect(refused).rejects.toMatchObject({
      code: 'OVERLOADED',
      details: { retryable: true, retryAfterSeconds: 1, limit: 1 },
    });
    expect(c.started).toBe(false);
    a.finish();
    b.finish();
    await expect(Promise.all([runA, runB])).resolves.toEqual(['done', 'done']);
  });

  test('refuses a queued batch that waited maxWaitMs, and its slot is not lost', async () => {
    const gate = new IngestGate({ maxInFlight: 1, maxQueued: 4, maxWaitMs: 20 });
    const [a, b, c] = [pending(), pending(), pending()];
    const runA = gate.run(a.work);
    await expect(gate.run(b.work)).rejects.toBeInstanceOf(OverloadedError);
    expect(b.started).toBe(false);
    a.finish();
    await runA;
    // The one slot is free again: the next batch runs at once.
    const runC = gate.run(c.work);
    await flush();
    expect(c.started).toBe(true);
    c.finish();
    await expect(runC).resolves.toBe('done');
  });

  test('a batch that fails frees its slot like one that succeeds', async () => {
    const gate = new IngestGate({ maxInFlight: 1, maxQueued: 0, maxWaitMs: 0 });
    await expect(gate.run(async () => Promise.reject(new Error('database gone')))).rejects.toThrow(
      'database gone',
    );
    await expect(gate.run(async () => 'next')).resolves.toBe('next');
  });
});
