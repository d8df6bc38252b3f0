import { createClient } from 'graphql-ws';
import type { Client } from 'graphql-ws';
import WebSocket from 'ws';
import { gql, INGEST, token } from '../lib/api';
import { check, withServer } from '../lib/harness';
import type { CommonOptions } from '../lib/harness';
import type { BenchResult, Figure } from '../lib/report';
import { guid, mpan } from '../../test/support/integration';
import { loadAverage, median, nowMs, percentile, progress, round } from '../lib/util';

/**
 * What subscribers cost ingest: the operator's single-alert ingest (to a DNO nobody follows),
 * acknowledgement p50 and p99, with 0, 100 and 1,000 `dnoAlerts` subscriptions of another DNO,
 * idle (at the head of the stream) or catching up (replaying a backlog from the start). The
 * baseline is the same ingest with no subscription, measured in the same run on the same server.
 * The subscribers run in this process, the server in its own.
 */
export interface SubscriberLoadOptions extends CommonOptions {
  readonly counts: readonly number[];
  /** Messages on the followed DNO's stream that catching-up subscribers replay. */
  readonly backlog: number;
  /** Ingests measured per scenario (a catching-up one stops early when the replay is over). */
  readonly ingests: number;
  readonly smoke: boolean;
}

const PER_CONNECTION = 50;
const CONNECTIONS_PER_TOKEN = 4;
const SUBSCRIPTION =
  'subscription ($after: String) { dnoAlerts(distributorId: "12", after: $after) { sequence kind alert { id outcome } } }';

let premises = 0;
/** An AD1 of a premises nobody knows, routed to `dno` by its MPAN: delivered at once. */
function ad1(dno: number) {
  premises += 1;
  return {
    powerOutage: {
      commsHubGuid: guid('5D-00-00-00-00-00', premises),
      startAt: new Date().toISOString(),
      mpan: mpan(dno, 300_000 + premises),
    },
  };
}

interface Subscribers {
  readonly clients: Client[];
  readonly received: number[];
  readonly errors: unknown[];
}

async function subscribeMany(wsUrl: string, count: number, after: string, run: number): Promise<Subscribers> {
  const out: Subscribers = { clients: [], received: new Array<number>(count).fill(0), errors: [] };
  const connections = Math.ceil(count / PER_CONNECTION);
  for (let c = 0; c < connections; c++) {
    const bearer = await token({
      role: 'ED',
      distributorIds: ['12'],
      subject: `bench-load-${run}-${Math.floor(c / CONNECTIONS_PER_TOKEN)}`,
    });
    const client = createClient({
      url: wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${bearer}` },
      retryAttempts: 0,
      lazy: false,
      onNonLazyError: (e) => out.errors.push(e),
    });
    await new Promise<void>((resolve, reject) => {
      client.on('connected', () => resolve());
      client.on('closed', (e) => reject(new Error(`subscriber connection closed: ${JSON.stringify(e)}`)));
    });
    out.clients.push(client);
    for (let i = c * PER_CONNECTION; i < Math.min(count, (c + 1) * PER_CONNECTION); i++) {
      client.subscribe(
        { query: SUBSCRIPTION, variables: { after } },
        { next: () => (out.received[i] += 1), error: (e) => out.errors.push(e), complete: () => undefined },
      );
    }
  }
  return out;
}

export async function subscriberLoad(options: SubscriberLoadOptions): Promise<BenchResult> {
  const started = nowMs();
  const load = { before: loadAverage(), after: [] as number[] };
  const env = {
    WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: String(PER_CONNECTION),
    RATE_LIMIT_QUERIES_PER_MINUTE: '0',
  };
  return withServer(
    options,
    'subscriber load',
    async (_db, server) => {
      const operator = await token({ role: 'OPERATOR' });
      const ingestOnce = async () => {
        const t0 = nowMs();
        await gql(server.url, INGEST, { a: [ad1(13)] }, operator);
        return nowMs() - t0;
      };
      for (let i = 0; i < options.backlog; i += 50) {
        await gql(
          server.url,
          INGEST,
          { a: Array.from({ length: Math.min(50, options.backlog - i) }, () => ad1(12)) },
          operator,
        );
      }
      const head = (
        await gql<{ dnoDeliveryStatus: { newestSequence: string } }>(
          server.url,
          'query { dnoDeliveryStatus(distributorId: "12") { newestSequence } }',
          {},
          operator,
        )
      ).dnoDeliveryStatus.newestSequence;
      for (let i = 0; i < 20; i++) await ingestOnce(); // warm-up
      const idle: number[] = [];
      for (let i = 0; i < options.ingests; i++) idle.push(await ingestOnce());
      const figures: Figure[] = [
        { name: 'ingest p50, no subscription', value: round(median(idle), 2), unit: 'ms' },
        { name: 'ingest p99, no subscription', value: round(percentile(idle, 99), 2), unit: 'ms' },
      ];
      const notes: string[] = [];
      let allCaughtUp = true;
      let run = 0;
      for (const count of options.counts.filter((n) => n > 0)) {
        for (const mode of ['idle', 'catching up'] as const) {
          run += 1;
          progress(`subscriber load: ${count} subscriptions, ${mode}`);
          const subs = await subscribeMany(server.wsUrl, count, mode === 'idle' ? head : '0', run);
          const times: number[] = [];
          const caughtUp = () => subs.received.every((n) => n >= options.backlog);
          if (mode === 'idle') await new Promise((r) => setTimeout(r, 500));
          while (times.length < options.ingests && (mode === 'idle' || !caughtUp() || times.length < 10))
            times.push(await ingestOnce());
          const doneBy = nowMs() + 120_000;
          while (mode === 'catching up' && !caughtUp() && nowMs() < doneBy)
            await new Promise((r) => setTimeout(r, 100));
          if (mode === 'catching up' && !caughtUp()) allCaughtUp = false;
          if (subs.errors.length)
            throw new Error(`subscriber errors: ${JSON.stringify(subs.errors.slice(0, 3))}`);
          const p50 = median(times);
          const baseline = { name: 'no subscription', value: round(median(idle), 2), unit: 'ms' };
          figures.push(
            {
              name: `ingest p50, ${count} subscriptions ${mode}`,
              value: round(p50, 2),
              unit: 'ms',
              baseline,
              ratio: round(p50 / median(idle), 2),
              target: 'ratio <= 2',
              met: options.smoke ? null : p50 <= 2 * median(idle),
            },
            {
              name: `ingest p99, ${count} subscriptions ${mode}`,
              value: round(percentile(times, 99), 2),
              unit: 'ms',
              baseline: { ...baseline, value: round(percentile(idle, 99), 2) },
              ratio: round(percentile(times, 99) / percentile(idle, 99), 2),
            },
          );
          notes.push(`${count} ${mode}: ${times.length} ingests measured`);
          await Promise.all(subs.clients.map((c) => c.dispose()));
          await new Promise((r) => setTimeout(r, 500));
        }
      }
      load.after = loadAverage();
      return {
        id: 'subscriber-load',
        title: '7. Ingest under subscribers',
        figures,
        checks: [
          check(
            'every catching-up subscriber replayed the backlog',
            allCaughtUp,
            `backlog ${options.backlog}`,
          ),
        ],
        notes: [
          `single-AD1 ingests to DNO 13, one after another, while ${options.counts.join('/')} dnoAlerts subscriptions of DNO 12 ` +
            `(${PER_CONNECTION} a connection) sit at the head or replay ${options.backlog} messages from the start`,
          ...notes,
        ],
        load,
        seconds: round((nowMs() - started) / 1000, 1),
      };
    },
    env,
  );
}
