import { SUPPLY_RESTORED_ALERT_CODES } from '../../domain/engine';
import { InvalidInputError } from '../../domain/errors';
import { parseEui64, parseFirmwareVersion, parseRequestId } from '../../domain/identifiers';
import { ACTIVATION_OUTCOME_CODES } from '../../domain/model';
import type { ActivationOutcomeCode, DecisionOutcome } from '../../domain/model';
import type { AlertRouting } from '../../domain/routing';

/** One alert of an ingestAlerts batch, after GraphQL has picked its kind. */
export type AlertInput =
  | {
      readonly kind: 'AD1';
      readonly commsHubGuid: string;
      readonly startAt: Date;
      readonly mpan: string;
      readonly duisResponseId?: string | null;
      readonly throttledCount?: number | null;
      readonly throttledSequenceId?: string | null;
    }
  | {
      readonly kind: 'SUPPLY_RESTORED';
      readonly esmeGuid: string;
      readonly alertCode: string;
      readonly interruptionAt: Date;
      readonly restorationAt: Date;
      readonly mpan?: string | null;
      readonly duisResponseId?: string | null;
    }
  | {
      readonly kind: 'ACTIVATION_OUTCOME';
      readonly esmeGuid: string;
      /** 8F66 (actioned) or 8F67 (not actioned); IMMEDIATE for an SR11.3 response. */
      readonly alertCode: string;
      readonly requestId: string;
      readonly outcomeCode: string;
      readonly executedAt: Date;
      readonly firmwareVersion?: string | null;
    }
  | {
      readonly kind: 'CH_FIRMWARE_ACTIVATION';
      readonly commsHubGuid: string;
      readonly firmwareVersion: string;
      readonly activatedAt: Date;
    };

/** What happened to one alert of the batch; a retried batch gets the same alert IDs back. */
export interface IngestResult {
  readonly index: number;
  readonly kind: AlertInput['kind'];
  /** The stored alert (AD1 and supply-restored alerts). */
  readonly alertId: string | null;
  /** The activation it updated or created (outcomes and CH activations). */
  readonly activationId: string | null;
  /** True when this alert had been ingested before (nothing new was stored). */
  readonly duplicate: boolean;
  readonly outcome: DecisionOutcome | null;
  readonly reason: string | null;
  readonly dueAt: Date | null;
  /** AD1s and restores: the network operator it went to; `null`: the UNROUTED queue. */
  readonly distributorId?: string | null;
  /** How it was routed (MPAN, or a fallback: COMMS_HUB_LINK, MPAN_PREFIX); `null` when unrouted. */
  readonly routedBy?: AlertRouting | null;
  /** Why it is unrouted (NO_MPAN, MALFORMED_MPAN, BAD_CHECK_DIGIT, UNKNOWN_DISTRIBUTOR). */
  readonly unroutedReason?: string | null;
}

/** DUIS response IDs are `EUI64:EUI64:counter` (up to 68 characters); 128 leaves room. */
const MAX_TEXT = 128;

function text(value: string | null | undefined, field: string): string | null {
  if (value === null || value === undefined || value === '') return null;
  if (value.length > MAX_TEXT || /\p{Cc}/u.test(value)) {
    throw new InvalidInputError(
      'INVALID_TEXT',
      `${field} must be at most ${MAX_TEXT} printable characters`,
      field,
    );
  }
  return value;
}

function validDate(value: Date, field: string): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw new InvalidInputError('INVALID_DATETIME', `${field} is not a date-time`, field);
  }
  return value;
}

/** Checks and normalises one alert; the MPAN of an alert is kept as sent (a bad one is routed to UNROUTED). */
export function validateAlert(input: AlertInput, path: string): AlertInput {
  switch (input.kind) {
    case 'AD1':
      return validAd1(input, path);
    case 'SUPPLY_RESTORED':
      return validRestore(input, path);
    case 'ACTIVATION_OUTCOME':
      return validOutcome(input, path);
    case 'CH_FIRMWARE_ACTIVATION':
      return validHubActivation(input, path);
  }
}

