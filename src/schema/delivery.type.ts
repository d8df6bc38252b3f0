import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import type { DnoMessageKind } from '../domain/delivery';
import type { DecisionOutcome, DeliveryPreference } from '../domain/model';
import { Alert } from './alert.type';
import { DecisionOutcomeEnum, DeliveryPreferenceEnum, DnoAlertKindEnum } from './enums';
import { DateTimeScalar } from './scalars';

@ObjectType({ description: 'The decision a DNO message was sent on.' })
export class DnoDecision {
  @Field({
    description: 'Ledger revision of the alert’s decision.',
    deprecationReason: 'Use ledgerRevision: the same value, typed Int like AlertDecisionRecord.revision.',
  })
  revision: number;

  @Field(() => Int, {
    description: 'Ledger revision of the alert’s decision (AlertDecisionRecord.revision).',
  })
  ledgerRevision: number;

  @Field(() => DecisionOutcomeEnum, { description: 'Outcome at the time of the message.' })
  outcome: DecisionOutcome;

  @Field({ description: 'Stable reason code.' })
  reasonCode: string;

  @Field({ description: 'The reason in words.' })
  reasonText: string;

  @Field({ description: 'True for a release after a suppression.' })
  late: boolean;

  @Field(() => DateTimeScalar, { description: 'When the decision was made.' })
  decidedAt: Date;
}

@ObjectType({ description: 'Why an AD1 was judged OTA-induced: the activation behind it.' })
export class OtaInducedDetails {
  @Field(() => String, { nullable: true, description: 'DUIS request ID of the SR11.3 activation.' })
  activationRequestId: string | null;

  @Field(() => DateTimeScalar, { nullable: true, description: 'When the activation actually executed.' })
  actualExecutedAt: Date | null;

  @Field(() => String, { nullable: true, description: 'Manufacturer ID of the device activated.' })
  manufacturer: string | null;

  @Field(() => String, { nullable: true, description: 'Model ID of the device activated.' })
  model: string | null;

  @Field(() => String, { nullable: true, description: 'Firmware version before the activation.' })
  firmwareBefore: string | null;

  @Field(() => String, { nullable: true, description: 'Firmware version the activation installed.' })
  firmwareAfter: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'Affected-firmware rule used.',
    deprecationReason:
      'Use affectedFirmwareRuleId: the same value, typed ID like AlertDecisionRecord.ruleId.',
  })
  ruleId: string | null;

  @Field(() => ID, {
    nullable: true,
    description: 'ID of the affected-firmware rule used (AffectedFirmwareRule.id).',
  })
  affectedFirmwareRuleId: string | null;

  @Field(() => DateTimeScalar, { nullable: true, description: 'Window start.' })
  windowFrom: Date | null;

  @Field(() => DateTimeScalar, { nullable: true, description: 'Window end.' })
  windowTo: Date | null;
}

@ObjectType({
  description:
    'One message of a DNO’s stream. AD1: a power outage alert to act on. OTA_INDUCED: the companion that pairs with an ' +
    'AD1 and says it was caused by a firmware activation (PAIR mode; late when evidence came after the AD1). ' +
    'RELEASED_AD1: an alert held back and then judged genuine or undecidable, sent late. SUPPLY_RESTORED: a ' +
    'restoration alert. WITHDRAWN (FILTER): an AD1 you were sent turned out OTA-induced on late evidence (DCC’s ' +
    'activation outcome); stand down, otaInduced names the activation. RECLASSIFIED (ANNOTATE): the same, as a new ' +
    'classification of an AD1 you have. A decision may change for CORRECTION_HOURS (24 h) after receipt; every change ' +
    'is a message.',
})
export class DnoAlert {
  @Field({
    description: 'Position in this DNO’s stream (a 64-bit counter as a string); resume with after: sequence.',
  })
  sequence: string;

  @Field({ description: 'The DNO (distributor ID) the stream belongs to.' })
  distributorId: string;

  @Field(() => DnoAlertKindEnum, { description: 'Message kind.' })
  kind: DnoMessageKind;

  @Field(() => Alert, { description: 'The alert this message is about.' })
  alert: Alert;

  @Field(() => DnoDecision, { description: 'The decision it was sent on (ANNOTATE: the classification).' })
  decision: DnoDecision;

  @Field(() => Alert, {
    nullable: true,
    description:
      'OTA_INDUCED: the AD1 it pairs with. SUPPLY_RESTORED: the AD1 the restore pairs with, if any.',
  })
  pairedWith: Alert | null;

  @Field(() => OtaInducedDetails, {
    nullable: true,
    description: 'For OTA-induced AD1s: the activation behind it.',
  })
  otaInduced: OtaInducedDetails | null;

  @Field(() => DateTimeScalar, { description: 'When the message was written to the outbox.' })
  createdAt: Date;
}

@ObjectType({ description: 'A DNO’s delivery position and preference.' })
export class DnoDeliveryStatus {
  @Field({ description: 'Distributor ID.' })
  distributorId: string;

  @Field({ description: 'Newest sequence in the stream.' })
  newestSequence: string;

  @Field({ description: 'Last sequence the DNO acknowledged.' })
  acknowledgedSequence: string;

  @Field({ description: 'newestSequence minus acknowledgedSequence.' })
  lag: string;

  @Field(() => DeliveryPreferenceEnum, { description: 'How OTA-induced alerts are delivered to this DNO.' })
  preference: DeliveryPreference;

  @Field(() => DateTimeScalar, {
    nullable: true,
    description: 'When the consumer last acknowledged (acknowledgeDnoAlerts); null when it never has.',
  })
  acknowledgedAt: Date | null;

  @Field(() => Float, {
    nullable: true,
    description:
      'Seconds since acknowledgedAt, on the service clock; null when the consumer never acknowledged. With lag above ' +
      '0 and this growing, the consumer is not keeping up.',
  })
  secondsSinceAcknowledgement: number | null;
}
