import { Directive, Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { GraphQLJSONObject } from 'graphql-scalars';
import type { ActivationOutcomeCode, ActivationStatus } from '../domain/model';
import { ActivationOutcomeCodeEnum, ActivationStatusEnum, RuleDeviceTypeEnum } from './enums';
import { PageInfo } from './device.type';
import { Node } from './node.type';
import { DateTimeScalar, EUI64Scalar } from './scalars';
import { TOTAL_COUNT_DESCRIPTION } from './ordering';

@Directive('@key(fields: "id")')
@ObjectType({ description: 'A manufacturer firmware image registered with the DSP.' })
export class FirmwareImage {
  @Field(() => ID, { description: 'Image ID (UUID).' })
  id: string;

  @Field({ description: 'Manufacturer ID (4 hex digits).' })
  manufacturer: string;

  @Field({ description: 'Model ID (8 hex digits).' })
  model: string;

  @Field({ description: 'Firmware version the image installs.' })
  version: string;

  @Field({ description: 'SHA-256 manufacturer image hash, 64 lower-case hex digits.' })
  imageHash: string;

  @Field(() => String, { nullable: true, description: 'Image size in bytes (a 64-bit integer as a string).' })
  sizeBytes: string | null;

  @Field(() => String, { nullable: true, description: 'Release date, YYYY-MM-DD.' })
  releaseDate: string | null;

  @Field(() => DateTimeScalar, { description: 'When it was registered.' })
  registeredAt: Date;
}

@InputType({ description: 'A firmware image to register.' })
export class FirmwareImageInput {
  @Field({ description: 'Manufacturer ID (4 hex digits).' })
  manufacturer: string;

  @Field({ description: 'Model ID (8 hex digits).' })
  model: string;

  @Field({ description: 'Firmware version the image installs (1-8 characters).' })
  version: string;

  @Field({ description: 'SHA-256 image hash: 64 hex digits (or 32 bytes in base64).' })
  imageHash: string;

  @Field(() => Int, { nullable: true, description: 'Size in bytes.' })
  sizeBytes?: number | null;

  @Field(() => String, { nullable: true, description: 'Release date, YYYY-MM-DD.' })
  releaseDate?: string | null;
}

@ObjectType({ description: 'One recorded change of an affected-firmware rule.' })
export class AffectedFirmwareRuleChange {
  @Field(() => Int, { description: 'The rule version this change produced.' })
  version: number;

  @Field(() => DateTimeScalar, { description: 'When.' })
  changedAt: Date;

  @Field({ description: 'Who (token subject).' })
  changedBy: string;

  @Field(() => String, {
    description: 'The rule as it became, as JSON.',
    deprecationReason: 'Use ruleSnapshot: the same rule as a JSONObject, like AlertDecisionRecord.evidence.',
  })
  rule: string;

  @Field(() => GraphQLJSONObject, { description: 'The rule as it became.' })
  ruleSnapshot: Record<string, unknown>;
}

@ObjectType({
  description:
    'An entry of the MP102B filter list: activating firmware FROM one of these versions on this model cuts the Communications Hub power.',
})
export class AffectedFirmwareRule {
  @Field(() => ID, { description: 'Rule ID (UUID).' })
  id: string;

  @Field(() => Int, { description: 'Bumped on every change; decisions record the version they used.' })
  version: number;

  @Field({ description: 'Human-readable name.' })
  name: string;

  @Field(() => RuleDeviceTypeEnum, {
    description: 'ESME (meter activations) or CHF (a hub’s own activation).',
  })
  deviceType: 'ESME' | 'CHF';

  @Field({ description: 'Manufacturer ID.' })
  manufacturer: string;

  @Field({ description: 'Model ID.' })
  model: string;

  @Field(() => [String], { description: 'Pre-activation firmware versions that cut CH power.' })
  affectedFirmwareVersions: string[];

  @Field(() => String, { nullable: true, description: 'When set, only activations to this version match.' })
  targetFirmwareVersion: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'When set, only activations of this image hash match.',
  })
  targetImageHash: string | null;

  @Field(() => Int, { description: 'Window length after the activation time, in minutes.' })
  windowMinutes: number;

  @Field(() => Int, { description: 'Clock-skew tolerance before the activation time, in minutes.' })
  skewMinutes: number;

  @Field(() => Int, {
    description:
      'Window length after a known actual execution time, in minutes: the meter cuts the hub within seconds of executing, so this window is narrow.',
  })
  executedWindowMinutes: number;

  @Field(() => Int, {
    description:
      'Longest Communications Hub power cut an activation under this rule can cause, in minutes; a held AD1 waits until the hub must be back.',
  })
  maxCommsHubOffMinutes: number;

  @Field({ description: 'Disabled rules are ignored.' })
  enabled: boolean;

  @Field({ description: 'Shadow rules decide and record but never withhold an alert.' })
  shadow: boolean;

  @Field(() => DateTimeScalar, { description: 'Last change.' })
  updatedAt: Date;

  @Field({ description: 'Who made the last change.' })
  updatedBy: string;
}

