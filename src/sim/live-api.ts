import { createClient } from 'graphql-ws';
import type { Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { liveRequestId } from './anchor';
import { iso } from './scenario';
import type { SimEvent } from './scenario';

/**
 * Live mode's transport: a small GraphQL-over-HTTP client (fetch), the graphql-ws streams it
 * holds, and the mapping of scenario events onto the public mutations, with every time moved onto
 * the server's clock.
 */

export class GraphQLRequestError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

interface GraphQLResponse<T> {
  data?: T | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Counts shared by every client of one run. */
export interface RequestCounters {
  requests: number;
  rateLimitedRetries: number;
  networkRetries: number;
}

/**
 * POSTs operations to /graphql with a bearer token. A RATE_LIMITED answer, and any other marked
 * `retryable` (OVERLOADED, UNAVAILABLE), is waited out (its retryAfterSeconds, else 1 s) and
 * retried, as a well-behaved client would; so is a connection failure, a
 * few times. Every operation the simulator sends is safe to retry: ingest is idempotent, and so
 * are a repeated SR11.3 request ID, link and upsert.
 */
export class GraphQLHttpClient {
  constructor(
    private readonly url: string,
    private readonly token: string,
    private readonly counters: RequestCounters,
  ) {}

  async request<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      this.counters.requests++;
      let body: GraphQLResponse<T>;
      try {
        const res = await fetch(`${this.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${this.token}` },
          body: JSON.stringify({ query, variables }),
          signal: AbortSignal.timeout(120_000),
        });
        body = (await res.json()) as GraphQLResponse<T>;
      } catch (error) {
        if (attempt >= 4) throw error;
        this.counters.networkRetries++;
        await sleep(250 * 2 ** attempt);
        continue;
      }
      const first = body.errors?.[0];
      if (!first) return body.data as T;
      const code = first.extensions?.code as string | undefined;
      if ((code === 'RATE_LIMITED' || first.extensions?.retryable === true) && attempt < 20) {
        this.counters.rateLimitedRetries++;
        await sleep(Number(first.extensions?.retryAfterSeconds ?? 1) * 1000);
        continue;
      }
      throw new GraphQLRequestError(first.message, code, first.extensions);
    }
  }
}

/** How a run moves scenario values onto the server: times by the offset, request counters by a base. */
export interface LiveMapping {
  readonly offsetMs: number;
  readonly requestCounterBase: bigint;
}

/** The one GraphQL variable object an alert event becomes in ingestAlerts(alerts:). */
export function alertInput(e: SimEvent, map: LiveMapping): Record<string, unknown> {
  const at = (t: number) => iso(t + map.offsetMs);
  switch (e.kind) {
    case 'AD1':
      return {
        powerOutage: {
          commsHubGuid: e.commsHubGuid,
          startAt: at(e.startAt),
          mpan: e.mpan,
          throttledCount: e.throttledCount,
        },
      };
    case 'RESTORE':
      return {
        supplyRestored: {
          esmeGuid: e.esmeGuid,
          alertCode: '8F36',
          interruptionAt: at(e.interruptionAt),
          restorationAt: at(e.restorationAt),
          mpan: e.mpan,
        },
      };
    case 'OUTCOME':
      return {
        activationOutcome: {
          esmeGuid: e.esmeGuid,
          alertCode: e.channel,
          requestId: liveRequestId(e.requestId, map.requestCounterBase),
          outcomeCode: e.outcomeCode,
          executedAt: at(e.executedAt),
          firmwareVersion: e.firmwareVersion,
        },
      };
    default:
      throw new Error(`${e.kind} is not an alert`);
  }
}

/**
 * DCC's messages go in ingestAlerts batches (operator): AD1s, restores, and every outcome (the
 * SR11.3 response as alertCode IMMEDIATE, 0x8F66/0x8F67). A supplier's claim is its own mutation.
 */
export const isAlertEvent = (e: SimEvent): boolean =>
  e.kind === 'AD1' || e.kind === 'RESTORE' || e.kind === 'OUTCOME';

export const MUTATIONS = {
  ingestAlerts:
    'mutation Ingest($alerts: [AlertInput!]!) { ingestAlerts(alerts: $alerts) { index kind alertId duplicate } }',
  schedule:
    'mutation Schedule($a: ScheduleFirmwareActivationInput!) { scheduleFirmwareActivation(activation: $a) { id status submittedAt } }',
  recordOutcome:
    'mutation Outcome($o: ActivationOutcomeInput!) { recordActivationOutcome(outcome: $o) { id status } }',
  linkCommsHubs: 'mutation Links($l: [CommsHubLinkInput!]!) { linkCommsHubs(links: $l) { effectiveFrom } }',
  upsertDevices:
    'mutation Devices($d: [DeviceInput!]!) { upsertDevices(devices: $d) { inserted updated firmwareChanges } }',
  linkCommsHub:
    'mutation Link($ch: EUI64!, $esme: EUI64!, $from: DateTime) { linkCommsHub(commsHubGuid: $ch, esmeGuid: $esme, effectiveFrom: $from) { effectiveFrom } }',
  registerImage: 'mutation Image($i: FirmwareImageInput!) { registerFirmwareImage(image: $i) { id } }',
  upsertRule:
    'mutation Rule($r: AffectedFirmwareRuleInput!) { upsertAffectedFirmwareRule(rule: $r) { id version } }',
  setPreference:
    'mutation Pref($p: DeliveryPreference!) { setDeliveryPreference(preference: $p) { preference newestSequence } }',
  acknowledge: 'mutation Ack($upTo: String!) { acknowledgeDnoAlerts(upTo: $upTo) { acknowledgedSequence } }',
} as const;

/**
 * A graphql-ws client for one of the simulator's long-lived streams, with the token in the
 * connection_init payload, and a promise that settles once the server acknowledged (or refused)
 * the connection. Reconnecting is the caller's job (retryAttempts 0), so it can resume after the
 * last message it processed.
 */
export function openStream(
  wsUrl: string,
  token: string,
  name: string,
): { client: WsClient; connected: Promise<void> } {
  const client = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    lazy: true,
    onNonLazyError: () => undefined,
  });
  const connected = new Promise<void>((resolve, reject) => {
    const offConnected = client.on('connected', () => {
      offConnected();
      offClosed();
      resolve();
    });
    const offClosed = client.on('closed', (event) => {
      offConnected();
      offClosed();
      const detail =
        event && typeof event === 'object' && 'code' in event ? ` (close ${String(event.code)})` : '';
      reject(new Error(`${name}: connection closed before it was acknowledged${detail}`));
    });
  });
  // The first connection's failure is the caller's to await; later ones are handled by reconnects.
  connected.catch(() => undefined);
  return { client, connected };
}
