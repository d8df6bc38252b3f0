import { Directive, Field, InputType, Int, ObjectType } from 'type-graphql';
import type { DeviceType, SmiStatus } from '../domain/model';
import { Node } from './node.type';
import { DeviceTypeEnum, SmiStatusEnum } from './enums';
import { DateTimeScalar, EUI64Scalar, MPANScalar } from './scalars';
import { TOTAL_COUNT_DESCRIPTION } from './ordering';

@Directive('@key(fields: "guid")')
@ObjectType({ description: 'A smart metering device in the DSP inventory.', implements: Node })
export class Device {
  @Field(() => EUI64Scalar, { description: 'EUI-64 device ID.' })
  guid: string;

  @Field(() => DeviceTypeEnum, { description: 'DUIS device type (ESME, CHF, GSME, ...).' })
  deviceType: DeviceType;

  @Field(() => String, { nullable: true, description: 'Manufacturer ID: 2 octets as 4 hex digits.' })
  manufacturer: string | null;

  @Field(() => String, { nullable: true, description: 'Model ID: 4 octets as 8 hex digits.' })
  model: string | null;

  @Field(() => String, { nullable: true, description: 'Firmware version the inventory holds now.' })
  firmwareVersion: string | null;

  @Field(() => SmiStatusEnum, { description: 'SMI status.' })
  smiStatus: SmiStatus;

  @Field(() => MPANScalar, {
    nullable: true,
    description: 'Import MPAN (13 digits) for electricity meters; null where unknown or not applicable.',
  })
  mpan: string | null;

  @Field(() => String, { nullable: true, description: 'Distributor ID: the first two digits of the MPAN.' })
  distributorId: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      'Area key used to correlate outages between neighbours (e.g. secondary substation or LV feeder).',
  })
  areaKey: string | null;

  @Field(() => String, { nullable: true, description: 'CSP region: North, Central or South.' })
  cspRegion: string | null;

  @Field(() => DateTimeScalar, { description: 'When the inventory record last changed.' })
  updatedAt: Date;
}

@ObjectType({ description: 'A firmware version a device ran from a point in time.' })
export class FirmwareVersionEntry {
  @Field({ description: 'Firmware version.' })
  firmwareVersion: string;

  @Field(() => DateTimeScalar, { description: 'When the device started running it.' })
  effectiveFrom: Date;

  @Field({
    description: 'Where the fact came from: INVENTORY (an upsert) or ACTIVATION (an activation outcome).',
  })
  source: string;
}

@ObjectType({ description: 'The ESME that powers a Communications Hub over a span of time.' })
export class CommsHubLink {
  @Field(() => EUI64Scalar, { description: 'The Communications Hub (CHF).' })
  commsHubGuid: string;

  @Field(() => EUI64Scalar, { description: 'The electricity meter (ESME) that powers it.' })
  esmeGuid: string;

  @Field(() => DateTimeScalar, { description: 'Start of the association.' })
  effectiveFrom: Date;

  @Field(() => DateTimeScalar, { nullable: true, description: 'End of the association; null while current.' })
  effectiveTo: Date | null;
}

@ObjectType({
  description: "The import supplier registered for an ESME from a point in time (DCC's registration data).",
})
export class SupplierRegistration {
  @Field(() => EUI64Scalar, { description: 'The electricity meter (ESME).' })
  esmeGuid: string;

  @Field(() => EUI64Scalar, {
    description: 'The registered import supplier: the only one that may send it SR11.3.',
  })
  supplierId: string;

  @Field(() => DateTimeScalar, { description: 'When the registration took effect.' })
  effectiveFrom: Date;
}

@InputType({ description: 'One ESME-Communications Hub association, as linkCommsHub takes it.' })
export class CommsHubLinkInput {
  @Field(() => EUI64Scalar, { description: 'The Communications Hub (CHF).' })
  commsHubGuid: string;

  @Field(() => EUI64Scalar, { description: 'The electricity meter (ESME) that powers it.' })
  esmeGuid: string;

  @Field(() => DateTimeScalar, { nullable: true, description: 'Start of the association (default now).' })
  effectiveFrom?: Date | null;
}

