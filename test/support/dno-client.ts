/**
 * A DNO's client code for the sieve, as docs/CONSUMERS.md shows it: every region between
 * `// #region name` and `// #endregion` is a snippet of the guide (test/unit/consumers-doc.test.ts
 * keeps the two identical) and test/e2e/consumer.test.ts runs it against the real server.
 */
// #region imports-ws
import { createClient } from 'graphql-ws';
import type { Client } from 'graphql-ws';
import WebSocket from 'ws';
// #endregion
// #region imports-apollo
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from '@apollo/client';
import type { ApolloCache, Reference, TypePolicies } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { OperationTypeNode } from 'graphql';
// #endregion

// #region connect
/** One WebSocket to the sieve. Node 20 has no global WebSocket: hand graphql-ws the `ws` package. */
export function connectDno(wsUrl: string, token: string): Client {
  return createClient({
    url: wsUrl, // wss://<host>/graphql
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    // On a dropped connection graphql-ws reconnects and sends the same subscribe payload again:
    // followDnoAlerts keeps its `after` current, and skips any repeat by sequence.
    retryAttempts: 10,
  });
}
// #endregion

// #region stream
export const DNO_ALERTS = `subscription DnoAlerts($after: String) {
  dnoAlerts(after: $after) {
    distributorId sequence kind
    alert { id kind raisedByGuid mpan eventAt restoredAt outcome }
    decision { ledgerRevision outcome reasonCode reasonText late decidedAt }
    pairedWith { id }
  }
}`;

export interface DnoAlertMessage {
  distributorId: string;
  sequence: string;
  kind: 'AD1' | 'OTA_INDUCED' | 'RELEASED_AD1' | 'SUPPLY_RESTORED' | 'WITHDRAWN' | 'RECLASSIFIED';
  alert: { id: string; kind: string; raisedByGuid: string; mpan: string | null; outcome: string | null };
  decision: { ledgerRevision: number; outcome: string; reasonCode: string; late: boolean };
  pairedWith: { id: string } | null;
}

/**
 * Hands every message after `cursor.after` to `handle`, in order, exactly once, and moves the
 * cursor past it once handled. Keep the cursor somewhere durable: after a restart, call this again
 * with it and the stream resumes where you stopped. Resolves when `signal` aborts.
 */
export async function followDnoAlerts(
  client: Client,
  cursor: { after: string },
  handle: (message: DnoAlertMessage) => Promise<void>,
  signal: AbortSignal,
): Promise<void> {
  // graphql-ws sends this same payload again on every reconnect: keeping `after` in it up to date
  // resumes from the last message handled, not from where this call started.
  const variables = { after: cursor.after };
  const events = client.iterate<{ dnoAlerts: DnoAlertMessage }>({ query: DNO_ALERTS, variables });
  signal.addEventListener('abort', () => void events.return?.());
  for await (const { data, errors } of events) {
    if (errors?.length) throw new Error(errors.map((e) => e.message).join('; '));
    const message = data!.dnoAlerts;
    // Sequences are 64-bit counters, sent as strings: compare them as BigInt, never as text.
    if (BigInt(message.sequence) <= BigInt(cursor.after)) continue; // repeated after a reconnect
    await handle(message);
    cursor.after = message.sequence;
    variables.after = message.sequence;
  }
}
// #endregion

// #region acknowledge
/**
 * Tells the sieve you have processed everything up to `upTo`: a later subscription without
 * `after` starts there, and `dnoDeliveryStatus.lag` shows how far behind you are.
 */
export async function acknowledge(client: Client, upTo: string): Promise<string> {
  const result = client.iterate<{ acknowledgeDnoAlerts: { acknowledgedSequence: string } }>({
    query: `mutation ($upTo: String!) { acknowledgeDnoAlerts(upTo: $upTo) { acknowledgedSequence } }`,
    variables: { upTo },
  });
  for await (const { data, errors } of result) {
    if (errors?.length) throw new Error(errors.map((e) => e.message).join('; '));
    return data!.acknowledgeDnoAlerts.acknowledgedSequence;
  }
  throw new Error('acknowledgeDnoAlerts returned no result');
}
// #endregion

// #region type-policies
/**
 * How InMemoryCache identifies the sieve's objects: each type by its federation @key. Alert,
 * FirmwareActivation, FirmwareImage and AffectedFirmwareRule are keyed by `id`, the default.
 * Objects without an identity of their own are stored inside their parent.
 */
