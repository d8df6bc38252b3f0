import { GraphQLError } from 'graphql';
import type { ValidationRule } from 'graphql';

/**
 * What a caller may learn of the schema, the same over HTTP and WebSocket (config.ts, GRAPHQL_*):
 *
 * - introspection (`__schema`, `__type`): on by default, off when NODE_ENV=production;
 * - suggestions: graphql-js's "Did you mean ...?" hints in validation and variable errors, which
 *   spell out field, argument, input field and enum names one guess at a time; on by default, off
 *   in production;
 * - the federation SDL (`_service { sdl }`): answered whatever introspection says, because a
 *   gateway composes the supergraph from it. The SDL is no secret (it is `schema.graphql`, and the
 *   supergraph other teams read); what guards the data is authorization. Turned off, it is refused
 *   like `__schema`, and gateways compose from the checked-in `schema.graphql` (`npm run supergraph`).
 */
export interface SchemaAccess {
  readonly introspection: boolean;
  readonly suggestions: boolean;
  readonly federationSdl: boolean;
}

/** Refuses `_service` (GRAPHQL_FEDERATION_SDL=false). */
export const NoFederationSdlRule: ValidationRule = (context) => ({
  Field(node) {
    if (node.name.value !== '_service') return;
    if (context.getParentType() !== context.getSchema().getQueryType()) return;
    context.reportError(
      new GraphQLError(
        'GraphQL federation SDL is not allowed, but the query contained _service. Compose from schema.graphql.',
        { nodes: node },
      ),
    );
  },
});

const SUGGESTION = / ?Did you mean [^?]*\?$/s;

/** A validation message without its "Did you mean ...?" hint. */
export function withoutSuggestions(message: string): string {
  return message.replace(SUGGESTION, '');
}
