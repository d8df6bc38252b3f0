import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { composeServices } from '@apollo/composition';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { createGatewayRuntime, getGraphQLWSOptions } from '@graphql-hive/gateway-runtime';
import type { GatewayConfigSupergraph } from '@graphql-hive/gateway-runtime';
import httpTransport from '@graphql-mesh/transport-http';
import wsTransport from '@graphql-mesh/transport-ws';
import { parse } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { GqlBody } from './app';

/**
 * A real federation router in front of the sieve, for tests: Hive Gateway's programmatic runtime
 * (@graphql-hive/gateway-runtime, no binary) serving a supergraph composed with
 * @apollo/composition, over HTTP and graphql-ws on one port, as docs/FEDERATION-SUBSCRIPTIONS.md
 * describes it.
 */

/** The sieve's subgraph name in the supergraph (and the key of its transport entry). */
export const SIEVE_SUBGRAPH = 'poa-sieve';

export interface Subgraph {
  readonly name: string;
  /** The subgraph's GraphQL endpoint over HTTP, e.g. http://127.0.0.1:4001/graphql. */
  readonly url: string;
  readonly sdl: string;
}

/** Composes a Federation 2 supergraph, failing on any composition error. */
export function composeSupergraph(subgraphs: Subgraph[]): string {
  const result = composeServices(
    subgraphs.map((s) => ({ name: s.name, url: s.url, typeDefs: parse(s.sdl) })),
  );
  if (result.errors?.length) {
    throw new Error(`composition failed: ${result.errors.map((e) => e.message).join('; ')}`);
  }
  return result.supergraphSdl!;
}

/**
 * The gateway configuration the test runs, and the one the doc shows: the client's Authorization
 * goes to every subgraph over HTTP (`propagateHeaders`), and the sieve's subscriptions go over
 * graphql-ws with the same Authorization in connection_init (`connectionParams`). A WebSocket
 * client's connection_init payload becomes `context.headers` in Hive Gateway, so the one
 * interpolation serves both.
 */
export function gatewayConfig(supergraph: string): GatewayConfigSupergraph {
  return {
    supergraph,
    propagateHeaders: {
      fromClientToSubgraphs: ({ request }) => ({ authorization: request.headers.get('authorization') }),
    },
    transportEntries: {
      [SIEVE_SUBGRAPH]: {
        options: {
          subscriptions: {
            kind: 'ws',
            // Resolved against the subgraph's URL in the supergraph: the same /graphql path.
            location: '/graphql',
            options: {
              connectionParams: { authorization: '{context.headers.authorization}' },
              // Close the upstream socket as soon as its last subscription ends (default: 3 s later,
              // on a timer that outlives the gateway's dispose).
              lazyCloseTimeout: 0,
            },
          },
        },
      },
    },
  };
}

export interface TestGateway {
  /** http://127.0.0.1:<port>/graphql */
  readonly url: string;
  /** ws://127.0.0.1:<port>/graphql */
  readonly wsUrl: string;
  /** POSTs an operation to the gateway. */
  gql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    token?: string,
  ): Promise<{ status: number; body: GqlBody<T> }>;
  stop(): Promise<void>;
}

/** Starts Hive Gateway on 127.0.0.1 port 0 over a supergraph; HTTP and graphql-ws share /graphql. */
export async function startGateway(supergraph: string): Promise<TestGateway> {
  const runtime = createGatewayRuntime({
    ...gatewayConfig(supergraph),
    // The transports are handed in rather than looked up by package name at run time.
    transports: { http: httpTransport, ws: wsTransport },
    logging: process.env.TEST_LOG_LEVEL === 'debug' ? 'debug' : false,
    landingPage: false,
    graphiql: false,
  });
  // The supergraph is loaded on first use; over graphql-ws a first request would find no schema yet.
  await runtime.getSchema();
  const server = http.createServer(runtime);
  const wss = new WebSocketServer({ server, path: runtime.graphqlEndpoint });
  const wsServer = useServer(
    getGraphQLWSOptions<Record<string, unknown>, { request: http.IncomingMessage }>(runtime, (ctx) => ({
      req: ctx.extra.request,
      connectionParams: ctx.connectionParams,
    })),
    wss,
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}${runtime.graphqlEndpoint}`;
  return {
    url,
    wsUrl: url.replace('http', 'ws'),
    async gql(query, variables, token) {
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({ query, variables }),
      });
      return { status: res.status, body: (await res.json()) as never };
    },
    async stop() {
      // Clients first (1001 Going away), then the upstream sockets and HTTP agents of the runtime.
      await wsServer.dispose();
      await runtime.dispose();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A DNO field-work subgraph: docs/examples/field-work.graphql (work orders on our Device) plus
 * the work orders raised for an Alert, so a subscription event through the gateway carries a
 * field that only this subgraph can resolve.
 */
export const FIELD_WORK_SDL = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Device @key(fields: "guid") {
    guid: EUI64!
    openWorkOrders: [WorkOrder!]!
  }
  type Alert @key(fields: "id") {
    id: ID!
    workOrders: [WorkOrder!]!
  }
  type WorkOrder {
    id: ID!
    summary: String!
  }
  scalar EUI64
  type Query {
    workOrders: [WorkOrder!]!
  }
`;

/** Serves FIELD_WORK_SDL with @apollo/subgraph on a plain Node HTTP server (port 0). */
export async function startFieldWorkSubgraph(): Promise<Subgraph & { stop(): Promise<void> }> {
  const workOrderFor = (alertId: string) => ({ id: `WO-${alertId}`, summary: `Attend outage ${alertId}` });
  const schema = buildSubgraphSchema({
    typeDefs: parse(FIELD_WORK_SDL),
    resolvers: {
      Query: { workOrders: () => [] },
      Device: {
        __resolveReference: (ref: { guid: string }) => ({ guid: ref.guid }),
        openWorkOrders: () => [],
      },
      Alert: {
        __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
        workOrders: (alert: { id: string }) => [workOrderFor(alert.id)],
      },
    } as never,
  });
  const server = new ApolloServer({ schema, plugins: [ApolloServerPluginInlineTraceDisabled()] });
  const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
  return {
    name: 'field-work',
    url: new URL('/graphql', url).toString(),
    sdl: FIELD_WORK_SDL,
    stop: () => server.stop(),
  };
}
