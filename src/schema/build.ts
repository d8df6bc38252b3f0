import { buildSubgraphSchema, printSubgraphSchema } from '@apollo/subgraph';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import { Kind, isObjectType, parse } from 'graphql';
import type { GraphQLSchema } from 'graphql';
import { InvalidInputError } from '../domain/errors';
import { buildSchema, createResolversMap } from 'type-graphql';
import type { PubSub } from 'type-graphql';
import { guardMutationDates } from './date-guard';
import { DateTimeScalar } from './scalars';
import { ActivationResolver, activationReference } from '../resolvers/activation.resolver';
import { AlertResolver, alertReference } from '../resolvers/alert.resolver';
import { DeliveryResolver } from '../resolvers/delivery.resolver';
import { DeviceResolver, deviceReference } from '../resolvers/device.resolver';
import {
  AffectedFirmwareRuleResolver,
  FirmwareImageResolver,
  firmwareImageReference,
} from '../resolvers/firmware.resolver';
import { NetworkOperatorResolver, networkOperatorReference } from '../resolvers/network-operator.resolver';
import { NodeResolver } from '../resolvers/node.resolver';
import { OperatorStatusResolver } from '../resolvers/operator-status.resolver';
import { VerificationResolver } from '../resolvers/verification.resolver';

/** Federation 2: without this link the subgraph would be read as Federation 1. */
const FEDERATION_LINK =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable"])';

const RESOLVERS = [
  NetworkOperatorResolver,
  DeviceResolver,
  FirmwareImageResolver,
  AffectedFirmwareRuleResolver,
  ActivationResolver,
  AlertResolver,
  DeliveryResolver,
  VerificationResolver,
  OperatorStatusResolver,
  NodeResolver,
] as const;

/** Entity reference resolvers, called by the router through `_entities`. */
const REFERENCE_RESOLVERS: Record<string, object> = {
  NetworkOperator: networkOperatorReference,
  Device: deviceReference,
  FirmwareImage: firmwareImageReference,
  FirmwareActivation: activationReference,
  Alert: alertReference,
};

/**
 * Builds the executable schema: type-graphql classes, printed with their directives, re-read
 * as a Federation 2 subgraph with entity reference resolvers attached.
 */
export async function buildAppSchema(pubSub: PubSub): Promise<GraphQLSchema> {
  const typeGraphqlSchema = await buildSchema({
    resolvers: [...RESOLVERS],
    pubSub,
    scalarsMap: [{ type: Date, scalar: DateTimeScalar }],
    validate: false,
    // A subgraph may be built before all root types have fields.
    skipCheck: true,
  });
  const resolvers = { ...createResolversMap(typeGraphqlSchema) } as Record<string, object>;
  for (const [typeName, reference] of Object.entries(REFERENCE_RESOLVERS)) {
    resolvers[typeName] = { ...(resolvers[typeName] ?? {}), ...reference };
  }
  const schema = buildSubgraphSchema({
    typeDefs: parse(`${FEDERATION_LINK}\n${printSchemaWithDirectives(typeGraphqlSchema)}`),
    // Both are plain type-name -> field-resolver maps; the two libraries only type them differently.
    resolvers: resolvers as never,
  });
  guardEntityReferences(schema);
  guardMutationDates(schema);
  return schema;
}

/** The key field of each entity type, as its `@key(fields: "...")` declares it. */
function entityKeys(schema: GraphQLSchema): Record<string, string> {
  const keys: Record<string, string> = {};
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type)) continue;
    const key = type.astNode?.directives?.find((d) => d.name.value === 'key');
    const fields = key?.arguments?.find((a) => a.name.value === 'fields')?.value;
    if (fields?.kind === Kind.STRING) keys[type.name] = fields.value;
  }
  return keys;
}

/**
 * `_entities` answers each representation on its own: one that names no entity of this subgraph,
 * or whose key is not a string (an array, an object, a number, a NUL byte, 200+ characters), is
 * BAD_USER_INPUT at its own index, and never reaches the reference resolvers or their batched SQL,
 * where it would fail the whole batch (or come back as INTERNAL from @apollo/subgraph).
 */
function guardEntityReferences(schema: GraphQLSchema): void {
  const field = schema.getQueryType()?.getFields()._entities;
  const resolve = field?.resolve;
  if (!field || !resolve) throw new Error('the subgraph schema has no _entities resolver');
  const keys = entityKeys(schema);
  field.resolve = (source, args: { representations?: unknown }, context, info) => {
    const representations = Array.isArray(args.representations) ? args.representations : [];
    const checked = representations.map((r) => referenceProblem(keys, r));
    const valid = representations.filter((_, i) => checked[i] === undefined);
    const resolved = resolve(source, { ...args, representations: valid }, context, info) as unknown[];
    let next = 0;
    return checked.map((problem) => problem ?? resolved[next++]);
  };
}

function referenceProblem(
  keys: Record<string, string>,
  representation: unknown,
): InvalidInputError | undefined {
  const typename = (representation as { __typename?: unknown } | null)?.__typename;
  if (typeof typename !== 'string' || !Object.hasOwn(keys, typename)) {
    return new InvalidInputError(
      'UNKNOWN_ENTITY_TYPE',
      `__typename must be one of ${Object.keys(keys).join(', ')}`,
      '__typename',
    );
  }
  const keyField = keys[typename];
  const key = (representation as Record<string, unknown>)[keyField];
  if (typeof key !== 'string' || key.length === 0 || key.length > 200 || key.includes('\u0000')) {
    return new InvalidInputError(
      'INVALID_ENTITY_KEY',
      `${typename}.${keyField} must be a non-empty string`,
      keyField,
    );
  }
  return undefined;
}

/** The subgraph SDL a router composes (what `_service { sdl }` returns), as checked in to schema.graphql. */
export function printAppSchema(schema: GraphQLSchema): string {
  return `${printSubgraphSchema(schema).trim()}\n`;
}
