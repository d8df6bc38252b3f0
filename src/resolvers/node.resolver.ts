import { Arg, Ctx, ID, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../schema/context';
import { NODE_KEYS, Node, asNode, decodeNodeId } from '../schema/node.type';
import type { NodeTypeName } from '../schema/node.type';
import { activationReference } from './activation.resolver';
import { alertReference } from './alert.resolver';
import { deviceReference } from './device.resolver';

/** Each Node type's scoped read by key: the one its `_entities` reference uses. */
const READS: Record<NodeTypeName, (ref: never, ctx: GraphQLContext) => Promise<object | null>> = {
  Alert: alertReference.__resolveReference,
  Device: deviceReference.__resolveReference,
  FirmwareActivation: activationReference.__resolveReference,
};

@Resolver()
export class NodeResolver {
  @Query(() => Node, {
    nullable: true,
    description:
      'The object with this global ID (its `nodeId`), if you may see it: the same read rules as its own query. ' +
      'An ID this service did not issue is BAD_USER_INPUT (INVALID_NODE_ID).',
  })
  async node(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<object | null> {
    const { typeName, key } = decodeNodeId(id);
    const found = await READS[typeName]({ [NODE_KEYS[typeName].field]: key } as never, ctx);
    return found ? asNode(typeName, found) : null;
  }
}
