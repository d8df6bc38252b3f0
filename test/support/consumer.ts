import net from 'node:net';
import { createClient } from 'graphql-ws';
import type { Client } from 'graphql-ws';
import WebSocket from 'ws';

export interface StreamMessage {
  sequence: string;
  kind: string;
  alertId: string;
}

/** A sequenced subscription: its operation (taking `$after`) and how to read one message of it. */
export interface SequencedStream {
  readonly query: string;
  readonly message: (data: Record<string, unknown> | null | undefined) => StreamMessage | undefined;
}

/** A DNO's `dnoAlerts` stream. */
export const DNO_ALERTS: SequencedStream = {
  query: 'subscription ($after: String) { dnoAlerts(after: $after) { sequence kind alert { id } } }',
  message: (data) => {
    const m = data?.dnoAlerts as { sequence: string; kind: string; alert: { id: string } } | undefined;
    return m && { sequence: m.sequence, kind: m.kind, alertId: m.alert.id };
  },
};

/** The DSP adapter's `verificationRequests` stream (OPERATOR); `kind` is the attempt. */
export const VERIFICATION_REQUESTS: SequencedStream = {
  query: 'subscription ($after: String) { verificationRequests(after: $after) { sequence alertId attempt } }',
  message: (data) => {
    const r = data?.verificationRequests as
      { sequence: string; alertId: string; attempt: number } | undefined;
    return r && { sequence: r.sequence, kind: `ATTEMPT_${r.attempt}`, alertId: r.alertId };
  },
};

/**
 * A DNO consumer as a real one is written (or the DSP adapter, given VERIFICATION_REQUESTS): it
 * remembers the last sequence it processed and, whenever the connection drops, reconnects and
 * subscribes again with `after` = that sequence.
 */
export class ResilientConsumer {
  readonly received: StreamMessage[] = [];
  /** Times the subscription ended (an error, the server closing it) and was taken up again from the last sequence. */
  resumes = 0;
  private client: Client | undefined;
  private stopped = false;
  private last: string;

  constructor(
    private readonly url: () => string,
    private readonly token: string,
    after = '0',
    private readonly stream: SequencedStream = DNO_ALERTS,
  ) {
    this.last = after;
  }

  start(): void {
    if (this.stopped) return;
    const client = createClient({
      url: this.url(),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${this.token}` },
      retryAttempts: 0,
      lazy: true,
      onNonLazyError: () => undefined,
    });
    this.client = client;
    client.subscribe<Record<string, unknown>>(
      { query: this.stream.query, variables: { after: this.last } },
      {
        next: (value) => {
          const m = this.stream.message(value.data);
          if (!m) return;
          this.received.push(m);
          this.last = m.sequence;
        },
        error: () => this.restart(client),
        complete: () => this.restart(client),
      },
    );
  }

  private restart(client: Client): void {
    void client.dispose();
    if (this.stopped || client !== this.client) return;
    this.resumes++;
    setTimeout(() => this.start(), 200);
  }

  async waitForCount(count: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      if (Date.now() > deadline) throw new Error(`consumer has ${this.received.length} of ${count} messages`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.client?.dispose();
  }
}

/** A TCP port nothing listens on right now, so a restarted server can come back on the same one. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