function validAd1(input: Extract<AlertInput, { kind: 'AD1' }>, path: string): AlertInput {
  const count = input.throttledCount ?? 1;
  if (!Number.isInteger(count) || count < 1 || count > 1_000_000) {
    throw new InvalidInputError(
      'INVALID_THROTTLED_COUNT',
      'throttledCount must be 1 or more',
      `${path}.throttledCount`,
    );
  }
  return {
    kind: 'AD1',
    commsHubGuid: parseEui64(input.commsHubGuid, `${path}.commsHubGuid`),
    startAt: validDate(input.startAt, `${path}.startAt`),
    mpan: text(input.mpan, `${path}.mpan`) ?? '',
    duisResponseId: text(input.duisResponseId, `${path}.duisResponseId`),
    throttledCount: count,
    throttledSequenceId: text(input.throttledSequenceId, `${path}.throttledSequenceId`),
  };
}

function validRestore(input: Extract<AlertInput, { kind: 'SUPPLY_RESTORED' }>, path: string): AlertInput {
  const code = input.alertCode.toUpperCase().replace(/^0X/, '');
  if (!(SUPPLY_RESTORED_ALERT_CODES as readonly string[]).includes(code)) {
    throw new InvalidInputError(
      'INVALID_ALERT_CODE',
      `alertCode must be one of 0x8F35-0x8F3C`,
      `${path}.alertCode`,
    );
  }
  const interruptionAt = validDate(input.interruptionAt, `${path}.interruptionAt`);
  const restorationAt = validDate(input.restorationAt, `${path}.restorationAt`);
  if (restorationAt.getTime() < interruptionAt.getTime()) {
    throw new InvalidInputError(
      'RESTORATION_BEFORE_INTERRUPTION',
      'restorationAt is before interruptionAt',
      `${path}.restorationAt`,
    );
  }
  return {
    kind: 'SUPPLY_RESTORED',
    esmeGuid: parseEui64(input.esmeGuid, `${path}.esmeGuid`),
    alertCode: code,
    interruptionAt,
    restorationAt,
    mpan: text(input.mpan, `${path}.mpan`),
    duisResponseId: text(input.duisResponseId, `${path}.duisResponseId`),
  };
}

function validOutcome(input: Extract<AlertInput, { kind: 'ACTIVATION_OUTCOME' }>, path: string): AlertInput {
  const code = input.alertCode.toUpperCase().replace(/^0X/, '');
  if (!['8F66', '8F67', 'IMMEDIATE'].includes(code)) {
    throw new InvalidInputError(
      'INVALID_ALERT_CODE',
      'alertCode must be 8F66, 8F67 or IMMEDIATE',
      `${path}.alertCode`,
    );
  }
  if (!(ACTIVATION_OUTCOME_CODES as readonly string[]).includes(input.outcomeCode)) {
    throw new InvalidInputError('INVALID_OUTCOME_CODE', 'unknown outcomeCode', `${path}.outcomeCode`);
  }
  if (code === '8F67' && input.outcomeCode === 'success') {
    throw new InvalidInputError(
      'INVALID_OUTCOME_CODE',
      '0x8F67 (not actioned) cannot report success',
      `${path}.outcomeCode`,
    );
  }
  const esmeGuid = parseEui64(input.esmeGuid, `${path}.esmeGuid`);
  const request = parseRequestId(input.requestId, `${path}.requestId`);
  if (request.targetId !== esmeGuid) {
    throw new InvalidInputError(
      'REQUEST_ID_TARGET_MISMATCH',
      'the request ID targets another device',
      `${path}.requestId`,
    );
  }
  return {
    kind: 'ACTIVATION_OUTCOME',
    esmeGuid,
    alertCode: code,
    requestId: request.requestId,
    outcomeCode: input.outcomeCode as ActivationOutcomeCode,
    executedAt: validDate(input.executedAt, `${path}.executedAt`),
    firmwareVersion: input.firmwareVersion
      ? parseFirmwareVersion(input.firmwareVersion, `${path}.firmwareVersion`)
      : null,
  };
}

function validHubActivation(
  input: Extract<AlertInput, { kind: 'CH_FIRMWARE_ACTIVATION' }>,
  path: string,
): AlertInput {
  return {
    kind: 'CH_FIRMWARE_ACTIVATION',
    commsHubGuid: parseEui64(input.commsHubGuid, `${path}.commsHubGuid`),
    firmwareVersion: parseFirmwareVersion(input.firmwareVersion, `${path}.firmwareVersion`),
    activatedAt: validDate(input.activatedAt, `${path}.activatedAt`),
  };
}
