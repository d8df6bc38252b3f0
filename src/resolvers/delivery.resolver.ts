import { Arg, Ctx, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import { REASON_TEXT } from '../domain/engine';
import type { AlertEntity } from '../entities';
import type { GraphQLContext } from '../schema/context';
import { DnoAlert, DnoDeliveryStatus } from '../schema/delivery.type';
import { DeliveryPreferenceEnum } from '../schema/enums';
import type { DeliveryPreference } from '../domain/model';
import type { DnoMessage, DnoMessagePayload } from '../services/delivery.service';

const date = (iso: string | null): Date | null => (iso ? new Date(iso) : null);

/** The alert as it was when the message was written (pre-shaped: no database read). */
function alertOf(p: DnoMessagePayload['alert']): AlertEntity {
  return {
    ...p,
    naturalKey: '',
    eventAt: new Date(p.eventAt),
    restoredAt: date(p.restoredAt),
    receivedAt: new Date(p.receivedAt),
    throttledSequenceId: null,
    ingestedBy: '',
    inActivationWindow: false,
    outcome: null,
    reason: null,
    revision: 0,
    dueAt: null,
  } as AlertEntity;
}

export function toDnoAlert(m: DnoMessage, pairedWith: AlertEntity | null): DnoAlert {
  const p = m.payload;
  return {
    sequence: m.sequence,
    distributorId: m.distributorId,
    kind: m.kind,
    alert: alertOf(p.alert),
    decision: {
      ...p.decision,
      reasonText: REASON_TEXT[p.decision.reasonCode as keyof typeof REASON_TEXT] ?? p.decision.reasonCode,
      decidedAt: new Date(p.decision.decidedAt),
    },
    pairedWith,
    otaInduced: p.otaInduced
      ? {
          ...p.otaInduced,
          actualExecutedAt: date(p.otaInduced.actualExecutedAt),
          windowFrom: date(p.otaInduced.windowFrom),
          windowTo: date(p.otaInduced.windowTo),
        }
      : null,
    createdAt: new Date(m.createdAt),
  };
}

/**
 * A message's GraphQL object, by message. The DNO's subscribers on an instance are handed the same
 * message objects (DnoOutboxFeed), so each is shaped once; the entry goes with the message.
 */
const SHAPED = new WeakMap<DnoMessage, DnoAlert>();

@Resolver(() => DnoAlert)
export class DeliveryResolver {
  @Subscription(() => DnoAlert, {
    description:
      'Your DNO’s stream: everything after `after` (a sequence; default your acknowledged position) from the durable ' +
      'outbox, then live, in order, with no gap and no duplicate. Reconnect with the last sequence you processed. ' +
      'Roles: ED (own distributor IDs; name one when your token has several), OPERATOR (name one).',
    subscribe: ({ args, context }) => {
      const ctx = context as GraphQLContext;
      const a = args as { distributorId?: string | null; after?: string | null };
      return ctx.services.delivery.stream(ctx.principal, a.distributorId, a.after);
    },
  })
  async dnoAlerts(
    @Root() message: DnoMessage,
    @Ctx() ctx: GraphQLContext,
    @Arg('distributorId', () => String, { nullable: true, description: 'Which of your distributor IDs.' })
    _distributorId?: string | null,
    @Arg('after', () => String, { nullable: true, description: 'Resume after this sequence.' })
    _after?: string | null,
  ): Promise<DnoAlert> {
    const pairedId = message.kind === 'OTA_INDUCED' ? null : message.payload.pairedAlertId;
    if (pairedId) return toDnoAlert(message, (await ctx.loaders.alert.load(pairedId)) ?? null);
    // Everything else comes from the message alone: shaped once, for every subscriber it reaches.
    let shaped = SHAPED.get(message);
    if (!shaped) {
      shaped = toDnoAlert(message, message.kind === 'OTA_INDUCED' ? alertOf(message.payload.alert) : null);
      SHAPED.set(message, shaped);
    }
    return shaped;
  }

  @Mutation(() => DnoDeliveryStatus, {
    description:
      'Records that your consumer has processed the stream up to this sequence (it never moves back). Roles: ED, OPERATOR.',
  })
  acknowledgeDnoAlerts(
    @Arg('upTo', () => String) upTo: string,
    @Ctx() ctx: GraphQLContext,
    @Arg('distributorId', () => String, { nullable: true }) distributorId?: string | null,
  ): Promise<DnoDeliveryStatus> {
    return ctx.services.delivery.acknowledge(ctx.principal, distributorId, upTo);
  }

  @Query(() => DnoDeliveryStatus, {
    description: 'Newest and acknowledged sequence, lag and preference of a DNO stream.',
  })
  dnoDeliveryStatus(
    @Ctx() ctx: GraphQLContext,
    @Arg('distributorId', () => String, { nullable: true }) distributorId?: string | null,
  ): Promise<DnoDeliveryStatus> {
    return ctx.services.delivery.status(ctx.principal, distributorId);
  }

  @Query(() => DeliveryPreferenceEnum, { description: 'How OTA-induced alerts are delivered to this DNO.' })
  async deliveryPreference(
    @Ctx() ctx: GraphQLContext,
    @Arg('distributorId', () => String, { nullable: true }) distributorId?: string | null,
  ): Promise<DeliveryPreference> {
    return (await ctx.services.delivery.status(ctx.principal, distributorId)).preference;
  }

  @Mutation(() => DnoDeliveryStatus, {
    description:
      'Sets how OTA-induced alerts are delivered to this DNO, from its next decision on. Roles: ED (own), OPERATOR.',
  })
  setDeliveryPreference(
    @Arg('preference', () => DeliveryPreferenceEnum) preference: DeliveryPreference,
    @Ctx() ctx: GraphQLContext,
    @Arg('distributorId', () => String, { nullable: true }) distributorId?: string | null,
  ): Promise<DnoDeliveryStatus> {
    return ctx.services.delivery.setPreference(ctx.principal, distributorId, preference);
  }
}
