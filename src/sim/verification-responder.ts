import { performance } from 'node:perf_hooks';
import type { Client } from 'graphql-ws';
import { realWhen, toServer } from './anchor';
import type { TimeAnchor } from './anchor';
import { planVerificationAnswer } from './dcc-adapter';
import { openStream } from './live-api';
import type { GraphQLHttpClient } from './live-api';
import type { Scenario } from './scenario';

/**
 * Live mode's DSP/DCC adapter: holds an operator's graphql-ws subscription to
 * `verificationRequests`, plans each request's answer from the scenario's truth (dcc-adapter.ts),
 * and records it with `recordVerificationAnswer` when the server's clock reaches the time the
 * answer would arrive. After a disconnect it subscribes again after the last sequence it saw.
 */

const STREAM = `subscription Requests($after: String) {
  verificationRequests(after: $after) { sequence requestId deviceGuid requestedAt }
}`;
const ANSWER = `mutation Answer($i: VerificationAnswerInput!) { recordVerificationAnswer(input: $i) { status } }`;

interface StreamData {
  verificationRequests: { sequence: string; requestId: string; deviceGuid: string; requestedAt: string };
}

export interface VerificationResponderOptions {
  readonly wsUrl: string;
  readonly token: string;
  /** The stream's head when the run starts: only requests after it are this run's. */
  readonly after: string;
  readonly http: GraphQLHttpClient;
  readonly scenario: Scenario;
  readonly anchor: TimeAnchor;
}

export class VerificationResponder {
  requests = 0;
  answers = 0;
  reconnects = 0;
  readonly errors: string[] = [];
  private last: string;
  private client: Client | undefined;
  private stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly options: VerificationResponderOptions) {
    this.last = options.after;
  }

  /** Connects and subscribes; resolves once the server has acknowledged the connection. */
  start(): Promise<void> {
    const { client, connected } = openStream(this.options.wsUrl, this.options.token, 'verification stream');
    this.client = client;
    client.subscribe<StreamData>(
      { query: STREAM, variables: { after: this.last } },
      {
        next: (value) => {
          const r = value.data?.verificationRequests;
          if (!r) {
            this.errors.push(`verification stream: ${JSON.stringify(value.errors ?? value)}`);
            return;
          }
          if (BigInt(r.sequence) <= BigInt(this.last)) return;
          this.last = r.sequence;
          this.requests++;
          this.plan(r);
        },
        error: () => this.reconnect(client),
        complete: () => this.reconnect(client),
      },
    );
    return connected;
  }

  private plan(r: StreamData['verificationRequests']): void {
    const { scenario, anchor } = this.options;
    const plan = planVerificationAnswer(scenario, {
      requestId: r.requestId,
      deviceGuid: r.deviceGuid,
      requestedAt: Date.parse(r.requestedAt) - anchor.offsetMs,
    });
    if (!plan) return;
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        const sent = this.options.http
          .request(ANSWER, {
            i: {
              requestId: r.requestId,
              answeredAt: new Date(toServer(anchor, plan.answeredAt)).toISOString(),
              firmwareVersion: plan.firmwareVersion,
            },
          })
          .then(
            () => {
              this.answers++;
            },
            (error: unknown) => {
              this.errors.push(`verification answer ${r.requestId}: ${String(error)}`);
            },
          );
        this.inFlight.add(sent);
        void sent.finally(() => this.inFlight.delete(sent));
      },
      Math.max(0, realWhen(anchor, plan.arrivesAt) - performance.now()),
    );
    this.timers.add(timer);
  }

  private reconnect(client: Client): void {
    void client.dispose();
    if (this.stopped || client !== this.client) return;
    this.reconnects++;
    setTimeout(() => {
      if (!this.stopped) this.start().catch(() => undefined);
    }, 200).unref();
  }

  /** Stops listening; answers already due are sent first, later ones are dropped. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.client?.dispose();
    await Promise.all([...this.inFlight]);
  }
}

/** The verification stream's newest sequence, read page by page over HTTP ('0' when empty). */
export async function verificationHead(http: GraphQLHttpClient): Promise<string> {
  let after = '0';
  for (;;) {
    const page = await http.request<{ verificationRequests: { sequence: string | null }[] }>(
      'query ($after: String) { verificationRequests(after: $after, first: 500) { sequence } }',
      { after },
    );
    const last = page.verificationRequests.at(-1)?.sequence;
    if (!last) return after;
    after = last;
  }
}
