import { Arg, Ctx, FieldResolver, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { AffectedFirmwareRuleEntity, FirmwareImageEntity } from '../entities';
import type { GraphQLContext } from '../schema/context';
import { requireUser } from '../services/shared/access';
import { parseUuid } from '../services/inventory/firmware.service';
import {
  AffectedFirmwareRule,
  AffectedFirmwareRuleChange,
  AffectedFirmwareRuleInput,
  FirmwareImage,
  FirmwareImageInput,
} from '../schema/firmware.type';

@Resolver(() => FirmwareImage)
export class FirmwareImageResolver {
  @Query(() => [FirmwareImage], { description: 'Registered firmware images. Roles: any authenticated.' })
  firmwareImages(
    @Ctx() ctx: GraphQLContext,
    @Arg('manufacturer', () => String, { nullable: true }) manufacturer?: string | null,
    @Arg('model', () => String, { nullable: true }) model?: string | null,
  ): Promise<FirmwareImageEntity[]> {
    return ctx.services.firmware.listImages(ctx.principal, { manufacturer, model });
  }

  @Mutation(() => FirmwareImage, {
    description: 'Registers a firmware image; registering the same one again returns it. Role: OPERATOR.',
  })
  registerFirmwareImage(
    @Arg('image', () => FirmwareImageInput) image: FirmwareImageInput,
    @Ctx() ctx: GraphQLContext,
  ): Promise<FirmwareImageEntity> {
    return ctx.services.firmware.registerFirmwareImage(ctx.principal, image);
  }
}

@Resolver(() => AffectedFirmwareRule)
export class AffectedFirmwareRuleResolver {
  @Query(() => [AffectedFirmwareRule], {
    description: 'The affected-firmware rules. Roles: any authenticated.',
  })
  affectedFirmwareRules(@Ctx() ctx: GraphQLContext): Promise<AffectedFirmwareRuleEntity[]> {
    return ctx.services.firmware.listRules(ctx.principal);
  }

  @Mutation(() => AffectedFirmwareRule, {
    description: 'Creates or changes a rule; every change is recorded with who and when. Role: OPERATOR.',
  })
  upsertAffectedFirmwareRule(
    @Arg('rule', () => AffectedFirmwareRuleInput) rule: AffectedFirmwareRuleInput,
    @Ctx() ctx: GraphQLContext,
  ): Promise<AffectedFirmwareRuleEntity> {
    return ctx.services.firmware.upsertRule(ctx.principal, rule);
  }

  @FieldResolver(() => [AffectedFirmwareRuleChange], {
    description: 'Every change of this rule, oldest first.',
  })
  async history(
    @Root() rule: AffectedFirmwareRuleEntity,
    @Ctx() ctx: GraphQLContext,
  ): Promise<AffectedFirmwareRuleChange[]> {
    const changes = await ctx.loaders.ruleChanges.load(rule.id);
    return changes.map((c) => ({
      version: c.version,
      changedAt: c.changedAt,
      changedBy: c.changedBy,
      rule: JSON.stringify(c.rule),
      ruleSnapshot: c.rule as Record<string, unknown>,
    }));
  }
}

/** Federation reference resolver: `FirmwareImage(id)` through the request's loader, for any authenticated caller (as `firmwareImages`). */
export const firmwareImageReference = {
  async __resolveReference(ref: { id: string }, ctx: GraphQLContext): Promise<FirmwareImageEntity | null> {
    requireUser(ctx.principal);
    return (await ctx.loaders.firmwareImage.load(parseUuid(String(ref.id), 'firmware image', 'id'))) ?? null;
  },
};
