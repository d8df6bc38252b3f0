import fc from 'fast-check';
import { Semaphore } from '../../src/semaphore';

const refused = () => new Error('refused');

describe('Semaphore', () => {
  test('grants up to its limit at once, then queues first come first served', async () => {
    const share = new Semaphore({ limit: 2, maxWaitMs: 1_000, refusal: refused });
    const a = await share.acquire();
    const b = await share.acquire();
    expect(share.inUse).toBe(2);
    const order: string[] = [];
    const c = share.acquire().then((release) => (order.push('c'), release));
    const d = share.acquire().then((release) => (order.push('d'), release));
    a();
    const releaseC = await c;
    expect(order).toEqual(['c']);
    b();
    const releaseD = await d;
    expect(order).toEqual(['c', 'd']);
    expect(share.inUse).toBe(2);
    releaseC();
    releaseD();
    expect(share.inUse).toBe(0);
  });

  test('a release called twice frees one place', async () => {
    const share = new Semaphore({ limit: 1, maxWaitMs: 1_000, refusal: refused });
    const a = await share.acquire();
    a();
    a();
    expect(share.inUse).toBe(0);
    await share.acquire();
    expect(share.inUse).toBe(1);
  });

  test('a waiter that waits too long is refused and leaves the line', async () => {
    jest.useFakeTimers();
    try {
      const share = new Semaphore({ limit: 1, maxWaitMs: 100, refusal: refused });
      const a = await share.acquire();
      const late = share.acquire();
      jest.advanceTimersByTime(101);
      await expect(late).rejects.toThrow('refused');
      a();
      expect(share.inUse).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });

  test('property: never more than the limit held, and every acquire is granted once all release', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 30 }),
        async (limit, holdTicks) => {
          const share = new Semaphore({ limit, maxWaitMs: 60_000, refusal: refused });
          let peak = 0;
          await Promise.all(
            holdTicks.map(async (ticks) => {
              const release = await share.acquire();
              peak = Math.max(peak, share.inUse);
              for (let i = 0; i < ticks; i++) await Promise.resolve();
              release();
            }),
          );
          expect(peak).toBeLessThanOrEqual(limit);
          expect(share.inUse).toBe(0);
        },
      ),
    );
  });
});
