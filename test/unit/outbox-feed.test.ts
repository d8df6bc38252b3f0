import fc from 'fast-check';
import type { DnoMessage } from '../../src/services/delivery/delivery.service';
import { DnoOutboxFeed } from '../../src/services/delivery/outbox-feed';

/**
 * The shared per-DNO outbox reader against an in-memory outbox: every subscriber gets exactly
 * the messages after its own cursor, in order, whatever the others do; subscribers at the head
 * share one read per wake-up; a read that started before a wake-up never puts a subscriber to
 * sleep past it; memory stays bounded by the window.
 */
class FakeOutbox {
  readonly rows: DnoMessage[] = [];
  reads = 0;
  /** Reads wait on this when set: lets a test commit while a read is in flight. */
  gate: Promise<void> | null = null;

  append(n: number): void {
    for (let i = 0; i < n; i++) {
      const sequence = String(this.rows.length + 1);
      this.rows.push({
        distributorId: '12',
        sequence,
        kind: 'AD1',
        createdAt: new Date(0),
        payload: { alert: { id: sequence } } as unknown as DnoMessage['payload'],
      });
    }
  }

  read = async (after: string, limit: number): Promise<DnoMessage[]> => {
    this.reads++;
    // The snapshot is taken when the statement starts, as PostgreSQL does.
    const snapshot = this.rows.filter((r) => BigInt(r.sequence) > BigInt(after)).slice(0, limit);
    await Promise.resolve();
    if (this.gate) await this.gate;
    return snapshot;
  };
}

/** A subscriber as DeliveryService.stream drives the feed: read, take the page, or sleep. */
class Subscriber {
  readonly got: string[] = [];
  cursor: string;

  constructor(
    private readonly feed: DnoOutboxFeed,
    after: string,
  ) {
    this.cursor = after;
  }

  /** Reads until the feed has nothing more for it; returns the generation it would sleep on. */
  async drain(): Promise<number> {
    for (;;) {
      const page = await this.feed.next(this.cursor);
      if (!page.messages.length) return page.generation;
      for (const m of page.messages) this.got.push(m.sequence);
      this.cursor = page.messages[page.messages.length - 1].sequence;
    }
  }
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String(from + i));

