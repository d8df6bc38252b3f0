import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginInlineTrace } from '@apollo/server/plugin/inlineTrace';
import { ROOT_CONTEXT, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_PATH,
} from '@opentelemetry/semantic-conventions';
import type { OperationDefinitionNode } from 'graphql';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { SpanKind, traceParentOf, tracer } from '../tracing';

/**
 * HTTP server spans (tracing on only: with it off these are not mounted at all). A request's
 * W3C `traceparent` (and `tracestate`) is continued; the answer carries a `traceresponse` header
 * (W3C Trace Context Level 2) naming the server span, so a caller without a traceparent of its
 * own can still find the trace of what it sent, the AD1s included.
 */
const TRACE_CONTEXT = Symbol('poa-sieve trace context');

type Traced = Response & { [TRACE_CONTEXT]?: Context };

/** The span of one request on `route` (`POST /graphql`, `POST /duis`), active for what follows. */
export function traceRequests(route: string): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const span = tracer().startSpan(
      `${req.method} ${route}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          [ATTR_HTTP_REQUEST_METHOD]: req.method,
          [ATTR_HTTP_ROUTE]: route,
          [ATTR_URL_PATH]: route,
        },
      },
      parent,
    );
    const active = trace.setSpan(parent, span);
    (res as Traced)[TRACE_CONTEXT] = active;
    const traceresponse = traceParentOf(span.spanContext());
    if (traceresponse) res.setHeader('traceresponse', traceresponse);
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    };
    res.once('finish', end);
    res.once('close', end);
    context.with(active, next);
  };
}

/**
 * Makes the request's span active again after a step that calls `next` from a stream event (the
 * JSON body reader), where the async context is the socket's and not the request's.
 */
export function reenterTrace(): RequestHandler {
  return (_req: Request, res: Response, next: NextFunction) => {
    const active = (res as Traced)[TRACE_CONTEXT];
    if (active) context.with(active, next);
    else next();
  };
}

/**
 * Names the GraphQL operation on the request's span: its type, the client's operation name, and
 * the root field (`operationLabel`, bounded by the schema), plus the error code it ended with.
 */
export function graphqlSpanPlugin(
  rootField: (operation: OperationDefinitionNode) => string,
): ApolloServerPlugin {
  return {
    async requestDidStart() {
      const span = trace.getActiveSpan();
      if (!span) return;
      return {
        async didResolveOperation({ operation, operationName }) {
          if (!operation) return;
          span.setAttributes({
            'graphql.operation.type': operation.operation,
            'graphql.operation.name': operationName ?? '',
            'poa.graphql.root_field': rootField(operation),
          });
        },
        async willSendResponse({ errors }) {
          const code = errors?.[0]?.extensions?.code;
          if (errors?.length) span.setAttribute('poa.graphql.error_code', String(code ?? 'ERROR'));
        },
      };
    },
  };
}

/**
 * Apollo's federated trace: resolver timings in `extensions.ftv1` for a request carrying a
 * router's `apollo-federation-include-trace: ftv1`, error messages masked; when not `enabled`
 * the header is ignored (and Apollo does not switch it on by itself for a subgraph schema).
 */
export function federatedTracePlugin(enabled: boolean): ApolloServerPlugin {
  return enabled
    ? ApolloServerPluginInlineTrace({ includeErrors: { masked: true } })
    : ApolloServerPluginInlineTraceDisabled();
}
