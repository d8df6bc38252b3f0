import { Field, ID, InterfaceType } from 'type-graphql';
import { InvalidInputError } from '../domain/errors';
import { CURSOR_PART } from '../services/shared/pagination';

/**
 * Global object identification (the Relay `Node` interface). The global ID is `nodeId`, beside
 * each type's own `id`/`guid` (which other graphs key on through Federation and clients already
 * store): Relay's compiler takes it with `nodeInterfaceIdField: "nodeId"`. `node(id:)` resolves
 * one through the same scoped read as the type's root query and its `_entities` reference.
 */
@InterfaceType({
  description:
    'An object with a global ID: `node(id:)` fetches it again, with the same read rules as its own query.',
  resolveType: (value: object) => NODE_TYPES.get(value),
})
export abstract class Node {
  @Field(() => ID, { description: 'Global ID, opaque: pass it to `node(id:)`.' })
  nodeId: string;
}

/** The types that implement Node, with their key field and its shape. */
export const NODE_KEYS = {
  Alert: { field: 'id', shape: CURSOR_PART.bigint },
  Device: { field: 'guid', shape: CURSOR_PART.eui64 },
  FirmwareActivation: { field: 'id', shape: CURSOR_PART.uuid },
} as const;

export type NodeTypeName = keyof typeof NODE_KEYS;

/** Which type `node(id:)` found, for the interface's resolveType (the rows are plain objects). */
const NODE_TYPES = new WeakMap<object, NodeTypeName>();

export function asNode<T extends object>(typeName: NodeTypeName, value: T): T {
  NODE_TYPES.set(value, typeName);
  return value;
}

export function encodeNodeId(typeName: NodeTypeName, key: string): string {
  return Buffer.from(`${typeName}:${key}`).toString('base64url');
}

/** A global ID this service issued, as its type and key; anything else is INVALID_NODE_ID. */
export function decodeNodeId(nodeId: string): { typeName: NodeTypeName; key: string } {
  const text = Buffer.from(nodeId, 'base64url').toString('utf8');
  const colon = text.indexOf(':');
  const typeName = text.slice(0, colon);
  const key = text.slice(colon + 1);
  if (colon > 0 && Object.hasOwn(NODE_KEYS, typeName)) {
    const spec = NODE_KEYS[typeName as NodeTypeName];
    if (spec.shape.test(key) && encodeNodeId(typeName as NodeTypeName, key) === nodeId) {
      return { typeName: typeName as NodeTypeName, key };
    }
  }
  throw new InvalidInputError('INVALID_NODE_ID', 'id is not a global ID this service issued', 'id');
}
