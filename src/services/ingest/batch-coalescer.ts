/**
 * Runs concurrent requests together: group commit for ingest batches.
 *
 * Each ingest transaction costs about eight round trips to the database whatever its size, and on
 * a small machine every round trip is a context switch or two. Eight operators' adapters sending
 * one alert each at once paid that eight times over, and waited behind each other for it (p50
 * 49 ms, p99 130 ms for a single alert). Here a request that arrives while `concurrency` runs are
 * in progress waits for the next run, and that run takes every request waiting (up to `maxItems`
 * items): one transaction for all of them. A request that finds a run free starts at once, so a
 * quiet system adds no delay.
 *
 * A run that fails with more than one request in it is run again one request at a time, so each
 * request gets its own result or its own error, exactly as if it had been sent alone (the work is
 * idempotent, so the retried part of a failed run is safe).
 */
export class BatchCoalescer<Request, Result> {
  private readonly waiting: {
    readonly request: Request;
    readonly size: number;
    readonly resolve: (result: Result) => void;
    readonly reject: (error: unknown) => void;
  }[] = [];
  private running = 0;

  constructor(
    /** Does the work of several requests together; returns one result per request, in order. */
    private readonly run: (requests: readonly Request[]) => Promise<Result[]>,
    private readonly options: {
      /** Runs at once (transactions in flight). */
      readonly concurrency: number;
      /** Most items (alerts) in one run; a single larger request still runs, alone. */
      readonly maxItems: number;
    },
  ) {}

  /** Runs `request` (of `size` items), alone or with others waiting at the same time. */
  submit(request: Request, size: number): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.waiting.push({ request, size, resolve, reject });
      this.next();
    });
  }

  /** Requests waiting for a run (for metrics and tests). */
  get queued(): number {
    return this.waiting.length;
  }

  private next(): void {
    while (this.running < this.options.concurrency && this.waiting.length > 0) {
      const group = [this.waiting.shift()!];
      let items = group[0].size;
      while (this.waiting.length > 0 && items + this.waiting[0].size <= this.options.maxItems) {
        const entry = this.waiting.shift()!;
        items += entry.size;
        group.push(entry);
      }
      this.running++;
      void this.execute(group).finally(() => {
        this.running--;
        this.next();
      });
    }
  }

  private async execute(group: BatchCoalescer<Request, Result>['waiting']): Promise<void> {
    try {
      const results = await this.run(group.map((g) => g.request));
      group.forEach((g, i) => g.resolve(results[i]));
    } catch (error) {
      if (group.length === 1) {
        group[0].reject(error);
        return;
      }
      // Whose request failed it? Each alone, one after another, to find out.
      for (const g of group) {
        try {
          const [result] = await this.run([g.request]);
          g.resolve(result);
        } catch (own) {
          g.reject(own);
        }
      }
    }
  }
}
