import { Directive, Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { GraphQLJSONObject } from 'graphql-scalars';
import type { DecisionOutcome } from '../domain/model';
import { AlertKindEnum, AlertRoutingEnum, DecisionOutcomeEnum, IngestKindEnum } from './enums';
import { PageInfo } from './device.type';
import { Node } from './node.type';
import { DateTimeScalar } from './scalars';
import { TOTAL_COUNT_DESCRIPTION } from './ordering';

@ObjectType({ description: 'One entry of the append-only decision ledger of an alert.' })
export class AlertDecisionRecord {
  @Field(() => Int, { description: 'Position in the alert’s ledger, from 1.' })
  revision: number;

  @Field(() => DecisionOutcomeEnum, { description: 'DELIVERED, HELD, SUPPRESSED, PAIRED or RELEASED.' })
  outcome: DecisionOutcome;

  @Field({ description: 'Stable reason code (see docs/ENGINE.md).' })
  reasonCode: string;

  @Field({ description: 'The reason in words.' })
  reasonText: string;

  @Field({ description: 'True when released after having been suppressed: the DNO gets it late.' })
  late: boolean;

  @Field(() => DateTimeScalar, { description: 'When this decision was made.' })
  decidedAt: Date;

  @Field(() => DateTimeScalar, {
    nullable: true,
    description: 'HELD: decided again by this time at the latest.',
  })
  dueAt: Date | null;

  @Field({ description: 'What caused it: INGEST, EVIDENCE (a later fact) or TIMER (the hold bound).' })
  trigger: string;

  @Field(() => ID, { nullable: true, description: 'The activation whose window was used.' })
  activationId: string | null;

  @Field(() => ID, { nullable: true, description: 'The affected-firmware rule used.' })
  ruleId: string | null;

  @Field(() => Int, { nullable: true, description: 'The rule version used.' })
  ruleVersion: number | null;

  @Field(() => DateTimeScalar, { nullable: true, description: 'Window start used.' })
  windowFrom: Date | null;

  @Field(() => DateTimeScalar, { nullable: true, description: 'Window end used.' })
  windowTo: Date | null;

  @Field(() => GraphQLJSONObject, { description: 'Every fact the decision used, as recorded (JSON).' })
  evidence: Record<string, unknown>;
}

@Directive('@key(fields: "id")')
@ObjectType({
  description: 'An ingested alert: a Power Outage Alert (AD1) or a supply-restored alert (0x8F35-0x8F3C).',
  implements: Node,
})
export class Alert {
  @Field(() => ID, { description: 'Alert ID.' })
  id: string;

  @Field(() => AlertKindEnum, { description: 'AD1 or SUPPLY_RESTORED.' })
  kind: 'AD1' | 'SUPPLY_RESTORED';

  @Field({ description: 'AD1, or the device alert code 8F35-8F3C.' })
  alertCode: string;

  @Field({
    description: 'The Communications Hub (AD1) or ESME (restore) that raised it.',
    deprecationReason: 'Use raisedByGuid: the same value, typed EUI64 like Device.guid.',
  })
  deviceGuid: string;

  @Field(() => String, {
    nullable: true,
    description: 'MPxN as received (kept even with a bad check digit).',
  })
  mpan: string | null;

  @Field({ description: 'Whether the MPAN is well formed with a valid check digit.' })
  mpanCheckDigitValid: boolean;

  @Field(() => String, {
    nullable: true,
    description: 'Network operator the alert is routed to; null when UNROUTED.',
  })
  distributorId: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      'Why it could not be routed (NO_MPAN, MALFORMED_MPAN, BAD_CHECK_DIGIT, UNKNOWN_DISTRIBUTOR); null when routed.',
  })
  unroutedReason: string | null;

  @Field(() => AlertRoutingEnum, {
    nullable: true,
    description:
      'How it was routed: by its own MPAN, or by a fallback when that MPAN could not say (the alert is then flagged); null when UNROUTED or stored before routing was recorded.',
  })
  routedBy: string | null;

  @Field(() => String, { nullable: true, description: 'Area key used for outage correlation.' })
  areaKey: string | null;

  @Field(() => DateTimeScalar, {
    description: 'AD1 StartDateTime, or the restore’s interruption time (device clock).',
  })
  eventAt: Date;

  @Field(() => DateTimeScalar, { nullable: true, description: 'Restore: when supply came back.' })
  restoredAt: Date | null;

  @Field(() => Int, {
    description: 'DUIS ThrottledAlertCount: how many identical alerts this one stands for.',
  })
  throttledCount: number;

  @Field(() => String, { nullable: true, description: 'DUIS response ID, when given.' })
  duisResponseId: string | null;

  @Field(() => DateTimeScalar, { description: 'When the service received it.' })
  receivedAt: Date;

  @Field(() => DecisionOutcomeEnum, { nullable: true, description: 'Current decision outcome.' })
  outcome: DecisionOutcome | null;
}

