/* global window, document, URL */
/**
 * The GraphiQL page served at /graphiql (src/http/graphiql.ts). Bundled at build time by
 * scripts/build-graphiql.js (esbuild) into dist/graphiql: nothing is fetched from a CDN.
 * Plain JavaScript with React.createElement, so it needs no JSX or TypeScript setup; it is not
 * part of the tsc project.
 */
import './monaco-workers.mjs';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import 'graphiql/style.css';
import { getOperationAST, parse } from 'graphql';
import { createClient } from 'graphql-ws';
import { createElement } from 'react';
import { createRoot } from 'react-dom/client';

const httpUrl = new URL('/graphql', window.location.href).toString();
const wsUrl = httpUrl.replace(/^http/, 'ws');

const TOKEN_HINT = 'Bearer <paste a token from npm run token>';
const HEADERS = JSON.stringify({ authorization: TOKEN_HINT }, null, 2);

const DNO_ALERTS = `# Live alerts for your network, in sequence order (roles: ED, OPERATOR).
# Needs an ED token in the Headers tab below: npm run token -- --role ED --distributor 12
subscription DnoAlerts {
  dnoAlerts {
    sequence
    kind
    alert { id deviceGuid eventAt }
    decision { outcome reasonCode }
    otaInduced { activationRequestId model firmwareBefore firmwareAfter }
  }
}
`;

const SCHEDULE = `# Schedule a firmware activation on one ESME (roles: IS, GS; supplier token).
mutation ScheduleActivation($activation: ScheduleFirmwareActivationInput!) {
  scheduleFirmwareActivation(activation: $activation) {
    id
    requestId
    status
    executeAt
    device { guid model }
  }
}
`;

const SCHEDULE_VARIABLES = JSON.stringify(
  {
    activation: {
      // A demo-data meter with no activation yet, and the demo's fixed image.
      requestId: '90-B3-D5-1F-30-01-00-00:00-DB-E5-00-00-00-00-02:100',
      esmeGuid: '00-DB-E5-00-00-00-00-02',
      imageHash: 'c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00',
    },
  },
  null,
  2,
);

const EXPLAIN = `# Why was this alert delivered, held or suppressed? (roles: OPERATOR, ED)
query ExplainAlert($id: ID!) {
  explainAlert(id: $id) {
    alert { id kind deviceGuid eventAt outcome }
    lines
  }
}
`;

const OPERATOR_STATUS = `# The service at a glance, per DNO and in total (role: OPERATOR).
# Needs an operator token in the Headers tab below: npm run token -- --role OPERATOR
query OperatorStatus($windowMinutes: Int) {
  operatorStatus(windowMinutes: $windowMinutes) {
    at
    since
    total {
      alerts { received held suppressed paired released delivered }
      heldNow
      awaitingVerification
      verifications { pending answered timedOut skipped }
    }
    distributors {
      distributorId
      alerts { received held suppressed paired released delivered }
      awaitingVerification
      verifications { pending timedOut skipped }
      delivery { lag secondsSinceAcknowledgement }
    }
  }
}
`;

/** The unedited hint is not a token: sending it would only get a 401 (and no schema for the docs). */
function isPlaceholder(value) {
  return typeof value === 'string' && value.includes('<paste');
}

/** The editor's headers without the unedited token hint. */
function withoutPlaceholder(headers) {
  if (!headers || typeof headers !== 'object') return headers;
  return Object.fromEntries(Object.entries(headers).filter(([, value]) => !isPlaceholder(value)));
}

/** The Authorization value from GraphiQL's headers editor (any case), or undefined. */
function authorizationOf(headers) {
  if (!headers || typeof headers !== 'object') return undefined;
  const key = Object.keys(headers).find((k) => k.toLowerCase() === 'authorization');
  const value = key === undefined ? undefined : headers[key];
  return typeof value === 'string' && value.trim() && !isPlaceholder(value) ? value.trim() : undefined;
}

/**
 * One lazy graphql-ws client per Authorization value: the server checks the token once, in
 * connection_init ({ authorization: 'Bearer …' }), so a different token needs a new connection.
 */
const wsClients = new Map();
function wsClientFor(authorization) {
  const key = authorization ?? '';
  let client = wsClients.get(key);
  if (!client) {
    client = createClient({
      url: wsUrl,
      connectionParams: authorization ? { authorization } : {},
      lazy: true,
      retryAttempts: 0,
    });
    wsClients.set(key, client);
  }
  return client;
}

function asError(error) {
  if (error instanceof Error) return error;
  // A CloseEvent: 4401 carries the server's reason (missing, bad or expired token).
  if (error && typeof error === 'object' && 'code' in error) {
    return new Error(`WebSocket closed: ${error.code} ${error.reason || ''}`.trim());
  }
  if (Array.isArray(error)) return new Error(error.map((e) => e.message).join('; '));
  return new Error(String(error));
}

const httpFetcher = createGraphiQLFetcher({ url: httpUrl });

/**
 * Reads the operation from the text being sent, not from GraphiQL's `documentAST` and
 * `operationName`: those are updated after a debounce and, right after an edit, can still describe
 * the editor's previous contents (a query would then go over the WebSocket, or carry the name of
 * an operation that is no longer there).
 */
function resolveOperation(params) {
  let document;
  try {
    document = parse(params.query);
  } catch {
    return { params, subscription: false }; // Not valid GraphQL: the server's answer says why.
  }
  const operations = document.definitions.filter((d) => d.kind === 'OperationDefinition');
  const named =
    params.operationName && operations.some((o) => o.name && o.name.value === params.operationName);
  const fixed = named || operations.length !== 1 ? params : { ...params, operationName: undefined };
  const operation = getOperationAST(document, fixed.operationName || undefined);
  return { params: fixed, subscription: Boolean(operation && operation.operation === 'subscription') };
}

/**
 * Queries and mutations go over HTTP with the editor's headers; subscriptions over graphql-ws
 * at the same /graphql path, with the editor's Authorization header as connection parameters.
 */
function fetcher(graphQLParams, options) {
  const { params, subscription } = resolveOperation(graphQLParams);
  if (!subscription) {
    return httpFetcher(params, { ...options, headers: withoutPlaceholder(options && options.headers) });
  }
  const client = wsClientFor(authorizationOf(options && options.headers));
  return {
    subscribe(observer) {
      const dispose = client.subscribe(params, {
        next: (value) => observer.next(value),
        error: (error) => observer.error(asError(error)),
        complete: () => observer.complete(),
      });
      return { unsubscribe: dispose };
    },
  };
}

const tabs = [
  { query: DNO_ALERTS, headers: HEADERS },
  { query: SCHEDULE, variables: SCHEDULE_VARIABLES, headers: HEADERS },
  { query: EXPLAIN, variables: JSON.stringify({ id: '1' }, null, 2), headers: HEADERS },
  { query: OPERATOR_STATUS, variables: JSON.stringify({ windowMinutes: 60 }, null, 2), headers: HEADERS },
];

createRoot(document.getElementById('graphiql')).render(
  createElement(GraphiQL, {
    fetcher,
    defaultTabs: tabs,
    defaultHeaders: HEADERS,
    defaultEditorToolsVisibility: 'headers',
    // Tokens stay out of localStorage.
    shouldPersistHeaders: false,
  }),
);
