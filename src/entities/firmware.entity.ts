import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { ActivationOutcomeCode, ActivationStatus } from '../domain/model';

/** A manufacturer firmware image known to the DSP. */
@Entity('firmware_image')
export class FirmwareImageEntity {
  @PrimaryColumn({ type: 'uuid' })
  id: string;

  @Column({ type: 'char', length: 4 })
  manufacturer: string;

  @Column({ type: 'char', length: 8 })
  model: string;

  @Column({ type: 'text' })
  version: string;

  @Column({ name: 'image_hash', type: 'char', length: 64 })
  imageHash: string;

  @Column({ name: 'size_bytes', type: 'bigint', nullable: true })
  sizeBytes: string | null;

  @Column({ name: 'release_date', type: 'date', nullable: true })
  releaseDate: string | null;

  @Column({ name: 'registered_at', type: 'timestamptz' })
  registeredAt: Date;

  @Column({ name: 'registered_by', type: 'text' })
  registeredBy: string;
}

/** An entry of the MP102B filter list: a model and the firmware versions whose activation cuts CH power. */
@Entity('affected_firmware_rule')
export class AffectedFirmwareRuleEntity {
  @PrimaryColumn({ type: 'uuid' })
  id: string;

  @Column({ type: 'integer' })
  version: number;

  @Column({ type: 'text' })
  name: string;

  @Column({ name: 'device_type', type: 'text' })
  deviceType: 'ESME' | 'CHF';

  @Column({ type: 'char', length: 4 })
  manufacturer: string;

  @Column({ type: 'char', length: 8 })
  model: string;

  @Column({ name: 'affected_firmware_versions', type: 'text', array: true })
  affectedFirmwareVersions: string[];

  @Column({ name: 'target_firmware_version', type: 'text', nullable: true })
  targetFirmwareVersion: string | null;

  @Column({ name: 'target_image_hash', type: 'char', length: 64, nullable: true })
  targetImageHash: string | null;

  @Column({ name: 'window_minutes', type: 'integer' })
  windowMinutes: number;

  @Column({ name: 'skew_minutes', type: 'integer' })
  skewMinutes: number;

  /** Window after a known actual execution time (narrow: the hub goes dark within seconds). */
  @Column({ name: 'executed_window_minutes', type: 'integer' })
  executedWindowMinutes: number;

  /** Longest hub power cut an activation under this rule can cause. */
  @Column({ name: 'max_comms_hub_off_minutes', type: 'integer' })
  maxCommsHubOffMinutes: number;

  @Column({ type: 'boolean' })
  enabled: boolean;

  @Column({ type: 'boolean' })
  shadow: boolean;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;

  @Column({ name: 'updated_by', type: 'text' })
  updatedBy: string;
}

/** One recorded change of a rule: who, when, and the rule as it became. */
@Entity('affected_firmware_rule_change')
export class AffectedFirmwareRuleChangeEntity {
  @PrimaryColumn({ type: 'bigint' })
  id: string;

  @Column({ name: 'rule_id', type: 'uuid' })
  ruleId: string;

  @Column({ type: 'integer' })
  version: number;

  @Column({ name: 'changed_at', type: 'timestamptz' })
  changedAt: Date;

  @Column({ name: 'changed_by', type: 'text' })
  changedBy: string;

  @Column({ type: 'jsonb' })
  rule: Record<string, unknown>;
}

/** One SR11.3 Activate Firmware request and what became of it. */
@Entity('firmware_activation')
export class FirmwareActivationEntity {
  @PrimaryColumn({ type: 'uuid' })
  id: string;

  @Column({ name: 'request_id', type: 'text' })
  requestId: string;

  /** The requesting supplier; null for a Communications Hub's own (DCC-managed) activation. */
  @Column({ name: 'supplier_id', type: 'char', length: 23, nullable: true })
  supplierId: string | null;

  @Column({ type: 'text' })
  source: 'SR11.3' | 'CH_FIRMWARE_ACTIVATION';

  @Column({ name: 'device_guid', type: 'char', length: 23 })
  deviceGuid: string;

  @Column({ name: 'image_id', type: 'uuid', nullable: true })
  imageId: string | null;

  @Column({ name: 'image_hash', type: 'char', length: 64, nullable: true })
  imageHash: string | null;

  @Column({ name: 'target_firmware_version', type: 'text', nullable: true })
  targetFirmwareVersion: string | null;

  @Column({ name: 'firmware_version_before', type: 'text', nullable: true })
  firmwareVersionBefore: string | null;

  @Column({ name: 'submitted_at', type: 'timestamptz' })
  submittedAt: Date;

  @Column({ name: 'execute_at', type: 'timestamptz', nullable: true })
  executeAt: Date | null;

  @Column({ name: 'requested_at', type: 'timestamptz' })
  requestedAt: Date;

  @Column({ type: 'text' })
  status: ActivationStatus;

  @Column({ name: 'actual_executed_at', type: 'timestamptz', nullable: true })
  actualExecutedAt: Date | null;

  @Column({ name: 'outcome_code', type: 'text', nullable: true })
  outcomeCode: ActivationOutcomeCode | null;

  @Column({ name: 'resulting_firmware_version', type: 'text', nullable: true })
  resultingFirmwareVersion: string | null;

  @Column({ name: 'outcome_received_at', type: 'timestamptz', nullable: true })
  outcomeReceivedAt: Date | null;

  @Column({ name: 'overridden_status', type: 'text', nullable: true })
  overriddenStatus: 'CANCELLED' | 'SUPERSEDED' | 'OUTCOME_UNKNOWN' | null;

  @Column({ name: 'superseded_by', type: 'uuid', nullable: true })
  supersededBy: string | null;

  @Column({ name: 'status_changed_at', type: 'timestamptz' })
  statusChangedAt: Date;

  @Column({ name: 'rule_id', type: 'uuid', nullable: true })
  ruleId: string | null;

  @Column({ name: 'rule_version', type: 'integer', nullable: true })
  ruleVersion: number | null;

  @Column({ name: 'window_from', type: 'timestamptz', nullable: true })
  windowFrom: Date | null;

  @Column({ name: 'window_to', type: 'timestamptz', nullable: true })
  windowTo: Date | null;

  @Column({ name: 'window_anchored_on_actual', type: 'boolean' })
  windowAnchoredOnActual: boolean;

  @Column({ name: 'campaign_id', type: 'uuid', nullable: true })
  campaignId: string | null;
}

/**
 * What a supplier says became of its own activation: kept beside the activation and never
 * applied to it (only DCC's outcome is evidence; docs/SECURITY.md, "Outcomes").
 */
@Entity('activation_outcome_claim')
export class ActivationOutcomeClaimEntity {
  @PrimaryColumn({ type: 'bigint' })
  id: string;

  @Column({ name: 'activation_id', type: 'uuid' })
  activationId: string;

  @Column({ name: 'supplier_id', type: 'char', length: 23 })
  supplierId: string;

  @Column({ name: 'outcome_code', type: 'text' })
  outcomeCode: ActivationOutcomeCode;

  @Column({ name: 'executed_at', type: 'timestamptz' })
  executedAt: Date;

  @Column({ name: 'firmware_version', type: 'text', nullable: true })
  firmwareVersion: string | null;

  @Column({ name: 'received_at', type: 'timestamptz' })
  receivedAt: Date;
}
