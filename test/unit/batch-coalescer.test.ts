import fc from 'fast-check';
import { BatchCoalescer } from '../../src/services/ingest/batch-coalescer';

/**
 * Group commit for ingest batches: requests that arrive while the runs are busy share the next
 * run; every request gets exactly its own result, or its own error, as if sent alone.
 */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('BatchCoalescer', () => {
  test('a request on an idle coalescer runs at once, alone', async () => {
    const runs: string[][] = [];
    const coalescer = new BatchCoalescer<string, string>(
      async (requests) => {
        runs.push([...requests]);
        return requests.map((r) => r.toUpperCase());
      },
      { concurrency: 1, maxItems: 10 },
    );
    await expect(coalescer.submit('a', 1)).resolves.toBe('A');
    expect(runs).toEqual([['a']]);
  });

  test('requests arriving while a run is busy share the next run, up to maxItems', async () => {
    const runs: string[][] = [];
    const gates: { resolve: () => void }[] = [];
    const coalescer = new BatchCoalescer<string, string>(
      async (requests) => {
        runs.push([...requests]);
        const gate = deferred<void>();
        gates.push({ resolve: () => gate.resolve() });
        await gate.promise;
        return requests.map((r) => r.toUpperCase());
      },
      { concurrency: 1, maxItems: 5 },
    );
    const first = coalescer.submit('a', 1);
    const rest = ['b', 'c', 'd', 'e'].map((r) => coalescer.submit(r, 2));
    expect(coalescer.queued).toBe(4);
    gates[0].resolve();
    await first;
    await new Promise((r) => setImmediate(r));
    // 2 + 2 fit in 5 items; the third request of size 2 waits for the run after.
    expect(runs[1]).toEqual(['b', 'c']);
    gates[1].resolve();
    await new Promise((r) => setImmediate(r));
    expect(runs[2]).toEqual(['d', 'e']);
    gates[2].resolve();
    await expect(Promise.all(rest)).resolves.toEqual(['B', 'C', 'D', 'E']);
  });

  test('a failed run is retried one request at a time: only the culprit fails', async () => {
    const runs: string[][] = [];
    const gate = deferred<void>();
    const coalescer = new BatchCoalescer<string, string>(
      async (requests) => {
        runs.push([...requests]);
        if (requests[0] === 'hold') await gate.promise;
        if (requests.includes('bad')) throw new Error('bad batch');
        return requests.map((r) => r.toUpperCase());
      },
      { concurrency: 1, maxItems: 10 },
    );
    const hold = coalescer.submit('hold', 1);
    const waiting = ['x', 'bad', 'y'].map((r) => coalescer.submit(r, 1));
    gate.resolve();
    await hold;
    const settled = await Promise.allSettled(waiting);
    expect(settled.map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).message))).toEqual([
      'X',
      'bad batch',
      'Y',
    ]);
    expect(runs).toEqual([['hold'], ['x', 'bad', 'y'], ['x'], ['bad'], ['y']]);
  });

  test('property: every request gets its own result once, runs never exceed concurrency or maxItems', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ size: fc.integer({ min: 1, max: 4 }), delay: fc.nat(3) }), {
          minLength: 1,
          maxLength: 30,
        }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 4, max: 8 }),
        async (requests, concurrency, maxItems) => {
          let running = 0;
          let most = 0;
          const coalescer = new BatchCoalescer<number, number>(
            async (ids) => {
              running++;
              most = Math.max(most, running);
              const items = ids.reduce((n, id) => n + requests[id].size, 0);
              if (ids.length > 1 && items > maxItems) throw new Error('run too large');
              await new Promise((r) => setTimeout(r, requests[ids[0]].delay));
              running--;
              return ids.map((id) => id * 10);
            },
            { concurrency, maxItems },
          );
          const results = await Promise.all(requests.map((r, id) => coalescer.submit(id, r.size)));
          expect(results).toEqual(requests.map((_, id) => id * 10));
          expect(most).toBeLessThanOrEqual(concurrency);
        },
      ),
      { numRuns: 50 },
    );
  });
});