@ObjectType({ description: 'A page of alerts, newest first.' })
export class AlertConnection {
  @Field(() => [Alert], { description: 'The alerts on this page.' })
  nodes: Alert[];

  @Field(() => PageInfo, { description: 'Where this page ends.' })
  pageInfo: PageInfo;

  @Field(() => Int, { description: TOTAL_COUNT_DESCRIPTION })
  totalCount: number | Promise<number>;
}

@InputType({ description: 'Alert query filter.' })
export class AlertFilterInput {
  @Field(() => AlertKindEnum, { nullable: true })
  kind?: 'AD1' | 'SUPPLY_RESTORED' | null;

  @Field(() => DecisionOutcomeEnum, { nullable: true })
  outcome?: DecisionOutcome | null;

  @Field(() => String, { nullable: true })
  distributorId?: string | null;

  @Field(() => Boolean, { nullable: true, description: 'Only the UNROUTED queue (operators).' })
  unrouted?: boolean | null;

  @Field(() => String, { nullable: true })
  deviceGuid?: string | null;

  @Field(() => DateTimeScalar, { nullable: true, description: 'Received at or after.' })
  receivedFrom?: Date | null;

  @Field(() => DateTimeScalar, { nullable: true, description: 'Received before.' })
  receivedTo?: Date | null;
}

@InputType({ description: 'DCC alert AD1 (PowerOutageEvent).' })
export class PowerOutageAlertInput {
  @Field({ description: 'CommsHubDeviceID.' })
  commsHubGuid: string;

  @Field(() => DateTimeScalar, { description: 'StartDateTime: outage start by the hub clock.' })
  startAt: Date;

  @Field({ description: 'MPxN as carried by the alert; a bad one is kept and routed to the UNROUTED queue.' })
  mpan: string;

  @Field(() => String, { nullable: true, description: 'DUIS response ID (deduplicates retries).' })
  duisResponseId?: string | null;

  @Field(() => Int, { nullable: true, description: 'ThrottledAlertCount (default 1).' })
  throttledCount?: number | null;

  @Field(() => String, { nullable: true, description: 'ThrottledAlertSequenceId.' })
  throttledSequenceId?: string | null;
}

@InputType({ description: 'Supply Outage Restored device alert (0x8F35-0x8F3C) from an ESME.' })
export class SupplyRestoredAlertInput {
  @Field({ description: 'The ESME.' })
  esmeGuid: string;

  @Field({ description: 'Alert code, 8F35 to 8F3C (0x prefix allowed).' })
  alertCode: string;

  @Field(() => DateTimeScalar, { description: 'interruptionValue.' })
  interruptionAt: Date;

  @Field(() => DateTimeScalar, { description: 'restorationValue.' })
  restorationAt: Date;

  @Field(() => String, { nullable: true, description: 'Import MPAN.' })
  mpan?: string | null;

  @Field(() => String, { nullable: true, description: 'DUIS response ID.' })
  duisResponseId?: string | null;
}

@InputType({
  description:
    'An activation outcome: 0x8F66 (actioned) / 0x8F67 (not actioned) or IMMEDIATE (SR11.3 response).',
})
export class ActivationOutcomeAlertInput {
  @Field({ description: 'The ESME.' })
  esmeGuid: string;

  @Field({ description: '8F66, 8F67 or IMMEDIATE.' })
  alertCode: string;

  @Field({ description: 'DUIS request ID of the SR11.3.' })
  requestId: string;

  @Field({ description: 'success, noImageHeld, hashMismatch or activationFailure.' })
  outcomeCode: string;

