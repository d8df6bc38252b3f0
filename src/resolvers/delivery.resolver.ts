import { Arg, Ctx, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import { REASON_TEXT } from '../domain/engine';
import type { AlertEntity } from '../entities';
import { forgetLoaded, primeAlerts } from '../loaders';
import type { GraphQLContext } from '../schema/context';
import { DnoAlert, DnoDeliveryStatus } from '../schema/delivery.type';
import type { OtaInducedDetails } from '../schema/delivery.type';
import { DeliveryPreferenceEnum } from '../schema/enums';
import type { DeliveryPreference } from '../domain/model';
import { pairedIdOf } from '../services/delivery/current-alerts';
import { alertOfPayload } from '../services/delivery/delivery.service';
import type { DnoEvent, DnoMessage, DnoMessagePayload } from '../services/delivery/delivery.service';
import { otaInducedForReader } from '../services/shared/access';

const date = (iso: string | null): Date | null => (iso ? new Date(iso) : null);

/**
 * What a message says whoever receives it, shaped once per message: a DNO's subscribers on this
 * instance are handed the same message objects (DnoOutboxFeed). The entry goes with the message.
 */
const SHAPED = new WeakMap<DnoMessage, Omit<DnoAlert, 'alert' | 'pairedWith'>>();

export function toDnoAlert(m: DnoMessage, alert: AlertEntity, pairedWith: AlertEntity | null): DnoAlert {
  let shaped = SHAPED.get(m);
  if (!shaped) {
    shaped = shapeMessage(m);
    SHAPED.set(m, shaped);
  }
  return { ...shaped, alert, pairedWith };
}

function shapeMessage(m: DnoMessage): Omit<DnoAlert, 'alert' | 'pairedWith'> {
  const p = m.payload;
  return {
    sequence: m.sequence,
    distributorId: m.distributorId,
    kind: m.kind,
    decision: {
      ...p.decision,
      ledgerRevision: p.decision.revision,
      reasonText: REASON_TEXT[p.decision.reasonCode as keyof typeof REASON_TEXT] ?? p.decision.reasonCode,
      decidedAt: new Date(p.decision.decidedAt),
    },
    otaInduced: p.otaInduced ? shapeOtaInduced(p.otaInduced) : null,
    createdAt: new Date(m.createdAt),
  };
}

function shapeOtaInduced(o: NonNullable<DnoMessagePayload['otaInduced']>): OtaInducedDetails {
  return {
    ...o,
    affectedFirmwareRuleId: o.ruleId,
    actualExecutedAt: date(o.actualExecutedAt),
    windowFrom: date(o.windowFrom),
    windowTo: date(o.windowTo),
  };
}

/**
 * The message as this subscriber may read it: the activation behind an OTA-induced AD1 may be on
 * a neighbour's meter, whose identifiers it does not read (otaInducedForReader, access.ts).
 */
async function forReader(sent: DnoAlert, m: DnoMessage, ctx: GraphQLContext): Promise<DnoAlert> {
  const details = m.payload.otaInduced;
  if (!details) return sent;
  const device = details.deviceGuid;
  const facts = device
    ? await ctx.services.alerts.evidenceFacts(ctx.principal, { devices: [device], alerts: [] })
    : { devices: new Map(), alerts: new Map() };
  const scoped = otaInducedForReader(ctx.principal, details, m.payload.alert.deviceGuid, facts);
  return scoped === details ? sent : { ...sent, otaInduced: shapeOtaInduced(scoped) };
}

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
    @Root() event: DnoEvent,
    @Ctx() ctx: GraphQLContext,
    @Arg('distributorId', () => String, { nullable: true, description: 'Which of your distributor IDs.' })
    _distributorId?: string | null,
    @Arg('after', () => String, { nullable: true, description: 'Resume after this sequence.' })
    _after?: string | null,
  ): Promise<DnoAlert> {
    // The same Alert objects a query returns (the current state, through the same loaders and
    // access checks), so a client cache that normalises Alert by id is never overwritten with
    // other values. The stream read the states once for all of the DNO's subscribers
    // (CurrentAlerts); the operation's loaders live as long as the subscription, so each event
    // forgets the last one's and starts from these.
    const { message } = event;
    forgetLoaded(ctx.loaders);
    if (!event.now) {
      // The database was out of reach: the message itself still says everything the DNO must
      // know, so it goes out as it was written rather than as an error it cannot acknowledge.
      const sent = alertOfPayload(message.payload);
      return forReader(toDnoAlert(message, sent, message.kind === 'OTA_INDUCED' ? sent : null), message, ctx);
    }
    primeAlerts(ctx.loaders, event.now);
    const pairedId = pairedIdOf(message);
    const [alert, pairedWith] = await Promise.all([
      ctx.loaders.alert.load(message.payload.alert.id),
      pairedId ? ctx.loaders.alert.load(pairedId) : undefined,
    ]);
    return forReader(
      toDnoAlert(message, alert ?? alertOfPayload(message.payload), pairedWith ?? null),
      message,
      ctx,
    );
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

  @Query(() => [DnoDeliveryStatus], {
    description:
      'Every DNO stream with a message, an acknowledgement or a preference: position, lag and time since the ' +
      'consumer last acknowledged, by distributor ID. Role: OPERATOR.',
  })
  dnoDeliveryStatuses(@Ctx() ctx: GraphQLContext): Promise<DnoDeliveryStatus[]> {
    return ctx.services.delivery.statuses(ctx.principal);
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
