import { buildSubgraphSchema, printSubgraphSchema } from '@apollo/subgraph';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import { parse } from 'graphql';
import type { GraphQLSchema } from 'graphql';
import { buildSchema, createResolversMap } from 'type-graphql';
import type { PubSub } from 'type-graphql';
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
  return buildSubgraphSchema({
    typeDefs: parse(`${FEDERATION_LINK}\n${printSchemaWithDirectives(typeGraphqlSchema)}`),
    // Both are plain type-name -> field-resolver maps; the two libraries only type them differently.
    resolvers: resolvers as never,
  });
}

/** The subgraph SDL a router composes (what `_service { sdl }` returns), as checked in to schema.graphql. */
export function printAppSchema(schema: GraphQLSchema): string {
  return `${printSubgraphSchema(schema).trim()}\n`;
}
