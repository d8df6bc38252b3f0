import type { ApolloServerPlugin } from '@apollo/server';
import { fieldExtensionsEstimator, getComplexity, simpleEstimator } from 'graphql-query-complexity';
import type { ComplexityEstimator } from 'graphql-query-complexity';
import {
  GraphQLError,
  Kind,
  NoSchemaIntrospectionCustomRule,
  getOperationAST,
  isInterfaceType,
  isObjectType,
  parse,
  specifiedRules,
  validate,
  visit,
} from 'graphql';
import type {
  ASTNode,
  DocumentNode,
  FragmentDefinitionNode,
  GraphQLSchema,
  SelectionSetNode,
  ValidationRule,
} from 'graphql';
import { QueryTooComplexError } from '../domain/errors';
import { MAX_PAGE_SIZE } from '../services/shared/pagination';
import type { GraphQLContext } from './context';
import { NoFederationSdlRule, withoutSuggestions } from './schema-privacy';
import type { SchemaAccess } from './schema-privacy';
import { toGraphQLError } from './errors';
import { budgetQuery } from '../db/statement-budget';

/**
 * Query limits, the same for HTTP (an Apollo plugin) and WebSocket (graphql-ws `onSubscribe`):
 *
 * - depth: nested selection sets below a root field (`{ a { b } }` is 1;
 *   introspection `__` fields are not counted). Over the limit: QUERY_TOO_COMPLEX, reason DEPTH.
 * - complexity: every field costs 1, and a paged field (`first`) or a batch of federation
 *   references (`_entities`) multiplies the cost of its selection by the page size (default 50,
 *   at most 500: a larger `first` is the service's INVALID_PAGE_SIZE, not a cost) or by the
 *   number of representations. Over the limit: QUERY_TOO_COMPLEX, reason COMPLEXITY, with `cost`
 *   and `limit`.
 *
 * The schema is rebuilt from its printed SDL as a Federation subgraph (schema/build.ts), which
 * drops type-graphql's field `complexity` extensions; the page-size rule therefore reads the
 * arguments instead. fieldExtensionsEstimator stays first, so a field that does carry a
 * `complexity` extension is priced by it.
 */
export interface QueryLimits {
  readonly maxDepth: number;
  readonly maxComplexity: number;
  /** Database statements one query operation may run (0: no limit; src/db/statement-budget.ts). */
  readonly maxStatements?: number;
}

export const DEFAULT_PAGE_SIZE = 50;

/** `first`-paged fields and `_entities` cost their selection once per node they may return. */
export const pagedFieldEstimator: ComplexityEstimator = ({ field, args, childComplexity }) => {
  if (field.name === '_entities' && Array.isArray(args.representations)) {
    return 1 + Math.max(1, args.representations.length) * childComplexity;
  }
  if (!field.args.some((a) => a.name === 'first')) return undefined;
  const first =
    typeof args.first === 'number' && Number.isFinite(args.first) ? args.first : DEFAULT_PAGE_SIZE;
  return 1 + Math.min(Math.max(1, Math.trunc(first)), MAX_PAGE_SIZE) * childComplexity;
};

const ESTIMATORS: ComplexityEstimator[] = [
  fieldExtensionsEstimator(),
  pagedFieldEstimator,
  simpleEstimator({ defaultComplexity: 1 }),
];

/** The estimated cost of an operation, or undefined when it cannot be priced (its variables are invalid: execution will refuse it). */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName?: string | null,
  variables?: Record<string, unknown> | null,
  /** Pricing stops after this many field nodes (graphql-query-complexity's guard against huge documents). */
  maxQueryNodes = 10_000,
): number | undefined {
  try {
    return getComplexity({
      estimators: ESTIMATORS,
      schema,
      query: document,
      operationName: operationName ?? undefined,
      variables: variables ?? {},
      maxQueryNodes,
    });
  } catch (error) {
    // Every field costs at least 1, so more fields than the node bound costs more than that.
    if (error instanceof GraphQLError && /maximum allowed number of nodes/.test(error.message)) {
      return maxQueryNodes + 1;
    }
    return undefined;
  }
}

/**
 * The deepest selection of any operation in a validated document: `{ a }` is 0, `{ a { b } }` is
 * 1; introspection `__` fields are not counted. Each fragment is measured once, so a fragment
 * bomb (fragments spreading the next one twice, 2^n paths) costs as much as its text.
 */
