import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { FirmwareActivationEntity, FirmwareImageEntity } from '../entities';
import type { DeviceEntity } from '../entities';
import type { GraphQLContext } from '../schema/context';
import { encodeNodeId } from '../schema/node.type';
import { ActivationOrder, ORDER_BY_DESCRIPTION, connectionOf, directionOf } from '../schema/ordering';
import { Device } from '../schema/device.type';
import {
  ActivationCampaign,
  ActivationOutcomeClaim,
  ActivationCampaignInput,
  ActivationFilterInput,
  ActivationOutcomeInput,
  AffectedFirmwareRule,
  FirmwareActivation,
  FirmwareActivationConnection,
  FirmwareImage,
  ScheduleFirmwareActivationInput,
} from '../schema/firmware.type';
import type { ActivationOutcomeClaimEntity, AffectedFirmwareRuleEntity } from '../entities';

type ActivationView = Omit<FirmwareActivation, 'window'> & {
  window: FirmwareActivation['window'];
} & FirmwareActivationEntity;

/** The GraphQL shape of an activation: the entity plus its window as one object. */
export function toActivation(a: FirmwareActivationEntity): ActivationView {
  return Object.assign(a, {
    window:
      a.windowFrom && a.windowTo
        ? { from: a.windowFrom, to: a.windowTo, anchoredOnActual: a.windowAnchoredOnActual }
        : null,
  });
}

@Resolver(() => FirmwareActivation)
export class ActivationResolver {
  @FieldResolver(() => ID, { description: 'Global ID, opaque: pass it to `node(id:)`.' })
  nodeId(@Root() activation: ActivationView): string {
    return encodeNodeId('FirmwareActivation', activation.id);
  }

  @Query(() => FirmwareActivationConnection, {
    description:
      'SR11.3 activations, newest first unless `orderBy` says otherwise. Suppliers see their own, distributors ' +
      'those on their MPANs, operators all.',
  })
  async activations(
    @Ctx() ctx: GraphQLContext,
    @Arg('filter', () => ActivationFilterInput, { nullable: true }) filter?: ActivationFilterInput | null,
    @Arg('first', () => Int, { nullable: true, description: 'Page size, 1-500 (default 50).' })
    first?: number | null,
    @Arg('after', () => String, { nullable: true, description: 'endCursor of the previous page.' })
    after?: string | null,
    @Arg('orderBy', () => ActivationOrder, { nullable: true, description: ORDER_BY_DESCRIPTION })
    orderBy?: ActivationOrder | null,
  ): Promise<FirmwareActivationConnection> {
    const filters = filter ?? {};
    const page = await ctx.services.activations.list(
      ctx.principal,
      filters,
      first,
      after,
      directionOf(orderBy),
    );
    return connectionOf({ ...page, nodes: page.nodes.map(toActivation) });
  }

