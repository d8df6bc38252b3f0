import {
  Arg,
  Ctx,
  FieldResolver,
  ID,
  Int,
  Mutation,
  Query,
  Resolver,
  Root,
  Subscription,
} from 'type-graphql';
import type { DeviceEntity } from '../entities';
import type { InventoryChangedEvent } from '../realtime/pubsub';
import type { GraphQLContext } from '../schema/context';
import {
  CommsHubLink,
  CommsHubLinkInput,
  Device,
  DeviceConnection,
  DeviceFilterInput,
  DeviceInput,
  FirmwareVersionEntry,
  InventoryChange,
  SupplierRegistration,
  UpsertDevicesResult,
} from '../schema/device.type';
import { NetworkOperator } from '../schema/network-operator.type';
import { encodeNodeId } from '../schema/node.type';
import { DeviceOrder, ORDER_BY_DESCRIPTION, connectionOf, directionOf } from '../schema/ordering';
import { DateTimeScalar, EUI64Scalar } from '../schema/scalars';
import { FirmwareActivation } from '../schema/firmware.type';
import { toActivation } from './activation.resolver';
import { toNetworkOperator } from './network-operator.resolver';

@Resolver(() => Device)
export class DeviceResolver {
  @FieldResolver(() => ID, { description: 'Global ID, opaque: pass it to `node(id:)`.' })
  nodeId(@Root() device: DeviceEntity): string {
    return encodeNodeId('Device', device.guid);
  }

