import type { DnoMessage } from './messages';

/**
 * Reads a DNO's outbox: the messages after a sequence, in order, at most `limit`. `tail`: a read
 * after the newest message the feed has (live traffic); `own`: a subscriber's read from further
 * back (a replay).
 */
export type OutboxRead = (after: string, limit: number, kind: 'tail' | 'own') => Promise<DnoMessage[]>;

/** What a subscriber gets from the feed: messages after its cursor, or none as of `generation`. */
export interface OutboxPage {
  readonly messages: readonly DnoMessage[];
  /** With no messages: sleep until the feed's generation passes this, then read again. */
  readonly generation: number;
}

export interface OutboxFeedOptions {
  /** Most messages one read returns. */
  readonly page: number;
  /** Most messages the shared window keeps (the oldest go first). */
  readonly windowSize: number;
}

/**
 * One reader of a DNO's outbox on this instance, shared by all of that DNO's subscribers here.
 *
 * It keeps a window of the newest messages it has read: every message with a sequence in
 * (base, head], in order. A subscriber whose cursor is in the window is served from memory. A
 * subscriber at the head asks for a tail read (`sequence > head`), and every subscriber at the
 * head that asks while one is in flight shares it: one read per wake-up, however many
 * subscribers. A subscriber outside the window (replaying from an old position, or fallen behind
 * because the window is bounded) reads for itself, as before, and joins the window when it
 * catches up; subscribers reading from the same cursor at once share that read too. Nobody waits
 * for anybody else, and memory is the window plus one page per subscriber.
 *
 * Correctness rests on the outbox's order (DECISIONS.md: sequences commit in order, so a read
 * after `s` returns every message after `s` up to its last row, and rows never change) and on
 * generations: every wake-up that may bring a new message moves the generation on, and an empty
 * answer says which generation it is good for. A read that started before a wake-up can never
 * put a subscriber to sleep past that wake-up.
 */
export class DnoOutboxFeed {
  private base: bigint | null = null;
  private head: bigint | null = null;
  private sequences: bigint[] = [];
  private messages: DnoMessage[] = [];
  private generation = 0;
  /** The generation at which the last read that reached the end of the outbox started. */
  private freshAt = -1;
  private tail: Promise<number> | null = null;
  private readonly privateReads = new Map<string, Promise<OutboxPage>>();
  private readonly sleepers = new Set<(newest?: bigint) => void>();
  private closed = false;
  /** Outbox reads made, by kind: shared tail reads and a subscriber's own. */
  readonly reads = { tail: 0, own: 0 };

  constructor(
    private readonly read: OutboxRead,
    private readonly options: OutboxFeedOptions,
  ) {}

  /**
   * A wake-up: the DNO's outbox may have grown. `newest`, when the notification carries it, is
   * the newest sequence committed. At or below the head the feed has read it already: no read is
   * needed, and only subscribers asleep before it wake (they may have slept on a read that
   * started before another subscriber's read took the window past them).
   */
  wake(newest?: string): void {
    const sequence = newest !== undefined && /^[0-9]{1,19}$/.test(newest) ? BigInt(newest) : undefined;
    if (sequence !== undefined && this.head !== null && sequence <= this.head) {
      for (const sleeper of [...this.sleepers]) sleeper(sequence);
      return;
    }
    this.generation++;
    for (const sleeper of [...this.sleepers]) sleeper();
  }

  /** Messages after `cursor` (a sequence), or none with the generation to sleep on. */
  async next(cursor: string): Promise<OutboxPage> {
    const at = BigInt(cursor);
    for (;;) {
      const served = this.fromWindow(at);
      if (served) return { messages: served, generation: this.generation };
      if (this.head === null || at !== this.head) return this.ownRead(cursor);
      if (this.freshAt >= this.generation) return { messages: [], generation: this.freshAt };
      const started = await this.tailRead();
      if (this.head !== null && at >= this.base! && at < this.head) continue;
      if (this.head !== null && at !== this.head) continue;
      return { messages: [], generation: started };
    }
  }

  /**
   * Resolves once the generation has passed `generation` or a notification names a sequence
   * after `cursor` (at once if the generation already has); `cancel` resolves it now (a closing
   * subscriber).
   */
  after(generation: number, cursor: string): { readonly wait: Promise<void>; cancel(): void } {
    const at = BigInt(cursor);
    let resolve: () => void = () => undefined;
    const wait = new Promise<void>((r) => (resolve = r));
    const finish = () => {
      this.sleepers.delete(check);
      resolve();
    };
    const check = (newest?: bigint) => {
      if (this.generation > generation || this.closed || (newest !== undefined && newest > at)) finish();
    };
    if (this.generation > generation || this.closed) finish();
    else this.sleepers.add(check);
    return { wait, cancel: finish };
  }

  /** Drops the window and wakes every sleeper (the last subscriber has gone). */
  close(): void {
    this.closed = true;
    this.sequences = [];
    this.messages = [];
    this.base = this.head = null;
    this.generation++;
    for (const sleeper of [...this.sleepers]) sleeper();
  }

  private fromWindow(at: bigint): DnoMessage[] | null {
    if (this.base === null || this.head === null || at < this.base || at >= this.head) return null;
    // First message after `at`: sequences are ascending (with gaps only where retention dropped months).
    let lo = 0;
    let hi = this.sequences.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.sequences[mid] <= at) lo = mid + 1;
      else hi = mid;
    }
    return this.messages.slice(lo, lo + this.options.page);
  }

  /** The shared read after the head; joins the one in flight. Resolves with its start generation. */
  private tailRead(): Promise<number> {
    if (!this.tail) {
      const started = this.generation;
      const from = this.head!;
      this.reads.tail++;
      this.tail = this.read(from.toString(), this.options.page, 'tail')
        .then((rows) => {
          // Only tail reads move the head forward, one at a time; a re-seed may have moved it.
          if (!this.closed && this.head === from) {
            this.append(rows);
            if (rows.length < this.options.page) this.freshAt = Math.max(this.freshAt, started);
          }
          return started;
        })
        .finally(() => {
          this.tail = null;
        });
    }
    return this.tail;
  }

  /** A read from a cursor outside the window; readers of the same cursor share it. */
  private ownRead(cursor: string): Promise<OutboxPage> {
    let pending = this.privateReads.get(cursor);
    if (!pending) {
      const started = this.generation;
      const at = BigInt(cursor);
      this.reads.own++;
      pending = this.read(cursor, this.options.page, 'own')
        .then((rows) => {
          // The window follows the front: a read from beyond the head (or the first read of all)
          // becomes the window, so subscribers there share the next tail read.
          if (!this.closed && (this.head === null || at > this.head)) {
            this.base = at;
            this.head = at;
            this.sequences = [];
            this.messages = [];
            this.append(rows);
            this.freshAt = rows.length < this.options.page ? started : -1;
          }
          return { messages: rows, generation: started };
        })
        .finally(() => this.privateReads.delete(cursor));
      this.privateReads.set(cursor, pending);
    }
    return pending;
  }

  private append(rows: readonly DnoMessage[]): void {
    for (const row of rows) {
      this.sequences.push(BigInt(row.sequence));
      this.messages.push(row);
    }
    if (rows.length) this.head = this.sequences[this.sequences.length - 1];
    const excess = this.messages.length - this.options.windowSize;
    if (excess > 0) {
      this.base = this.sequences[excess - 1];
      this.sequences.splice(0, excess);
      this.messages.splice(0, excess);
    }
  }
}