@ObjectType({ description: 'Cursor pagination details.' })
export class PageInfo {
  @Field(() => String, { nullable: true, description: 'Pass as `after` to get the next page.' })
  endCursor: string | null;

  @Field({ description: 'Whether another page follows.' })
  hasNextPage: boolean;
}

@ObjectType({ description: 'A page of devices.' })
export class DeviceConnection {
  @Field(() => [Device], { description: 'The devices on this page.' })
  nodes: Device[];

  @Field(() => PageInfo, { description: 'Where this page ends.' })
  pageInfo: PageInfo;

  @Field(() => Int, { description: TOTAL_COUNT_DESCRIPTION })
  totalCount: number | Promise<number>;
}

@InputType({ description: 'A device to create or update (the GUID is the key).' })
export class DeviceInput {
  @Field(() => String, { description: 'EUI-64 device ID.' })
  guid: string;

  @Field(() => DeviceTypeEnum, { description: 'DUIS device type.' })
  deviceType: DeviceType;

  @Field(() => String, { nullable: true, description: 'Manufacturer ID (4 hex digits).' })
  manufacturer?: string | null;

  @Field(() => String, { nullable: true, description: 'Model ID (8 hex digits).' })
  model?: string | null;

  @Field(() => String, { nullable: true, description: 'Firmware version (1-8 characters).' })
  firmwareVersion?: string | null;

  @Field(() => DateTimeScalar, {
    nullable: true,
    description:
      'When the firmware version took effect; defaults to now. Recorded in the history when it changes.',
  })
  firmwareEffectiveFrom?: Date | null;

  @Field(() => SmiStatusEnum, { nullable: true, description: 'SMI status; defaults to Commissioned.' })
  smiStatus?: SmiStatus | null;

  @Field(() => String, { nullable: true, description: 'Import MPAN; the check digit must be valid.' })
  mpan?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'Outage-correlation area key (e.g. feeder ID), up to 64 characters.',
  })
  areaKey?: string | null;

  @Field(() => String, { nullable: true, description: 'CSP region: North, Central or South.' })
  cspRegion?: string | null;

  @Field(() => EUI64Scalar, {
    nullable: true,
    description:
      'ESME only: its registered import supplier, the only one that may schedule SR11.3 on it. ' +
      'Recorded when it changes; leaving it out keeps the current registration.',
  })
  importSupplierId?: string | null;

  @Field(() => DateTimeScalar, {
    nullable: true,
    description: 'When that registration took effect; defaults to now.',
  })
  importSupplierEffectiveFrom?: Date | null;
}

@InputType({ description: 'Device query filter; all given fields must match.' })
export class DeviceFilterInput {
  @Field(() => DeviceTypeEnum, { nullable: true })
  deviceType?: DeviceType | null;

  @Field(() => String, { nullable: true })
  manufacturer?: string | null;

  @Field(() => String, { nullable: true })
  model?: string | null;

  @Field(() => String, { nullable: true })
  firmwareVersion?: string | null;

  @Field(() => String, { nullable: true, description: 'Two-digit distributor ID of the MPAN.' })
  distributorId?: string | null;

  @Field(() => String, { nullable: true })
  areaKey?: string | null;

  @Field(() => SmiStatusEnum, { nullable: true })
  smiStatus?: SmiStatus | null;
}

@ObjectType({ description: 'What upsertDevices did.' })
export class UpsertDevicesResult {
  @Field(() => Int, { description: 'Devices created.' })
  inserted: number;

  @Field(() => Int, { description: 'Devices updated.' })
  updated: number;

  @Field(() => Int, { description: 'Firmware versions recorded in the history.' })
  firmwareChanges: number;
}

@ObjectType({ description: 'Devices were created or changed in the inventory.' })
export class InventoryChange {
  @Field(() => Int, { description: 'How many devices changed.' })
  count: number;

  @Field(() => [EUI64Scalar], {
    description: 'Their GUIDs when at most 100 changed; empty for larger batches.',
  })
  guids: string[];

  @Field(() => DateTimeScalar, { description: 'When the change was made.' })
  at: Date;
}