  @Query(() => Device, {
    nullable: true,
    description:
      'One device by GUID; null when unknown or outside your distributor IDs. Roles: OPERATOR, ED.',
  })
  device(
    @Arg('guid', () => EUI64Scalar) guid: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<DeviceEntity | null> {
    return ctx.services.devices.device(ctx.principal, guid);
  }

  @Query(() => DeviceConnection, {
    description:
      'Devices matching a filter, ordered by GUID, a page at a time. Roles: OPERATOR, ED (own MPANs only).',
  })
  async devices(
    @Ctx() ctx: GraphQLContext,
    @Arg('filter', () => DeviceFilterInput, { nullable: true }) filter?: DeviceFilterInput | null,
    @Arg('first', () => Int, { nullable: true, description: 'Page size, 1-500 (default 50).' })
    first?: number | null,
    @Arg('after', () => String, { nullable: true, description: 'endCursor of the previous page.' })
    after?: string | null,
    @Arg('orderBy', () => DeviceOrder, { nullable: true, description: ORDER_BY_DESCRIPTION })
    orderBy?: DeviceOrder | null,
  ): Promise<DeviceConnection> {
    const filters = filter ?? {};
    return connectionOf(
      await ctx.services.devices.devices(ctx.principal, filters, first, after, directionOf(orderBy)),
    );
  }

  @Mutation(() => UpsertDevicesResult, {
    description:
      'Creates or updates devices (up to MAX_BATCH_SIZE, default 10,000) in one statement. One invalid device rejects ' +
      'the whole batch and nothing is written. Role: OPERATOR.',
  })
  upsertDevices(
    @Arg('devices', () => [DeviceInput]) devices: DeviceInput[],
    @Ctx() ctx: GraphQLContext,
  ): Promise<UpsertDevicesResult> {
    return ctx.services.devices.upsertDevices(ctx.principal, devices);
  }

  @Mutation(() => CommsHubLink, {
    description:
      'Records that from effectiveFrom (default now) the ESME powers the Communications Hub; earlier links of either ' +
      'device end then. Role: OPERATOR.',
  })
  linkCommsHub(
    @Arg('commsHubGuid', () => EUI64Scalar) commsHubGuid: string,
    @Arg('esmeGuid', () => EUI64Scalar) esmeGuid: string,
    @Ctx() ctx: GraphQLContext,
    @Arg('effectiveFrom', () => DateTimeScalar, { nullable: true }) effectiveFrom?: Date | null,
  ): Promise<CommsHubLink> {
    return ctx.services.devices.linkCommsHub(ctx.principal, { commsHubGuid, esmeGuid, effectiveFrom });
  }

  @Mutation(() => SupplierRegistration, {
    description:
      'Records that from effectiveFrom (default now) supplierId is the import supplier registered for the ESME (a change ' +
      'of supplier). Only the registered supplier may schedule SR11.3 on it; activations the previous supplier already ' +
      'submitted stay its own to cancel and report. Role: OPERATOR.',
  })
  registerSupplier(
    @Arg('esmeGuid', () => EUI64Scalar) esmeGuid: string,
    @Arg('supplierId', () => EUI64Scalar) supplierId: string,
    @Ctx() ctx: GraphQLContext,
    @Arg('effectiveFrom', () => DateTimeScalar, { nullable: true }) effectiveFrom?: Date | null,
  ): Promise<SupplierRegistration> {
    return ctx.services.devices.registerSupplier(ctx.principal, { esmeGuid, supplierId, effectiveFrom });
  }

  @Mutation(() => [CommsHubLink], {
    description:
      'linkCommsHub for many links (up to MAX_BATCH_SIZE, default 10,000) in one transaction: the same checks and ' +
      'meaning for each link; one that fails rejects the batch and nothing is written. A device may appear in one ' +
      'link of a batch. Returns each link in input order. Role: OPERATOR.',
  })
  linkCommsHubs(
    @Arg('links', () => [CommsHubLinkInput]) links: CommsHubLinkInput[],
    @Ctx() ctx: GraphQLContext,
  ): Promise<CommsHubLink[]> {
    return ctx.services.devices.linkCommsHubs(ctx.principal, links);
  }

  @Subscription(() => InventoryChange, {
    description: 'Live notice of inventory changes. Role: OPERATOR.',
    subscribe: ({ context }) =>
      (context as GraphQLContext).services.devices.inventoryChanges((context as GraphQLContext).principal),
  })
  inventoryChanged(@Root() event: InventoryChangedEvent): InventoryChange {
    return { count: event.count, guids: event.guids, at: new Date(event.at) };
  }

  @FieldResolver(() => NetworkOperator, {
    nullable: true,
    description: 'The network operator of the MPAN distributor ID, when known.',
  })
  async networkOperator(
    @Root() device: DeviceEntity,
    @Ctx() ctx: GraphQLContext,
  ): Promise<NetworkOperator | null> {
    if (!device.distributorId) return null;
    const row = await ctx.loaders.networkOperator.load(device.distributorId);
    return row ? toNetworkOperator(row) : null;
  }

  @FieldResolver(() => SupplierRegistration, {
    nullable: true,
    description:
      'ESME: the import supplier registered for it now; null when none is (or for other devices). Commercial: shown ' +
      'to the OPERATOR and to that supplier only, null for anyone else (a DNO, a supplier that lost the meter).',
  })
  async registeredSupplier(
    @Root() device: DeviceEntity,
    @Ctx() ctx: GraphQLContext,
  ): Promise<SupplierRegistration | null> {
    return (await ctx.loaders.registeredSupplier.load(device.guid)) ?? null;
  }

  @FieldResolver(() => [FirmwareVersionEntry], { description: 'Firmware versions over time, oldest first.' })
  firmwareHistory(@Root() device: DeviceEntity, @Ctx() ctx: GraphQLContext): Promise<FirmwareVersionEntry[]> {
    return ctx.loaders.firmwareHistory.load(device.guid);
  }

  @FieldResolver(() => [FirmwareActivation], {
    description: 'SR11.3 activations of this device, newest first.',
  })
  async activations(@Root() device: DeviceEntity, @Ctx() ctx: GraphQLContext): Promise<FirmwareActivation[]> {
    const rows = await ctx.loaders.activationsOfDevice.load(device.guid);
    // Suppliers see only their own activations, even on a device they can reach.
    const p = ctx.principal;
    const visible =
      p.kind === 'user' && (p.role === 'IS' || p.role === 'GS')
        ? rows.filter((a) => a.supplierId === p.supplierId)
        : rows;
    return visible.map(toActivation);
  }

  @FieldResolver(() => Device, {
    nullable: true,
    description:
      'For an ESME: the Communications Hub it powers now (null for other device types or when unlinked).',
  })
  async commsHub(@Root() device: DeviceEntity, @Ctx() ctx: GraphQLContext): Promise<DeviceEntity | null> {
    if (device.deviceType !== 'ESME') return null;
    const open = (await ctx.loaders.commsHubLinks.load(device.guid)).find(
      (l) => l.esmeGuid === device.guid && l.effectiveTo === null,
    );
    return open ? ((await ctx.loaders.device.load(open.commsHubGuid)) ?? null) : null;
  }

  @FieldResolver(() => Device, {
    nullable: true,
    description:
      'For a Communications Hub: the ESME that powers it now (null for other device types or when unlinked).',
  })
  async esme(@Root() device: DeviceEntity, @Ctx() ctx: GraphQLContext): Promise<DeviceEntity | null> {
    if (device.deviceType !== 'CHF') return null;
    const open = (await ctx.loaders.commsHubLinks.load(device.guid)).find(
      (l) => l.commsHubGuid === device.guid && l.effectiveTo === null,
    );
    return open ? ((await ctx.loaders.device.load(open.esmeGuid)) ?? null) : null;
  }

  @FieldResolver(() => [CommsHubLink], {
    description: 'Associations between this device and a Communications Hub or ESME, newest first.',
  })
  commsHubLinks(@Root() device: DeviceEntity, @Ctx() ctx: GraphQLContext): Promise<CommsHubLink[]> {
    return ctx.loaders.commsHubLinks.load(device.guid);
  }
}

/** Federation reference resolver: `Device(guid)`, batched, with the same read scope as `device`. */
export const deviceReference = {
  async __resolveReference(ref: { guid: string }, ctx: GraphQLContext): Promise<DeviceEntity | null> {
    return ctx.loaders.scopedDevice.load(ref.guid);
  },
};