  @Field(() => DateTimeScalar, { description: 'Actual execution time.' })
  executedAt: Date;

  @Field(() => String, { nullable: true, description: 'Firmware version now reported.' })
  firmwareVersion?: string | null;
}

@InputType({ description: 'DCC alert CommsHubFirmwareActivation: a hub activated new firmware.' })
export class CommsHubFirmwareActivationInput {
  @Field({ description: 'The Communications Hub.' })
  commsHubGuid: string;

  @Field({ description: 'Firmware version activated.' })
  firmwareVersion: string;

  @Field(() => DateTimeScalar, { description: 'When it activated.' })
  activatedAt: Date;
}

@InputType({ description: 'One alert to ingest: set exactly one field.' })
export class AlertInput {
  @Field(() => PowerOutageAlertInput, { nullable: true })
  powerOutage?: PowerOutageAlertInput | null;

  @Field(() => SupplyRestoredAlertInput, { nullable: true })
  supplyRestored?: SupplyRestoredAlertInput | null;

  @Field(() => ActivationOutcomeAlertInput, { nullable: true })
  activationOutcome?: ActivationOutcomeAlertInput | null;

  @Field(() => CommsHubFirmwareActivationInput, { nullable: true })
  commsHubFirmwareActivation?: CommsHubFirmwareActivationInput | null;
}

@ObjectType({ description: 'What ingestAlerts did with one alert; a retried batch gets the same IDs back.' })
export class IngestResult {
  @Field(() => Int, { description: 'Position in the batch.' })
  index: number;

  @Field(() => IngestKindEnum, { description: 'Which kind of alert it was.' })
  kind: string;

  @Field(() => ID, { nullable: true, description: 'The stored alert (AD1 and restores).' })
  alertId: string | null;

  @Field(() => ID, {
    nullable: true,
    description: 'The activation updated or created (outcomes, hub activations).',
  })
  activationId: string | null;

  @Field({ description: 'True when it had been ingested before: nothing new was stored.' })
  duplicate: boolean;

  @Field(() => DecisionOutcomeEnum, { nullable: true, description: 'Current decision.' })
  outcome: DecisionOutcome | null;

  @Field(() => String, {
    nullable: true,
    description:
      'AD1s and restores: current reason code. Outcomes and hub activations: why nothing was recorded for it ' +
      '(EXECUTED_AT_OUT_OF_RANGE, UNKNOWN_DEVICE), null when it was.',
  })
  reason: string | null;

  @Field(() => DateTimeScalar, { nullable: true, description: 'HELD: decided by this time at the latest.' })
  dueAt: Date | null;

  @Field(() => String, {
    nullable: true,
    description:
      'AD1s and restores: the network operator it went to; null when it went to the UNROUTED queue.',
  })
  distributorId?: string | null;

  @Field(() => AlertRoutingEnum, {
    nullable: true,
    description: 'AD1s and restores: how it was routed (MPAN, or a fallback); null when unrouted.',
  })
  routedBy?: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      'AD1s and restores that went to the UNROUTED queue: why (NO_MPAN, MALFORMED_MPAN, BAD_CHECK_DIGIT, UNKNOWN_DISTRIBUTOR).',
  })
  unroutedReason?: string | null;
}

@ObjectType({ description: 'Why an alert was decided as it was, in words, with the ledger.' })
export class AlertExplanation {
  @Field(() => Alert, { description: 'The alert.' })
  alert: Alert;

  @Field(() => [String], {
    description:
      'The current decision, one sentence a line, from the evidence recorded when it was made. The activation it used ' +
      'is shown twice, labelled: "at decision time" (as recorded) and "now" (its current status).',
  })
  lines: string[];
}

@ObjectType({
  description: 'How many AD1s received in a period ended with an outcome and reason, per network operator.',
})
export class SuppressionStat {
  @Field(() => String, { nullable: true, description: 'Distributor ID; null for the UNROUTED queue.' })
  distributorId: string | null;

  @Field(() => DecisionOutcomeEnum, { description: 'Current outcome.' })
  outcome: DecisionOutcome;

  @Field({ description: 'Reason code.' })
  reason: string;

  @Field(() => Int, { description: 'Number of AD1s.' })
  count: number;
}
