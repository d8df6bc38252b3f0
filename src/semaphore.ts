/**
 * A counting semaphore with a bounded, first-come-first-served wait. Up to `limit` holders at
 * once; up to `maxQueued` more wait, each for at most `maxWaitMs`; anything beyond, or a waiter
 * whose time is up, is refused with `refusal()`. A place passes from the holder that releases it
 * straight to the longest waiting. Used for the ingest gate (batches in flight) and for the
 * readers' share of the database pool.
 */
export interface SemaphoreOptions {
  readonly limit: number;
  /** Waiters beyond this are refused at once (default: no bound). */
  readonly maxQueued?: number;
  /** 0: no waiting, refused at once when full. */
  readonly maxWaitMs: number;
  readonly refusal: () => Error;
}

export class Semaphore {
  private held = 0;
  private readonly queue: { grant: () => void; timer?: NodeJS.Timeout }[] = [];

  constructor(private readonly options: SemaphoreOptions) {}

  get limit(): number {
    return this.options.limit;
  }

  /** Places held now. */
  get inUse(): number {
    return this.held;
  }

  /** Callers waiting for a place. */
  get waiting(): number {
    return this.queue.length;
  }

  /**
   * Waits for a place; resolves with its release (safe to call more than once). `patient` waits
   * as long as it takes, past `maxWaitMs` and `maxQueued`: for work that must happen and can wait.
   */
  acquire(patient = false): Promise<() => void> {
    const { limit, maxQueued = Infinity, maxWaitMs, refusal } = this.options;
    if (this.held < limit) {
      this.held++;
      return Promise.resolve(this.releaser());
    }
    if (!patient && (this.queue.length >= maxQueued || maxWaitMs === 0)) return Promise.reject(refusal());
    return new Promise((resolve, reject) => {
      const waiter: { grant: () => void; timer?: NodeJS.Timeout } = {
        // The place passes from the releasing holder to this one (held unchanged).
        grant: () => resolve(this.releaser()),
        timer: patient
          ? undefined
          : setTimeout(() => {
              const at = this.queue.indexOf(waiter);
              if (at >= 0) this.queue.splice(at, 1);
              reject(refusal());
            }, maxWaitMs),
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
