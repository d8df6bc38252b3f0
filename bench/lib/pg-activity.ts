import { Client } from 'pg';

/**
 * Samples pg_stat_activity of the benchmark databases every `everyMs` while resumed: what the
 * active backends are doing (wait event, or CPU) and which statement. The database-side
 * complement of the server's --cpu-prof (which shows the Node process idle while it waits).
 */
export class ActivitySampler {
  private timer: NodeJS.Timeout | undefined;
  private client: Client | undefined;
  private busy = false;
  private inFlight: Promise<void> = Promise.resolve();
  samples = 0;
  readonly waits = new Map<string, number>();
  readonly statements = new Map<string, number>();

  constructor(
    private readonly adminUrl = process.env.BENCH_POSTGRES_URL ??
      'postgres://postgres@127.0.0.1:5432/postgres',
    private readonly everyMs = 25,
  ) {}

  async resume(): Promise<void> {
    if (!this.client) {
      this.client = new Client({ connectionString: this.adminUrl });
      await this.client.connect();
    }
    this.timer = setInterval(() => {
      if (!this.busy) this.inFlight = this.sample();
    }, this.everyMs);
  }

  pause(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  async close(): Promise<void> {
    this.pause();
    // A sample still in flight would fail with "Connection terminated" once the client ends.
    await this.inFlight.catch(() => undefined);
    await this.client?.end();
  }

  private async sample(): Promise<void> {
    if (this.busy || !this.client) return;
    this.busy = true;
    try {
      const { rows } = await this.client.query<{ wait: string; query: string }>(
        `SELECT COALESCE(wait_event_type || ':' || wait_event, 'CPU') AS wait,
                regexp_replace(left(query, 90), '\\s+', ' ', 'g') AS query
           FROM pg_stat_activity
          WHERE datname LIKE 'poa_bench_%' AND state = 'active' AND pid <> pg_backend_pid()`,
      );
      this.samples++;
      for (const r of rows) {
        this.waits.set(r.wait, (this.waits.get(r.wait) ?? 0) + 1);
        this.statements.set(r.query, (this.statements.get(r.query) ?? 0) + 1);
      }
    } finally {
      this.busy = false;
    }
  }

  summary(top = 15): string {
    const fmt = (m: Map<string, number>) =>
      [...m]
        .sort((a, b) => b[1] - a[1])
        .slice(0, top)
        .map(([k, n]) => `  ${(n / this.samples).toFixed(2).padStart(6)}  ${k}`);
    return [
      `pg_stat_activity: ${this.samples} samples; average active backends per sample, by wait event:`,
      ...fmt(this.waits),
      'by statement:',
      ...fmt(this.statements),
    ].join('\n');
  }
}