  @Query(() => FirmwareActivation, { nullable: true, description: 'One activation, if you may see it.' })
  async activation(
    @Arg('id', () => ID) id: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<ActivationView | null> {
    const a = await ctx.services.activations.byId(ctx.principal, id);
    return a ? toActivation(a) : null;
  }

  @Mutation(() => FirmwareActivation, {
    description:
      'Submits an SR11.3: immediate, or future-dated with executeAt. Newer requests supersede pending ones; executeAt ' +
      '3000-12-31T00:00:00Z cancels your pending activation (and returns it). Retrying the same request ID is safe. Roles: IS, GS.',
  })
  async scheduleFirmwareActivation(
    @Arg('activation', () => ScheduleFirmwareActivationInput) input: ScheduleFirmwareActivationInput,
    @Ctx() ctx: GraphQLContext,
  ): Promise<ActivationView> {
    return toActivation(await ctx.services.activations.schedule(ctx.principal, input));
  }

  @Mutation(() => ActivationCampaign, {
    description:
      'Schedules many activations over a time range, at most maxPerAreaPerHour per area key per hour; all or nothing. Roles: IS, GS.',
  })
  async scheduleActivationCampaign(
    @Arg('campaign', () => ActivationCampaignInput) input: ActivationCampaignInput,
    @Ctx() ctx: GraphQLContext,
  ): Promise<ActivationCampaign> {
    const { campaignId, activations } = await ctx.services.activations.scheduleCampaign(ctx.principal, input);
    return { campaignId, activations: activations.map(toActivation) };
  }

  @Mutation(() => FirmwareActivation, {
    description: 'Cancels a pending activation by id or request ID. Roles: IS, GS (own), OPERATOR.',
  })
  async cancelFirmwareActivation(
    @Ctx() ctx: GraphQLContext,
    @Arg('id', () => ID, { nullable: true }) id?: string | null,
    @Arg('requestId', () => String, { nullable: true }) requestId?: string | null,
  ): Promise<ActivationView> {
    return toActivation(await ctx.services.activations.cancel(ctx.principal, { id, requestId }));
  }

  @Mutation(() => FirmwareActivation, {
    description:
      "Records an activation outcome. OPERATOR: DCC's outcome, the evidence; the status follows it, the window re-anchors on the " +
      'actual execution time and the AD1s near it are decided again. IS, GS (own activations): a claim only, added to the ' +
      "activation's claims and returned with it; its status, window and every decision stay as DCC's evidence left them. " +
      'executedAt must lie between the request (its receipt or its executeAt, whichever is later) and now, each give or take ' +
      'the clock skew allowed (EXECUTED_AT_OUT_OF_RANGE). Repeating an outcome is safe.',
  })
  async recordActivationOutcome(
    @Arg('outcome', () => ActivationOutcomeInput) input: ActivationOutcomeInput,
    @Ctx() ctx: GraphQLContext,
  ): Promise<ActivationView> {
    return toActivation(await ctx.services.activations.recordOutcome(ctx.principal, input));
  }

  @FieldResolver(() => Device, { nullable: true, description: 'The target device.' })
  async device(
    @Root() a: FirmwareActivationEntity,
    @Ctx() ctx: GraphQLContext,
  ): Promise<DeviceEntity | null> {
    return (await ctx.loaders.device.load(a.deviceGuid)) ?? null;
  }

  @FieldResolver(() => FirmwareImage, {
    nullable: true,
    description: 'The image activated, when registered.',
  })
  async image(
    @Root() a: FirmwareActivationEntity,
    @Ctx() ctx: GraphQLContext,
  ): Promise<FirmwareImageEntity | null> {
    return a.imageId ? ((await ctx.loaders.firmwareImage.load(a.imageId)) ?? null) : null;
  }

  @FieldResolver(() => [ActivationOutcomeClaim], {
    description:
      "What its supplier claims became of it, oldest first. Claims are not evidence: compare them with status, outcomeCode and actualExecutedAt, which only DCC's outcome sets.",
  })
  async claims(
    @Root() a: FirmwareActivationEntity,
    @Ctx() ctx: GraphQLContext,
  ): Promise<ActivationOutcomeClaimEntity[]> {
    return ctx.loaders.claimsOfActivation.load(a);
  }

  @FieldResolver(() => AffectedFirmwareRule, {
    nullable: true,
    description: 'The rule that covered it when scheduled.',
  })
  async rule(
    @Root() a: FirmwareActivationEntity,
    @Ctx() ctx: GraphQLContext,
  ): Promise<AffectedFirmwareRuleEntity | null> {
    return a.ruleId ? ((await ctx.loaders.rule.load(a.ruleId)) ?? null) : null;
  }
}

/** Federation reference resolver: `FirmwareActivation(id)`, with the same visibility as `activation(id)`. */
export const activationReference = {
  async __resolveReference(ref: { id: string }, ctx: GraphQLContext): Promise<ActivationView | null> {
    const a = await ctx.services.activations.byId(ctx.principal, ref.id);
    return a ? toActivation(a) : null;
  },
};