@InputType({ description: 'Creates a rule (no id) or changes one (id, optionally expectedVersion).' })
export class AffectedFirmwareRuleInput {
  @Field(() => ID, { nullable: true, description: 'The rule to change; omit to create.' })
  id?: string | null;

  @Field(() => Int, {
    nullable: true,
    description: 'Version you last read; a different current version is a CONFLICT.',
  })
  expectedVersion?: number | null;

  @Field({ description: 'Human-readable name.' })
  name: string;

  @Field(() => RuleDeviceTypeEnum, { nullable: true, description: 'Default ESME.' })
  deviceType?: 'ESME' | 'CHF' | null;

  @Field({ description: 'Manufacturer ID (4 hex digits).' })
  manufacturer: string;

  @Field({ description: 'Model ID (8 hex digits).' })
  model: string;

  @Field(() => [String], { description: 'Pre-activation firmware versions that cut CH power.' })
  affectedFirmwareVersions: string[];

  @Field(() => String, { nullable: true, description: 'Optional target firmware version.' })
  targetFirmwareVersion?: string | null;

  @Field(() => String, { nullable: true, description: 'Optional target image hash.' })
  targetImageHash?: string | null;

  @Field(() => Int, { nullable: true, description: 'Default WINDOW_MINUTES (30).' })
  windowMinutes?: number | null;

  @Field(() => Int, { nullable: true, description: 'Default SKEW_MINUTES (2).' })
  skewMinutes?: number | null;

  @Field(() => Int, { nullable: true, description: 'Default EXECUTED_WINDOW_MINUTES (3).' })
  executedWindowMinutes?: number | null;

  @Field(() => Int, { nullable: true, description: 'Default MAX_COMMS_HUB_OFF_MINUTES (15).' })
  maxCommsHubOffMinutes?: number | null;

  @Field(() => Boolean, { nullable: true, description: 'Default true.' })
  enabled?: boolean | null;

  @Field(() => Boolean, { nullable: true, description: 'Default false.' })
  shadow?: boolean | null;
}

@ObjectType({ description: 'The suppression window an activation implies.' })
export class SuppressionWindowType {
  @Field(() => DateTimeScalar, { description: 'Inclusive start: activation time minus the skew tolerance.' })
  from: Date;

  @Field(() => DateTimeScalar, { description: 'Inclusive end: activation time plus the window length.' })
  to: Date;

  @Field({
    description:
      'False while anchored on the requested time (provisional); true once the actual execution time is known.',
  })
  anchoredOnActual: boolean;
}

@Directive('@key(fields: "id")')
@ObjectType({ description: 'One SR11.3 Activate Firmware request and what became of it.', implements: Node })
export class FirmwareActivation {
  @Field(() => ID, { description: 'Activation ID (UUID).' })
  id: string;

  @Field({ description: 'DUIS request ID `supplierEUI64:esmeEUI64:counter` (the counter is a uint64).' })
  requestId: string;

  @Field(() => EUI64Scalar, {
    nullable: true,
    description:
      "Requesting supplier party ID; null for a Communications Hub's own (DCC-managed) firmware activation.",
  })
  supplierId: string | null;

  @Field({
    description:
      "SR11.3 (a supplier's request) or CH_FIRMWARE_ACTIVATION (DCC alert CommsHubFirmwareActivation).",
  })
  source: string;

  @Field(() => EUI64Scalar, { description: 'Target device (ESME).' })
  deviceGuid: string;

  @Field(() => String, {
    nullable: true,
    description: 'SHA-256 image hash activated (null for a CH activation).',
  })
  imageHash: string | null;

  @Field(() => String, { nullable: true, description: 'Firmware version the image installs.' })
  targetFirmwareVersion: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'Firmware version the ESME ran before (what rules match on).',
  })
  firmwareVersionBefore: string | null;

  @Field(() => DateTimeScalar, { description: 'When the request was submitted.' })
  submittedAt: Date;

  @Field(() => DateTimeScalar, {
    nullable: true,
    description: 'Requested ExecutionDateTime (future-dated); null when immediate.',
  })
  executeAt: Date | null;

  @Field(() => ActivationStatusEnum, { description: 'Lifecycle status.' })
  status: ActivationStatus;

  @Field(() => DateTimeScalar, { nullable: true, description: 'When the device reports it executed.' })
  actualExecutedAt: Date | null;

  @Field(() => ActivationOutcomeCodeEnum, { nullable: true, description: 'ActivateImageResponseCode.' })
  outcomeCode: ActivationOutcomeCode | null;

  @Field(() => String, {
    nullable: true,
    description: 'Firmware version the device reported with its outcome.',
  })
  resultingFirmwareVersion: string | null;

  @Field(() => ID, { nullable: true, description: 'The activation that superseded this one.' })
  supersededBy: string | null;

  @Field(() => ID, { nullable: true, description: 'Campaign this activation belongs to.' })
  campaignId: string | null;

  @Field(() => SuppressionWindowType, {
    nullable: true,
    description:
      'The window it implies; null when no enabled rule covers it or nothing executed (cancelled, failed, ...).',
  })
  window: SuppressionWindowType | null;
}

