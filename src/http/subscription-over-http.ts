import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError } from 'graphql';

/**
 * A subscription sent as an HTTP request (a plain POST, or Apollo Client's HttpLink asking for
 * `multipart/mixed`) is refused before it runs: this service streams subscriptions over
 * graphql-ws only, on the same /graphql path. Without this, graphql-js would try to execute it
 * as a query and fail deep inside with an INTERNAL error that tells the client nothing.
 *
 * The answer is HTTP 400, `extensions.code` BAD_USER_INPUT with reason SUBSCRIPTION_OVER_HTTP,
 * and `extensions.websocket`: the URL to subscribe on instead.
 */
export function subscriptionOverHttpPlugin(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, request }) {
          if (operation?.operation !== 'subscription') return;
          const websocket = webSocketUrl(request.http?.headers);
          throw new GraphQLError(
            `Subscriptions are served over WebSocket only (the graphql-ws protocol) at ${websocket}, ` +
              'not over HTTP: use a graphql-ws client (Apollo Client: GraphQLWsLink) for this operation.',
            {
              extensions: {
                code: 'BAD_USER_INPUT',
                reason: 'SUBSCRIPTION_OVER_HTTP',
                websocket,
                http: { status: 400 },
              },
            },
          );
        },
      };
    },
  };
}

/** ws(s)://<the host the client used>/graphql; behind a TLS-terminating proxy, X-Forwarded-Proto says wss. */
function webSocketUrl(headers: Map<string, string> | undefined): string {
  const host = headers?.get('host') ?? 'localhost';
  const proto = headers?.get('x-forwarded-proto')?.split(',')[0]?.trim();
  return `${proto === 'https' ? 'wss' : 'ws'}://${host}/graphql`;
}
