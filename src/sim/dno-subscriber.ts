import type { Client } from 'graphql-ws';
import type { GraphQLHttpClient } from './live-api';
import { MUTATIONS, openStream } from './live-api';
import { SequenceTracker } from './live-score';
import type { ReceivedMessage } from './live-score';

/**
 * One DNO's consumer as a real one is written: a graphql-ws subscription to `dnoAlerts` that
 * remembers the last sequence it processed, acknowledges it now and then over HTTP, and after any
 * disconnect (its own forced drops included) subscribes again with `after` = that sequence.
 */

const STREAM = `subscription Stream($after: String) {
  dnoAlerts(after: $after) { sequence kind createdAt alert { id } }
}`;

interface StreamData {
  dnoAlerts: { sequence: string; kind: string; createdAt: string; alert: { id: string } };
}

export interface DnoSubscriberOptions {
  readonly wsUrl: string;
  readonly token: string;
  readonly distributorId: string;
  /** Subscribe after this sequence (the stream's newest when the run starts). */
  readonly after: string;
  /** HTTP client holding this DNO's token, for acknowledgeDnoAlerts. */
  readonly http: GraphQLHttpClient;
  /** The scenario time now (for the receipt time) and a server time's scenario time. */
  readonly scenarioNow: () => number;
  readonly toScenario: (serverTime: number) => number;
  /** How often (real ms) to acknowledge what has been processed. */
  readonly ackEveryMs: number;
}

export class DnoSubscriber {
  readonly received: ReceivedMessage[] = [];
  readonly tracker: SequenceTracker;
  readonly errors: string[] = [];
  reconnects = 0;
  drops = 0;
  acknowledged: string;
  private client: Client | undefined;
  private stopped = false;
  private failuresInARow = 0;
  private ackTimer: NodeJS.Timeout | undefined;
  private acking: Promise<void> = Promise.resolve();

  constructor(private readonly options: DnoSubscriberOptions) {
    this.tracker = new SequenceTracker(options.after);
    this.acknowledged = options.after;
  }

  get distributorId(): string {
    return this.options.distributorId;
  }

  /** Connects and subscribes; resolves once the server has acknowledged the connection. */
  start(): Promise<void> {
    this.ackTimer = setInterval(() => void this.acknowledge(), this.options.ackEveryMs);
    this.ackTimer.unref();
    return this.connect();
  }

  private connect(): Promise<void> {
    const { client, connected } = openStream(
      this.options.wsUrl,
      this.options.token,
      `DNO ${this.options.distributorId}`,
    );
    this.client = client;
    client.subscribe<StreamData>(
      { query: STREAM, variables: { after: this.tracker.last } },
      {
        next: (value) => {
          if (client !== this.client) return; // a dropped connection's last words
          const receivedAt = this.options.scenarioNow();
          const m = value.data?.dnoAlerts;
          if (!m) {
            this.errors.push(`DNO ${this.options.distributorId}: ${JSON.stringify(value.errors ?? value)}`);
            return;
          }
          this.failuresInARow = 0;
          if (!this.tracker.accept(m.sequence)) return;
          this.received.push({
            distributorId: this.options.distributorId,
            sequence: m.sequence,
            kind: m.kind,
            alertId: m.alert.id,
            receivedAt,
            createdAt: this.options.toScenario(Date.parse(m.createdAt)),
          });
        },
        error: (error) => this.reconnect(client, error),
        complete: () => this.reconnect(client, 'the server completed the subscription'),
      },
    );
    return connected;
  }

  private reconnect(client: Client, reason: unknown): void {
    void client.dispose();
    if (this.stopped || client !== this.client) return;
    this.failuresInARow++;
    if (this.failuresInARow > 20) {
      this.errors.push(
        `DNO ${this.options.distributorId}: gave up after 20 failed reconnects (${describe(reason)})`,
      );
      return;
    }
    this.reconnects++;
    const backoff = Math.min(5000, 100 * 2 ** Math.min(this.failuresInARow - 1, 6));
    setTimeout(() => {
      if (!this.stopped) this.connect().catch(() => undefined);
    }, backoff).unref();
  }

  /** Cuts the connection abruptly, as a network failure would; the consumer resumes by itself. */
  drop(): void {
    if (this.stopped || !this.client) return;
    this.drops++;
    this.client.terminate();
  }

  /** Acknowledges the last processed sequence if it moved (one acknowledgement at a time). */
  acknowledge(): Promise<void> {
    this.acking = this.acking.then(async () => {
      const upTo = this.tracker.last;
      if (upTo === this.acknowledged) return;
      try {
        await this.options.http.request(MUTATIONS.acknowledge, { upTo });
        this.acknowledged = upTo;
      } catch (error) {
        this.errors.push(`DNO ${this.options.distributorId} acknowledge: ${describe(error)}`);
      }
    });
    return this.acking;
  }

  /** Stops consuming and acknowledges everything processed. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.ackTimer);
    await this.client?.dispose();
    await this.acknowledge();
  }
}

function describe(reason: unknown): string {
  if (reason instanceof Error) return reason.message;
  if (reason && typeof reason === 'object' && 'code' in reason)
    return `close ${String((reason as { code: unknown }).code)} ${String((reason as { reason?: unknown }).reason ?? '')}`.trim();
  return typeof reason === 'string' ? reason : JSON.stringify(reason);
}