@ObjectType({
  description:
    "What a supplier says became of its own activation (recordActivationOutcome by IS/GS). A claim, not evidence: it never moves the activation's status or window, nor any decision; only DCC's outcome does.",
})
export class ActivationOutcomeClaim {
  @Field(() => EUI64Scalar, { description: 'The supplier that made the claim.' })
  supplierId: string;

  @Field(() => ActivationOutcomeCodeEnum, { description: 'The ActivateImageResponseCode claimed.' })
  outcomeCode: ActivationOutcomeCode;

  @Field(() => DateTimeScalar, { description: 'When the supplier says the device executed.' })
  executedAt: Date;

  @Field(() => String, {
    nullable: true,
    description: 'The firmware version the supplier says the device reports.',
  })
  firmwareVersion: string | null;

  @Field(() => DateTimeScalar, {
    description: 'When the claim was first received (a repeat is the same claim).',
  })
  receivedAt: Date;
}

@ObjectType({ description: 'A page of activations, newest submission first.' })
export class FirmwareActivationConnection {
  @Field(() => [FirmwareActivation], { description: 'The activations on this page.' })
  nodes: FirmwareActivation[];

  @Field(() => PageInfo, { description: 'Where this page ends.' })
  pageInfo: PageInfo;

  @Field(() => Int, { description: TOTAL_COUNT_DESCRIPTION })
  totalCount: number | Promise<number>;
}

@InputType({ description: 'Activation query filter.' })
export class ActivationFilterInput {
  @Field(() => ActivationStatusEnum, { nullable: true })
  status?: ActivationStatus | null;

  @Field(() => String, { nullable: true, description: 'Target device GUID.' })
  deviceGuid?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'Supplier party ID (operators; suppliers always see only their own).',
  })
  supplierId?: string | null;

  @Field(() => ID, { nullable: true })
  campaignId?: string | null;
}

@InputType({ description: 'An SR11.3 Activate Firmware request.' })
export class ScheduleFirmwareActivationInput {
  @Field({ description: 'DUIS request ID `yourSupplierEUI64:esmeEUI64:counter`.' })
  requestId: string;

  @Field({ description: 'Target ESME GUID.' })
  esmeGuid: string;

  @Field(() => ID, { nullable: true, description: 'Registered image ID (or give imageHash).' })
  imageId?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'Image hash (64 hex digits); must match a registered image for the ESME model.',
  })
  imageHash?: string | null;

  @Field(() => DateTimeScalar, {
    nullable: true,
    description:
      'Future-dated ExecutionDateTime (up to ACTIVATION_HORIZON_DAYS ahead); omit for immediate; 3000-12-31T00:00:00Z cancels your pending activation.',
  })
  executeAt?: Date | null;
}

@InputType({
  description:
    "An activation outcome: immediate SR11.3 response or 0x8F66/0x8F67 alert. DCC's (an operator's) is evidence; a supplier's is recorded as a claim.",
})
export class ActivationOutcomeInput {
  @Field({ description: 'The DUIS request ID of the activation.' })
  requestId: string;

  @Field(() => ActivationOutcomeCodeEnum, { description: 'ActivateImageResponseCode.' })
  outcomeCode: ActivationOutcomeCode;

  @Field(() => DateTimeScalar, { description: 'When the device executed (or tried to).' })
  executedAt: Date;

  @Field(() => String, { nullable: true, description: 'Firmware version the device now reports.' })
  firmwareVersion?: string | null;
}

@InputType({ description: 'A campaign of SR11.3 activations spread over a time range.' })
export class ActivationCampaignInput {
  @Field(() => [String], { description: 'Target ESME GUIDs.' })
  esmeGuids: string[];

  @Field(() => ID, { nullable: true, description: 'Registered image ID (or imageHash).' })
  imageId?: string | null;

  @Field(() => String, { nullable: true, description: 'Image hash.' })
  imageHash?: string | null;

  @Field(() => DateTimeScalar, { description: 'Earliest execution time (inclusive).' })
  from: Date;

  @Field(() => DateTimeScalar, { description: 'Latest execution time (exclusive).' })
  to: Date;

  @Field(() => Int, {
    description:
      'At most this many activations per area key per clock hour, so neighbours are not activated together.',
  })
  maxPerAreaPerHour: number;

  @Field({ description: 'DUIS counter of the first request; the others take consecutive counters.' })
  firstCounter: string;
}

@ObjectType({ description: 'A scheduled campaign.' })
export class ActivationCampaign {
  @Field(() => ID, { description: 'Campaign ID (filter activations by it).' })
  campaignId: string;

  @Field(() => [FirmwareActivation], { description: 'The schedule, by execution time.' })
  activations: FirmwareActivation[];
}