describe('DnoOutboxFeed: one outbox reader per DNO per instance', () => {
  test('two subscribers at different cursors each get exactly their messages, and share the reads at the head', async () => {
    const outbox = new FakeOutbox();
    outbox.append(10);
    const feed = new DnoOutboxFeed(outbox.read, { page: 500, windowSize: 2000 });
    const behind = new Subscriber(feed, '3');
    const current = new Subscriber(feed, '8');
    await Promise.all([behind.drain(), current.drain()]);
    expect(behind.got).toEqual(range(4, 10));
    expect(current.got).toEqual(range(9, 10));

    // Both are at the head now: each wake-up costs one read, whoever asks.
    for (let round = 0; round < 5; round++) {
      const before = outbox.reads;
      outbox.append(3);
      feed.wake(String(outbox.rows.length));
      await Promise.all([behind.drain(), current.drain()]);
      expect(outbox.reads - before).toBe(1);
    }
    expect(behind.got).toEqual(range(4, 25));
    expect(current.got).toEqual(range(9, 25));
  });

  test('five subscribers at the head: one read per wake-up, not five', async () => {
    const outbox = new FakeOutbox();
    const feed = new DnoOutboxFeed(outbox.read, { page: 500, windowSize: 2000 });
    const subs = Array.from({ length: 5 }, () => new Subscriber(feed, '0'));
    await Promise.all(subs.map((s) => s.drain()));
    const before = outbox.reads;
    for (let round = 0; round < 20; round++) {
      outbox.append(2);
      feed.wake(String(outbox.rows.length));
      await Promise.all(subs.map((s) => s.drain()));
    }
    expect(outbox.reads - before).toBe(20);
    for (const s of subs) expect(s.got).toEqual(range(1, 40));
    expect(feed.reads.tail).toBeGreaterThanOrEqual(20);
  });

  test('a notification at or below what was read costs no read', async () => {
    const outbox = new FakeOutbox();
    outbox.append(5);
    const feed = new DnoOutboxFeed(outbox.read, { page: 500, windowSize: 2000 });
    const s = new Subscriber(feed, '0');
    const generation = await s.drain();
    const reads = outbox.reads;
    feed.wake('5');
    feed.wake('3');
    const page = await feed.next('5');
    expect(page.messages).toHaveLength(0);
    expect(page.generation).toBe(generation);
    expect(outbox.reads).toBe(reads);
  });

  test('a commit during a read wakes the subscriber again: it never sleeps past a wake-up', async () => {
    const outbox = new FakeOutbox();
    outbox.append(1);
    const feed = new DnoOutboxFeed(outbox.read, { page: 500, windowSize: 2000 });
    const s = new Subscriber(feed, '0');
    await s.drain();
    // A tail read starts (and snapshots), then a message commits and its notification arrives
    // before the read returns.
    let open: () => void = () => undefined;
    outbox.gate = new Promise((r) => (open = r));
    outbox.append(1);
    feed.wake('2');
    const reading = feed.next('1');
    await Promise.resolve();
    outbox.append(1);
    feed.wake('3');
    outbox.gate = null;
    open();
    const page = await reading;
    // Whatever this read saw, the generation it answers with is already past: no sleep.
    const sleep = feed.after(page.generation, page.messages.at(-1)?.sequence ?? '1');
    let woke = false;
    void sleep.wait.then(() => (woke = true));
    await Promise.resolve();
    await Promise.resolve();
    expect(page.messages.length === 0 ? woke : true).toBe(true);
    sleep.cancel();
    await s.drain();
    expect(s.got).toEqual(range(1, 3));
  });

  test('a subscriber that stops reading neither blocks the others nor grows the window past its bound', async () => {
    const outbox = new FakeOutbox();
    const feed = new DnoOutboxFeed(outbox.read, { page: 50, windowSize: 100 });
    const slow = new Subscriber(feed, '0');
    const fast = new Subscriber(feed, '0');
    await Promise.all([slow.drain(), fast.drain()]);
    for (let round = 0; round < 30; round++) {
      outbox.append(20);
      feed.wake(String(outbox.rows.length));
      await fast.drain();
      expect((feed as unknown as { messages: unknown[] }).messages.length).toBeLessThanOrEqual(100);
    }
    expect(fast.got).toEqual(range(1, 600));
    // The slow one is far behind the window: it reads for itself, and still gets everything once.
    const reads = feed.reads.own;
    await slow.drain();
    expect(slow.got).toEqual(range(1, 600));
    expect(feed.reads.own).toBeGreaterThan(reads);
  });

  test('property: any subscribers, commits, lost and duplicate notifications: each gets exactly what follows its cursor', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          initial: fc.integer({ min: 0, max: 40 }),
          page: fc.integer({ min: 1, max: 12 }),
          windowSize: fc.integer({ min: 1, max: 30 }),
          starts: fc.array(fc.integer({ min: 0, max: 60 }), { minLength: 1, maxLength: 6 }),
          steps: fc.array(
            fc.oneof(
              fc.record({ op: fc.constant('commit' as const), n: fc.integer({ min: 1, max: 8 }) }),
              fc.record({ op: fc.constant('notify' as const), stale: fc.boolean() }),
              fc.record({ op: fc.constant('poll' as const) }),
              fc.record({ op: fc.constant('read' as const), who: fc.nat() }),
            ),
            { maxLength: 40 },
          ),
        }),
        async ({ initial, page, windowSize, starts, steps }) => {
          const outbox = new FakeOutbox();
          outbox.append(initial);
          const feed = new DnoOutboxFeed(outbox.read, { page, windowSize });
          const subs = starts.map((s) => new Subscriber(feed, String(s)));
          // Who is asleep, and whether a wake-up has reached it since.
          const asleep = new Map<number, { woke: boolean; cancel(): void }>();
          const flush = async () => {
            for (let i = 0; i < 5; i++) await Promise.resolve();
          };
          for (const step of steps) {
            if (step.op === 'commit') outbox.append(step.n);
            else if (step.op === 'notify') {
              const newest = step.stale ? Math.max(0, outbox.rows.length - 3) : outbox.rows.length;
              feed.wake(String(newest));
              await flush();
              // Liveness: a notification of a sequence after a sleeper's cursor always wakes it.
              for (const [i, sleep] of asleep) {
                if (BigInt(subs[i].cursor) < BigInt(newest)) expect(sleep.woke).toBe(true);
              }
            } else if (step.op === 'poll') {
              feed.wake();
              await flush();
              for (const sleep of asleep.values()) expect(sleep.woke).toBe(true);
            } else {
              const i = step.who % subs.length;
              asleep.get(i)?.cancel();
              const generation = await subs[i].drain();
              const sleep: { woke: boolean; cancel: () => void } = { woke: false, cancel: () => undefined };
              const handle = feed.after(generation, subs[i].cursor);
              sleep.cancel = handle.cancel;
              void handle.wait.then(() => (sleep.woke = true));
              asleep.set(i, sleep);
            }
          }
          for (const sleep of asleep.values()) sleep.cancel();
          // Everything committed is announced (the safety poll guarantees it): all catch up.
          feed.wake();
          await Promise.all(subs.map((s) => s.drain()));
          subs.forEach((s, i) => {
            expect(s.got).toEqual(range(starts[i] + 1, outbox.rows.length));
          });
          expect((feed as unknown as { messages: unknown[] }).messages.length).toBeLessThanOrEqual(
            windowSize,
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});