export function operationDepth(document: DocumentNode): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions)
    if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const known = new Map<string, number>();
  const depthOf = (set: SelectionSetNode, open: Set<string>): number => {
    let deepest = 0;
    for (const s of set.selections) {
      if (s.kind === Kind.FIELD) {
        if (s.name.value.startsWith('__') || !s.selectionSet) continue;
        deepest = Math.max(deepest, 1 + depthOf(s.selectionSet, open));
      } else if (s.kind === Kind.INLINE_FRAGMENT) {
        deepest = Math.max(deepest, depthOf(s.selectionSet, open));
      } else {
        const name = s.name.value;
        const fragment = fragments.get(name);
        if (!fragment || open.has(name)) continue; // validation refuses unknown and cyclic spreads
        if (!known.has(name)) {
          open.add(name);
          known.set(name, depthOf(fragment.selectionSet, open));
          open.delete(name);
        }
        deepest = Math.max(deepest, known.get(name)!);
      }
    }
    return deepest;
  };
  let deepest = 0;
  for (const d of document.definitions) {
    if (d.kind === Kind.OPERATION_DEFINITION) deepest = Math.max(deepest, depthOf(d.selectionSet, new Set()));
  }
  return deepest;
}

/**
 * Operations already priced within the limit, by the values their price depends on. Apollo keeps
 * one parsed document per query text, so a client sending the same operation again (an adapter
 * posting one alert per mutation) is let through from here: pricing walks the document with its
 * variables coerced, 0.17 ms per single-alert ingest, about 7% of the server's CPU for it. A price
 * depends on the document, the operation chosen, and the variables inside `first` and
 * `representations` arguments (pagedFieldEstimator) and in directives (`@include(if: $x)`), which
 * make the key. Only prices within the limit are kept, so every answer is the one pricing would
 * give: a valid request priced the same, an invalid one (unpriceable, left to execution) let
 * through as pricing lets it through. A schema carrying `complexity` extensions (whose estimators
 * may read any argument) is always priced.
 */
const withinLimit = new WeakMap<
  DocumentNode,
  { readonly keyed: readonly string[]; readonly keys: Set<string> }
>();
const MAX_KEYS_PER_DOCUMENT = 64;
const extensionPriced = new WeakMap<GraphQLSchema, boolean>();

/** The names of variables used inside `first` or `representations` arguments or in directives. */
function pricingVariables(document: DocumentNode): string[] {
  const names = new Set<string>();
  const collect = (node: ASTNode) => visit(node, { Variable: (v) => void names.add(v.name.value) });
  visit(document, {
    Argument(node) {
      if (node.name.value === 'first' || node.name.value === 'representations') collect(node.value);
    },
    // @include(if: $x) and @skip(if: $x) decide whether a selection is priced at all.
    Directive: (node) => void collect(node),
  });
  return [...names].sort();
}

function hasComplexityExtensions(schema: GraphQLSchema): boolean {
  let found = extensionPriced.get(schema);
  if (found === undefined) {
    found = Object.values(schema.getTypeMap()).some(
      (type) =>
        (isObjectType(type) || isInterfaceType(type)) &&
        Object.values(type.getFields()).some((field) => field.extensions?.complexity !== undefined),
    );
    extensionPriced.set(schema, found);
  }
  return found;
}

/** The prices within the limit kept for this document; undefined when the schema must always be priced. */
function pricedWithinLimit(schema: GraphQLSchema, document: DocumentNode) {
  if (hasComplexityExtensions(schema)) return undefined;
  let entry = withinLimit.get(document);
  if (!entry) {
    entry = { keyed: pricingVariables(document), keys: new Set() };
    withinLimit.set(document, entry);
  }
  return entry;
}

/**
 * What a price depends on besides the document: the operation, the limit, and the pricing
 * variables. A list counts by its length (representations), anything else by its value; an
 * absent variable takes its default, which an explicit null does not.
 */
function pricingKey(
  keyed: readonly string[],
  operationName: string | null | undefined,
  maxComplexity: number,
  variables: Record<string, unknown> | null | undefined,
): string {
  return JSON.stringify([
    operationName ?? null,
    maxComplexity,
    ...keyed.map((name) => {
      if (!variables || !Object.prototype.hasOwnProperty.call(variables, name)) return ['absent'];
      const value = variables[name];
      return Array.isArray(value) ? ['length', value.length] : ['value', value];
    }),
  ]);
}

