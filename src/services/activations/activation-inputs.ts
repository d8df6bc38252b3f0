import type { ActivationStatus } from '../../domain/model';

export interface ActivationSettings {
  readonly horizonDays: number;
  readonly skewMinutes: number;
  /** How far a meter's executedAt may lie outside the request's times (deviceTimeAllowanceMinutes). */
  readonly deviceTimeMinutes: number;
  readonly outcomeBoundMinutes: number;
  readonly maxCampaignSize: number;
}

export interface ScheduleActivationInput {
  /** DUIS request ID `supplierEUI64:esmeEUI64:counter`. */
  readonly requestId: string;
  readonly esmeGuid: string;
  readonly imageId?: string | null;
  readonly imageHash?: string | null;
  /** Future-dated ExecutionDateTime; omitted for an immediate activation; 3000-12-31 cancels. */
  readonly executeAt?: Date | null;
}

export interface ActivationOutcomeInput {
  readonly requestId: string;
  readonly outcomeCode: string;
  readonly executedAt: Date;
  readonly firmwareVersion?: string | null;
}

export interface CampaignInput {
  readonly esmeGuids: readonly string[];
  readonly imageId?: string | null;
  readonly imageHash?: string | null;
  readonly from: Date;
  readonly to: Date;
  readonly maxPerAreaPerHour: number;
  /** DUIS counter of the first request; the campaign's requests take consecutive counters. */
  readonly firstCounter: string;
}

export interface ActivationFilter {
  readonly status?: ActivationStatus | null;
  readonly deviceGuid?: string | null;
  readonly supplierId?: string | null;
  readonly campaignId?: string | null;
}
