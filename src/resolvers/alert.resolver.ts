import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { REASON_TEXT } from '../domain/engine';
import { InvalidInputError, NotFoundError } from '../domain/errors';
import type { AlertDecisionEntity, AlertEntity, DeviceEntity } from '../entities';
import {
  Alert,
  AlertConnection,
  AlertDecisionRecord,
  AlertExplanation,
  AlertFilterInput,
  AlertInput,
  IngestResult,
  SuppressionStat,
} from '../schema/alert.type';
import type { GraphQLContext } from '../schema/context';
import { Device } from '../schema/device.type';
import { encodeNodeId } from '../schema/node.type';
import { AlertOrder, ORDER_BY_DESCRIPTION, connectionOf, directionOf } from '../schema/ordering';
import { NetworkOperator } from '../schema/network-operator.type';
import { DateTimeScalar, EUI64Scalar } from '../schema/scalars';
import type { AlertInput as ServiceAlertInput } from '../services/ingest/alert-input';
import { toNetworkOperator } from './network-operator.resolver';

/** Exactly one field of AlertInput, as the service's tagged union. */
function toServiceInput(input: AlertInput, index: number): ServiceAlertInput {
  const set = [
    input.powerOutage,
    input.supplyRestored,
    input.activationOutcome,
    input.commsHubFirmwareActivation,
  ].filter((v) => v !== null && v !== undefined);
  if (set.length !== 1) {
    throw new InvalidInputError(
      'EXACTLY_ONE_ALERT',
      'set exactly one of powerOutage, supplyRestored, activationOutcome, commsHubFirmwareActivation',
      `alerts[${index}]`,
    );
  }
  if (input.powerOutage) return { kind: 'AD1', ...input.powerOutage };
  if (input.supplyRestored) return { kind: 'SUPPLY_RESTORED', ...input.supplyRestored };
  if (input.activationOutcome) return { kind: 'ACTIVATION_OUTCOME', ...input.activationOutcome };
  return { kind: 'CH_FIRMWARE_ACTIVATION', ...input.commsHubFirmwareActivation! };
}

function toRecord(row: AlertDecisionEntity): AlertDecisionRecord {
  const evidence = (row.decision.evidence ?? row.decision) as Record<string, unknown>;
  return {
    revision: row.revision,
    outcome: row.outcome,
    reasonCode: row.reason,
    reasonText: REASON_TEXT[row.reason as keyof typeof REASON_TEXT] ?? row.reason,
    late: row.late,
    decidedAt: row.decidedAt,
    dueAt: row.dueAt,
    trigger: row.trigger,
    activationId: row.activationId,
    ruleId: row.ruleId,
    ruleVersion: row.ruleVersion,
    windowFrom: row.windowFrom,
    windowTo: row.windowTo,
    evidence,
  };
}

@Resolver(() => Alert)
export class AlertResolver {
  @Mutation(() => [IngestResult], {
    description:
      'Ingests a batch (up to MAX_INGEST_BATCH, default 1,000) of AD1, supply-restored, activation-outcome and hub ' +
      'activation alerts in one transaction: stored once each (a retried batch stores nothing new and returns the ' +
      'same IDs), routed, decided. One invalid alert rejects the batch. Role: OPERATOR.',
  })
  ingestAlerts(
    @Arg('alerts', () => [AlertInput]) alerts: AlertInput[],
    @Ctx() ctx: GraphQLContext,
  ): Promise<IngestResult[]> {
    return ctx.services.ingest.ingestAlerts(ctx.principal, alerts.map(toServiceInput));
  }

  @Query(() => AlertConnection, {
    description:
      'Alerts with their decisions, newest first unless `orderBy` says otherwise. Operators see all (the UNROUTED ' +
      'queue too); distributors their own.',
  })
  async alerts(
    @Ctx() ctx: GraphQLContext,
    @Arg('filter', () => AlertFilterInput, { nullable: true }) filter?: AlertFilterInput | null,
    @Arg('first', () => Int, { nullable: true, description: 'Page size, 1-500 (default 50).' })
    first?: number | null,
    @Arg('after', () => String, { nullable: true, description: 'endCursor of the previous page.' })
    after?: string | null,
    @Arg('orderBy', () => AlertOrder, { nullable: true, description: ORDER_BY_DESCRIPTION })
    orderBy?: AlertOrder | null,
  ): Promise<AlertConnection> {
    const filters = filter ?? {};
    return connectionOf(
      await ctx.services.alerts.list(ctx.principal, filters, first, after, directionOf(orderBy)),
    );
  }

