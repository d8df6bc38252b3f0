import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { DecisionOutcome } from '../domain/model';

/** An ingested AD1 or supply-restored alert, with its routing and its current decision. */
@Entity('alert')
export class AlertEntity {
  @PrimaryColumn({ type: 'bigint' })
  id: string;

  @Column({ type: 'text' })
  kind: 'AD1' | 'SUPPLY_RESTORED';

  @Column({ name: 'natural_key', type: 'text' })
  naturalKey: string;

  @Column({ name: 'duis_response_id', type: 'text', nullable: true })
  duisResponseId: string | null;

  @Column({ name: 'alert_code', type: 'text' })
  alertCode: string;

  @Column({ name: 'device_guid', type: 'char', length: 23 })
  deviceGuid: string;

  @Column({ type: 'text', nullable: true })
  mpan: string | null;

  @Column({ name: 'mpan_check_digit_valid', type: 'boolean' })
  mpanCheckDigitValid: boolean;

  @Column({ name: 'distributor_id', type: 'char', length: 2, nullable: true })
  distributorId: string | null;

  @Column({ name: 'unrouted_reason', type: 'text', nullable: true })
  unroutedReason: string | null;

  /** How it was routed: its MPAN, or a fallback (COMMS_HUB_LINK, MPAN_PREFIX); null when unrouted. */
  @Column({ name: 'routed_by', type: 'text', nullable: true })
  routedBy: string | null;

  @Column({ name: 'area_key', type: 'text', nullable: true })
  areaKey: string | null;

  @Column({ name: 'event_at', type: 'timestamptz' })
  eventAt: Date;

  @Column({ name: 'restored_at', type: 'timestamptz', nullable: true })
  restoredAt: Date | null;

  @Column({ name: 'throttled_count', type: 'integer' })
  throttledCount: number;

  @Column({ name: 'throttled_sequence_id', type: 'text', nullable: true })
  throttledSequenceId: string | null;

  @Column({ name: 'received_at', type: 'timestamptz' })
  receivedAt: Date;

  @Column({ name: 'ingested_by', type: 'text' })
  ingestedBy: string;

  @Column({ name: 'in_activation_window', type: 'boolean' })
  inActivationWindow: boolean;

  @Column({ type: 'text', nullable: true })
  outcome: DecisionOutcome | null;

  @Column({ type: 'text', nullable: true })
  reason: string | null;

  @Column({ type: 'integer' })
  revision: number;

  @Column({ name: 'due_at', type: 'timestamptz', nullable: true })
  dueAt: Date | null;

  @Column({ name: 'paired_alert_id', type: 'bigint', nullable: true })
  pairedAlertId: string | null;

  /**
   * W3C traceparent of the request that brought the alert in: later spans about it continue that
   * trace (src/tracing.ts, parentFor). Null when tracing was off; absent from rows read without it.
   */
  @Column({ name: 'trace_parent', type: 'text', nullable: true })
  traceParent?: string | null;
}

/** One entry of the append-only decision ledger. */
@Entity('alert_decision')
export class AlertDecisionEntity {
  @PrimaryColumn({ type: 'bigint' })
  id: string;

  @Column({ name: 'alert_id', type: 'bigint' })
  alertId: string;

  @Column({ type: 'integer' })
  revision: number;

  @Column({ type: 'text' })
  outcome: DecisionOutcome;

  @Column({ type: 'text' })
  reason: string;

  @Column({ type: 'boolean' })
  late: boolean;

  @Column({ name: 'rule_id', type: 'uuid', nullable: true })
  ruleId: string | null;

  @Column({ name: 'rule_version', type: 'integer', nullable: true })
  ruleVersion: number | null;

  @Column({ name: 'activation_id', type: 'uuid', nullable: true })
  activationId: string | null;

  @Column({ name: 'window_from', type: 'timestamptz', nullable: true })
  windowFrom: Date | null;

  @Column({ name: 'window_to', type: 'timestamptz', nullable: true })
  windowTo: Date | null;

  @Column({ name: 'due_at', type: 'timestamptz', nullable: true })
  dueAt: Date | null;

  @Column({ name: 'decided_at', type: 'timestamptz' })
  decidedAt: Date;

  @Column({ type: 'text' })
  trigger: 'INGEST' | 'EVIDENCE' | 'TIMER';

  @Column({ type: 'jsonb' })
  decision: Record<string, unknown>;
}
