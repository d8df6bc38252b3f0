import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { DeviceType, SmiStatus } from '../domain/model';

/** A device in the DSP inventory, with its current firmware version (history in DeviceFirmwareEntity). */
@Entity('device')
export class DeviceEntity {
  @PrimaryColumn({ type: 'char', length: 23 })
  guid: string;

  @Column({ name: 'device_type', type: 'text' })
  deviceType: DeviceType;

  @Column({ type: 'char', length: 4, nullable: true })
  manufacturer: string | null;

  @Column({ type: 'char', length: 8, nullable: true })
  model: string | null;

  @Column({ name: 'firmware_version', type: 'text', nullable: true })
  firmwareVersion: string | null;

  @Column({ name: 'smi_status', type: 'text' })
  smiStatus: SmiStatus;

  @Column({ type: 'char', length: 13, nullable: true })
  mpan: string | null;

  @Column({ name: 'distributor_id', type: 'char', length: 2, nullable: true, insert: false, update: false })
  distributorId: string | null;

  @Column({ name: 'area_key', type: 'text', nullable: true })
  areaKey: string | null;

  @Column({ name: 'csp_region', type: 'text', nullable: true })
  cspRegion: string | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}

/** One firmware version a device ran from a point in time. */
@Entity('device_firmware')
export class DeviceFirmwareEntity {
  @PrimaryColumn({ name: 'device_guid', type: 'char', length: 23 })
  deviceGuid: string;

  @PrimaryColumn({ name: 'effective_from', type: 'timestamptz' })
  effectiveFrom: Date;

  @Column({ name: 'firmware_version', type: 'text' })
  firmwareVersion: string;

  @Column({ type: 'text' })
  source: 'INVENTORY' | 'ACTIVATION';
}

/** Which ESME powers which Communications Hub, over a span of time. */
@Entity('comms_hub_link')
export class CommsHubLinkEntity {
  @PrimaryColumn({ type: 'bigint' })
  id: string;

  @Column({ name: 'comms_hub_guid', type: 'char', length: 23 })
  commsHubGuid: string;

  @Column({ name: 'esme_guid', type: 'char', length: 23 })
  esmeGuid: string;

  @Column({ name: 'effective_from', type: 'timestamptz' })
  effectiveFrom: Date;

  @Column({ name: 'effective_to', type: 'timestamptz', nullable: true })
  effectiveTo: Date | null;
}
