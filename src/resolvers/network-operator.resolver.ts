import { Ctx, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../schema/context';
import { NetworkOperator } from '../schema/network-operator.type';
import type { NetworkOperatorKind } from '../schema/network-operator.type';
import type { NetworkOperatorEntity } from '../entities';

export function toNetworkOperator(row: NetworkOperatorEntity): NetworkOperator {
  return { ...row, kind: row.kind as NetworkOperatorKind };
}

@Resolver(() => NetworkOperator)
export class NetworkOperatorResolver {
  @Query(() => [NetworkOperator], {
    description: 'Current network operator licences (public reference data; no token needed).',
  })
  async networkOperators(@Ctx() ctx: GraphQLContext): Promise<NetworkOperator[]> {
    return (await ctx.services.networkOperators.listCurrent()).map(toNetworkOperator);
  }
}

/** Federation reference resolver: `NetworkOperator(distributorId)` through the request's loader. */
export const networkOperatorReference = {
  async __resolveReference(
    ref: { distributorId: string },
    ctx: GraphQLContext,
  ): Promise<NetworkOperator | null> {
    const row = await ctx.loaders.networkOperator.load(ref.distributorId);
    return row ? toNetworkOperator(row) : null;
  },
};