export const typePolicies: TypePolicies = {
  Device: { keyFields: ['guid'] },
  NetworkOperator: { keyFields: ['distributorId'] },
  // A stream message: select distributorId and sequence whenever you select a DnoAlert.
  DnoAlert: { keyFields: ['distributorId', 'sequence'] },
  DnoDecision: { keyFields: false },
  OtaInducedDetails: { keyFields: false },
  AlertDecisionRecord: { keyFields: false },
  AlertExplanation: { keyFields: false },
  SuppressionWindowType: { keyFields: false },
  CommsHubLink: { keyFields: false },
  FirmwareVersionEntry: { keyFields: false },
  DnoDeliveryStatus: { keyFields: ['distributorId'] },
};
// #endregion

// #region apollo-client
/** Apollo Client for a DNO: subscriptions over graphql-ws, queries and mutations over HTTP. */
export function createDnoApolloClient(httpUrl: string, wsClient: Client, token: string): ApolloClient {
  const link = ApolloLink.split(
    (operation) => operation.operationType === OperationTypeNode.SUBSCRIPTION,
    new GraphQLWsLink(wsClient),
    new HttpLink({ uri: httpUrl, fetch, headers: { authorization: `Bearer ${token}` } }),
  );
  return new ApolloClient({ link, cache: new InMemoryCache({ typePolicies }) });
}
// #endregion

// #region apollo-subscribe
/**
 * Your DNO's stream through Apollo Client, from `after`. Apollo Client deduplicates identical
 * operations in flight, subscriptions included: a second subscription with the same document and
 * variables joins the first one's stream where it has got to, and never sees what the first has
 * already received (its replay). Every subscription that keeps a cursor of its own needs a stream
 * of its own: turn deduplication off for it.
 */
export function subscribeDnoAlerts(apollo: ApolloClient, after: string) {
  return apollo.subscribe<{ dnoAlerts: DnoAlertMessage }>({
    query: gql(DNO_ALERTS),
    variables: { after },
    context: { queryDeduplication: false },
  });
}
// #endregion

// #region corrections
/**
 * The outages a control room is acting on, by alert ID, kept from the stream: an AD1 (or a
 * RELEASED_AD1) opens one, its SUPPLY_RESTORED or a WITHDRAWN closes it. A WITHDRAWN names an
 * AD1 you already received that the sieve has since judged OTA-induced on late evidence (DCC's
 * outcome, a read of the meter): stand the job down. OTA_INDUCED (PAIR) and RECLASSIFIED
 * (ANNOTATE) only annotate.
 */
export function applyToOpenOutages(open: Map<string, DnoAlertMessage>, message: DnoAlertMessage): void {
  switch (message.kind) {
    case 'AD1':
    case 'RELEASED_AD1':
      open.set(message.alert.id, message);
      break;
    case 'WITHDRAWN':
      open.delete(message.alert.id);
      break;
    case 'SUPPLY_RESTORED':
      if (message.pairedWith) open.delete(message.pairedWith.id);
      break;
    default:
      break;
  }
}

/**
 * Apollo Client: a correction's `alert` is the current Alert, so the cache already shows its new
 * outcome wherever the alert is. A cached `alerts` list filtered on an outcome the alert no longer
 * has (your list of DELIVERED or RELEASED AD1s) still holds it: take it out, as a refetch would.
 */
export function applyCorrectionToCache(cache: ApolloCache, message: DnoAlertMessage): void {
  if (message.kind !== 'WITHDRAWN' && message.kind !== 'RELEASED_AD1') return;
  const outcome = message.alert.outcome;
  cache.modify<{ alerts: { nodes: Reference[] } }>({
    fields: {
      alerts(list, { storeFieldName, readField }) {
        // storeFieldName is `alerts({"filter":{...}})`: the arguments this list was fetched with.
        const args = /^alerts\((.*)\)$/.exec(storeFieldName)?.[1];
        const wanted = args
          ? (JSON.parse(args) as { filter?: { outcome?: string } }).filter?.outcome
          : undefined;
        if (!wanted || wanted === outcome || !('nodes' in list)) return list;
        return { ...list, nodes: list.nodes.filter((n) => readField('id', n) !== message.alert.id) };
      },
    },
  });
}
// #endregion