  @Query(() => Alert, { nullable: true, description: 'One alert, if you may see it.' })
  alert(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<AlertEntity | null> {
    return ctx.services.alerts.byId(ctx.principal, id);
  }

  @Query(() => AlertExplanation, {
    description: 'Why an alert was held, suppressed, released or delivered, in words.',
  })
  async explainAlert(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<AlertExplanation> {
    const explanation = await ctx.services.alerts.explain(ctx.principal, id);
    if (!explanation) throw new NotFoundError('Alert', id);
    return explanation;
  }

  @Query(() => [SuppressionStat], {
    description:
      'Current outcomes of the AD1s received in [from, to), per network operator and reason. Roles: OPERATOR, ED (own).',
  })
  suppressionStats(
    @Arg('from', () => DateTimeScalar) from: Date,
    @Arg('to', () => DateTimeScalar) to: Date,
    @Ctx() ctx: GraphQLContext,
  ): Promise<SuppressionStat[]> {
    return ctx.services.alerts.suppressionStats(ctx.principal, from, to);
  }

  @FieldResolver(() => EUI64Scalar, {
    description: 'The Communications Hub (AD1) or ESME (restore) that raised it (Device.guid).',
  })
  raisedByGuid(@Root() alert: AlertEntity): string {
    return alert.deviceGuid;
  }

  @FieldResolver(() => ID, { description: 'Global ID, opaque: pass it to `node(id:)`.' })
  nodeId(@Root() alert: AlertEntity): string {
    return encodeNodeId('Alert', alert.id);
  }

  @FieldResolver(() => Device, {
    nullable: true,
    description:
      'The device that raised it (raisedByGuid), if you may read it: a Communications Hub for an AD1 (hubs carry ' +
      'no MPAN, so only operators read them), the ESME for a restore.',
  })
  async raisedBy(@Root() alert: AlertEntity, @Ctx() ctx: GraphQLContext): Promise<DeviceEntity | null> {
    return (await ctx.loaders.device.load(alert.deviceGuid)) ?? null;
  }

  @FieldResolver(() => Device, {
    nullable: true,
    description:
      'The meter (ESME) at the premises, if you may read it: for an AD1 the one that powered the hub when the ' +
      'outage began (the link then in force, across hub swaps); for a restore the ESME that raised it.',
  })
  async esme(@Root() alert: AlertEntity, @Ctx() ctx: GraphQLContext): Promise<DeviceEntity | null> {
    const row =
      alert.kind === 'AD1'
        ? await ctx.loaders.esmeOfHubAt.load({ hub: alert.deviceGuid, at: alert.eventAt })
        : await ctx.loaders.device.load(alert.deviceGuid);
    return row ?? null;
  }

  @FieldResolver(() => AlertDecisionRecord, { nullable: true, description: 'The current decision.' })
  async decision(
    @Root() alert: AlertEntity,
    @Ctx() ctx: GraphQLContext,
  ): Promise<AlertDecisionRecord | null> {
    const current = await ctx.loaders.currentDecision.load(alert.id);
    return current ? toRecord(current) : null;
  }

  @FieldResolver(() => [AlertDecisionRecord], {
    description: 'Every decision and supersession, oldest first.',
  })
  async decisionHistory(
    @Root() alert: AlertEntity,
    @Ctx() ctx: GraphQLContext,
  ): Promise<AlertDecisionRecord[]> {
    return (await ctx.loaders.alertLedger.load(alert.id)).map(toRecord);
  }

  @FieldResolver(() => Alert, { nullable: true, description: 'Restore: the AD1 it pairs with.' })
  async pairedAlert(@Root() alert: AlertEntity, @Ctx() ctx: GraphQLContext): Promise<AlertEntity | null> {
    return alert.pairedAlertId ? ((await ctx.loaders.alert.load(alert.pairedAlertId)) ?? null) : null;
  }

  @FieldResolver(() => NetworkOperator, {
    nullable: true,
    description: 'The network operator it is routed to.',
  })
  async networkOperator(
    @Root() alert: AlertEntity,
    @Ctx() ctx: GraphQLContext,
  ): Promise<NetworkOperator | null> {
    if (!alert.distributorId) return null;
    const row = await ctx.loaders.networkOperator.load(alert.distributorId);
    return row ? toNetworkOperator(row) : null;
  }
}

/** Federation reference resolver: `Alert(id)`, with the same visibility as `alert(id)`. */
export const alertReference = {
  async __resolveReference(ref: { id: string }, ctx: GraphQLContext): Promise<AlertEntity | null> {
    return ctx.services.alerts.byId(ctx.principal, ref.id);
  },
};
