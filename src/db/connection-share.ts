/**
 * A cap on the pool connections that one kind of work may hold at once, so the rest of the pool
 * stays free for everything else. The server caps GraphQL query operations (reads) at
 * `DATABASE_POOL_SIZE - DATABASE_POOL_RESERVED_FOR_WRITES`: however many readers there are and
 * however much each asks for, ingest, the hold scheduler and the DNO streams find a connection
 * at once, instead of queueing behind the readers in the pool's one first-come-first-served line.
 *
 * A reader waits for a free place for at most `maxWaitMs` (the pool's own connect timeout) and
 * is then refused with `onTimeout()`; places pass from the reader that releases one straight to
 * the longest waiting.
 */
export class ConnectionShare {
  private held = 0;
  private readonly queue: { grant: () => void; timer: NodeJS.Timeout }[] = [];

  constructor(
    readonly limit: number,
    private readonly maxWaitMs: number,
    private readonly onTimeout: () => Error,
  ) {}

  /** Connections held under this share now. */
  get inUse(): number {
    return this.held;
  }

  /** Callers waiting for a place. */
  get waiting(): number {
    return this.queue.length;
  }

  /** Waits for a place; resolves with its release (safe to call more than once). */
  acquire(): Promise<() => void> {
    if (this.held < this.limit) {
      this.held++;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        // The place passes from the releasing holder to this one (held unchanged).
        grant: () => resolve(this.releaser()),
        timer: setTimeout(() => {
          const at = this.queue.indexOf(waiter);
          if (at >= 0) this.queue.splice(at, 1);
          reject(this.onTimeout());
        }, this.maxWaitMs),
      };
      this.queue.push(waiter);
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.queue.shift();
      if (next) {
        clearTimeout(next.timer);
        next.grant();
      } else {
        this.held--;
      }
    };
  }
}
