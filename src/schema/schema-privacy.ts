import { GraphQLError } from 'graphql';
import type { ValidationRule } from 'graphql';

/**
 * With introspection off (GRAPHQL_INTROSPECTION=false), the schema is not handed to strangers by
 * other routes either: Apollo Federation's `_service { sdl }` is refused like `__schema`, and
 * validation errors lose graphql-js's "Did you mean ...?" hints, which spell out field, argument
 * and enum names one guess at a time. A gateway composes from the checked-in `schema.graphql`
 * (`npm run supergraph`) instead.
 */
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