/** Throws QueryTooComplexError when the operation costs more than the limit (from `withinLimit` when priced before). */
function checkCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  maxComplexity: number,
  operationName?: string | null,
  variables?: Record<string, unknown> | null,
): void {
  const priced = pricedWithinLimit(schema, document);
  const key = priced && pricingKey(priced.keyed, operationName, maxComplexity, variables);
  if (priced && priced.keys.has(key!)) return;
  const cost = operationCost(schema, document, operationName, variables, Math.max(maxComplexity, 1000));
  if (cost === undefined) return;
  if (cost > maxComplexity) {
    throw new QueryTooComplexError(
      'COMPLEXITY',
      `the operation would cost ${cost}, over the limit of ${maxComplexity}; ask for smaller pages or fewer fields`,
      { cost, limit: maxComplexity },
    );
  }
  if (priced && priced.keys.size < MAX_KEYS_PER_DOCUMENT) priced.keys.add(key!);
}

/** Throws QueryTooComplexError when a validated operation is too deep or too costly. */
export function checkQueryLimits(
  schema: GraphQLSchema,
  document: DocumentNode,
  limits: QueryLimits,
  operationName?: string | null,
  variables?: Record<string, unknown> | null,
): void {
  const depth = operationDepth(document);
  if (depth > limits.maxDepth) {
    throw new QueryTooComplexError('DEPTH', `the operation is nested deeper than ${limits.maxDepth} levels`, {
      limit: limits.maxDepth,
      depth,
    });
  }
  checkCost(schema, document, limits.maxComplexity, operationName, variables);
}

/** The HTTP side: runs after Apollo has parsed and validated the operation, before it executes. */
export function queryLimitsPlugin(limits: QueryLimits): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operationName, request, schema, operation }) {
          try {
            checkQueryLimits(schema, document, limits, operationName, request.variables);
          } catch (error) {
            if (error instanceof QueryTooComplexError) throw toGraphQLError(error, 400);
            throw error;
          }
          if (operation?.operation === 'query') budgetQuery(limits.maxStatements ?? 0);
        },
      };
    },
  };
}

/** A GraphQL parse or validation failure, with the code every other bad input carries. */
function badRequest(error: GraphQLError, reason: string): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    originalError: error.originalError,
    extensions: { ...error.extensions, code: 'BAD_USER_INPUT', reason },
  });
}

/**
 * The WebSocket side, for graphql-ws `onSubscribe`: parses and validates the operation with the
 * same schema access as on HTTP (introspection, suggestions, the federation SDL), then applies the
 * same limits. Returns the
 * execution arguments, or the errors to send the client.
 */
export function prepareWsOperation(
  schema: GraphQLSchema,
  payload: { query: string; operationName?: string | null; variables?: Record<string, unknown> | null },
  limits: QueryLimits,
  access: SchemaAccess,
):
  | { document: DocumentNode; operationName?: string; variableValues?: Record<string, unknown> }
  | GraphQLError[] {
  let document: DocumentNode;
  try {
    document = parse(payload.query);
  } catch (error) {
    return [
      error instanceof GraphQLError
        ? badRequest(error, 'GRAPHQL_PARSE_FAILED')
        : new GraphQLError('the operation could not be parsed', {
            extensions: { code: 'BAD_USER_INPUT', reason: 'GRAPHQL_PARSE_FAILED' },
          }),
    ];
  }
  const rules: ValidationRule[] = [
    ...specifiedRules,
    ...(access.introspection ? [] : [NoSchemaIntrospectionCustomRule]),
    ...(access.federationSdl ? [] : [NoFederationSdlRule]),
  ];
  const errors = validate(schema, document, rules);
  if (errors.length) {
    return errors.map((e) =>
      badRequest(
        access.suggestions
          ? e
          : new GraphQLError(withoutSuggestions(e.message), { nodes: e.nodes, extensions: e.extensions }),
        'GRAPHQL_VALIDATION_FAILED',
      ),
    );
  }
  if (!getOperationAST(document, payload.operationName ?? undefined)) {
    return [
      new GraphQLError('the document does not name one operation to run', {
        extensions: { code: 'BAD_USER_INPUT', reason: 'OPERATION_RESOLUTION_FAILURE' },
      }),
    ];
  }
  try {
    checkQueryLimits(schema, document, limits, payload.operationName, payload.variables);
  } catch (error) {
    if (error instanceof QueryTooComplexError) return [toGraphQLError(error)];
    throw error;
  }
  return {
    document,
    operationName: payload.operationName ?? undefined,
    variableValues: payload.variables ?? undefined,
  };
}
