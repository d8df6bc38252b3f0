import type { EntityManager } from 'typeorm';
import { activationWindow } from '../../domain/activation-lifecycle';
import type { ActivationOutcome, ActivationState } from '../../domain/activation-lifecycle';
import { ruleCoversActivation } from '../../domain/engine';
import { InvalidInputError } from '../../domain/errors';
import { parseFirmwareVersion } from '../../domain/identifiers';
import { ACTIVATION_OUTCOME_CODES } from '../../domain/model';
import type { ActivationOutcomeCode } from '../../domain/model';
import { AffectedFirmwareRuleEntity, DeviceEntity, FirmwareActivationEntity } from '../../entities';
import type { User } from '../shared/access';
import type { ActivationOutcomeInput } from './activation-inputs';
import { lockActivation, moveFirmwareOn, transition } from './activation-store';

/** What became of one outcome: applied to its activation, or refused with nothing written. */
export type OutcomeResult =
  | { readonly recorded: true; readonly activation: FirmwareActivationEntity }
  | { readonly recorded: false; readonly activationId: string; readonly refusal: InvalidInputError };

/**
 * DCC's outcome (the SR11.3 response, 0x8F66/0x8F67), inside the caller's transaction: the
 * evidence. The status follows the outcome, the window re-anchors on the actual execution time,
 * and a success moves the device's firmware history on. An execution time this request cannot
 * have had is refused with nothing written (ingestAlerts reports it for that alert alone, so a
 * batch keeps its other alerts).
 */
export async function applyOutcomeIn(
  tx: EntityManager,
  user: User,
  input: ActivationOutcomeInput,
  now: Date,
  skewMinutes: number,
): Promise<OutcomeResult> {
  const { outcome, activation, refusal } = await checkedOutcome(tx, user, input, now, skewMinutes);
  if (refusal) return { recorded: false, activationId: activation.id, refusal };
  const next = await transition(tx, activation, { kind: 'OUTCOME', outcome }, now);
  if (next.status === 'SUCCEEDED' && next.resultingFirmwareVersion && next.actualExecutedAt) {
    await moveFirmwareOn(tx, activation.deviceGuid, next.resultingFirmwareVersion, next.actualExecutedAt);
  }
  const updated = await tx.getRepository(FirmwareActivationEntity).findOneByOrFail({ id: activation.id });
  return { recorded: true, activation: updated };
}

/** applyOutcomeIn, with a refusal thrown (EXECUTED_AT_OUT_OF_RANGE) for a caller of one outcome. */
export async function recordOutcomeIn(
  tx: EntityManager,
  user: User,
  input: ActivationOutcomeInput,
  now: Date,
  skewMinutes: number,
): Promise<FirmwareActivationEntity> {
  const result = await applyOutcomeIn(tx, user, input, now, skewMinutes);
  if (!result.recorded) throw result.refusal;
  return result.activation;
}

/**
 * A supplier's word about its own activation, inside the caller's transaction: kept as a claim
 * beside the activation (shown as FirmwareActivation.claims) and never applied to it. The status,
 * the window, the firmware history and every decision stay as DCC's evidence left them: a
 * supplier that could move a window could have genuine outages withheld from the DNO. The same
 * claim again is the same row. Checked as DCC's outcome is, so a claim is at least plausible.
 */
export async function recordClaimIn(
  tx: EntityManager,
  user: User,
  input: ActivationOutcomeInput,
  now: Date,
  skewMinutes: number,
): Promise<FirmwareActivationEntity> {
  const { outcome, activation, refusal } = await checkedOutcome(tx, user, input, now, skewMinutes);
  if (refusal) throw refusal;
  await tx.query(
    `INSERT INTO activation_outcome_claim
       (activation_id, supplier_id, outcome_code, executed_at, firmware_version, received_at)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (activation_id, supplier_id, outcome_code, executed_at, (COALESCE(firmware_version, '')))
     DO NOTHING`,
    [activation.id, user.supplierId, outcome.code, outcome.executedAt, outcome.firmwareVersion, now],
  );
  return activation;
}

/** The outcome parsed, its activation locked, and why its execution time is refused, if it is. */
async function checkedOutcome(
  tx: EntityManager,
  user: User,
  input: ActivationOutcomeInput,
  now: Date,
  skewMinutes: number,
): Promise<{
  outcome: ReturnType<typeof parseOutcome>;
  activation: FirmwareActivationEntity;
  refusal: InvalidInputError | null;
}> {
  const outcome = parseOutcome(input);
  const activation = await lockActivation(tx, user, { requestId: input.requestId });
  return {
    outcome,
    activation,
    refusal: executedAtOutOfRange(activation, outcome.executedAt, now, skewMinutes),
  };
}

/** An outcome's code and firmware version, checked (its execution time is checked against its activation). */
function parseOutcome(input: ActivationOutcomeInput): ActivationOutcome & { firmwareVersion: string | null } {
  if (!(ACTIVATION_OUTCOME_CODES as readonly string[]).includes(input.outcomeCode)) {
    throw new InvalidInputError(
      'INVALID_OUTCOME_CODE',
      `outcomeCode must be one of ${ACTIVATION_OUTCOME_CODES.join(', ')}`,
      'outcomeCode',
    );
  }
  if (!(input.executedAt instanceof Date) || Number.isNaN(input.executedAt.getTime())) {
    throw new InvalidInputError('INVALID_DATETIME', 'executedAt is not a date-time', 'executedAt');
  }
  return {
    code: input.outcomeCode as ActivationOutcomeCode,
    executedAt: input.executedAt,
    firmwareVersion: input.firmwareVersion
      ? parseFirmwareVersion(input.firmwareVersion, 'firmwareVersion')
      : null,
  };
}

/**
 * Why an execution time cannot be a fact about this request, or null when it can. A device does
 * not execute before it has the request (its receipt) nor before the time it was asked to (a
 * future-dated executeAt), and an outcome does not come from the future; each less (or plus) the
 * allowed clock skew. Anything else would move the window anywhere.
 */
function executedAtOutOfRange(
  activation: FirmwareActivationEntity,
  executedAt: Date,
  now: Date,
  skewMinutes: number,
): InvalidInputError | null {
  const skewMs = skewMinutes * 60_000;
  const notBefore = Math.max(activation.submittedAt.getTime(), activation.requestedAt.getTime());
  const earliest = new Date(notBefore - skewMs);
  const latest = new Date(now.getTime() + skewMs);
  if (executedAt >= earliest && executedAt <= latest) return null;
  return new InvalidInputError(
    'EXECUTED_AT_OUT_OF_RANGE',
    `executedAt must lie between ${earliest.toISOString()} (the request's receipt or its requested execution time, ` +
      `whichever is later, less the device clock allowance) and ${latest.toISOString()} (now plus the allowance)`,
    'executedAt',
    { earliest: earliest.toISOString(), latest: latest.toISOString() },
  );
}

/**
 * A Communications Hub's own firmware activation (DCC alert CommsHubFirmwareActivation): an
 * executed activation of the CH, which opens a window where the CH model matches a CHF rule.
 * Idempotent on (CH, activation time).
 */
export async function recordCommsHubActivationIn(
  tx: EntityManager,
  input: { commsHubGuid: string; firmwareVersion: string; activatedAt: Date },
  now: Date,
): Promise<FirmwareActivationEntity | null> {
  const requestId = `CHF:${input.commsHubGuid}:${input.activatedAt.toISOString()}`;
  const existing = await tx.getRepository(FirmwareActivationEntity).findOneBy({ requestId });
  if (existing) return existing;
  const ch = await tx.getRepository(DeviceEntity).findOneBy({ guid: input.commsHubGuid });
  // A hub the inventory does not know has no model a rule could match: nothing to record, and
  // AD1s from it fail open anyway. The alert is not refused: a batch must never lose its other alerts.
  if (!ch) return null;
  if (ch.deviceType !== 'CHF') {
    throw new InvalidInputError(
      'NOT_A_COMMS_HUB',
      `${input.commsHubGuid} is a ${ch.deviceType}, not a CHF`,
      'commsHubGuid',
    );
  }
  // The version before is what the inventory held: that is what a CHF rule matches on.
  const before = ch.firmwareVersion;
  const rules =
    ch.manufacturer && ch.model
      ? await tx.getRepository(AffectedFirmwareRuleEntity).find({
          where: { deviceType: 'CHF', manufacturer: ch.manufacturer, model: ch.model, enabled: true },
          order: { id: 'ASC' },
        })
      : [];
  const rule =
    rules.find((r) =>
      ruleCoversActivation(r, { targetFirmwareVersion: input.firmwareVersion, imageHash: null }, before),
    ) ?? null;
  const state: ActivationState = {
    status: 'SUCCEEDED',
    submittedAt: now,
    executeAt: null,
    requestedAt: input.activatedAt,
    actualExecutedAt: input.activatedAt,
    outcomeCode: 'success',
    resultingFirmwareVersion: input.firmwareVersion,
    firmwareVersionBefore: before,
    overriddenStatus: null,
  };
  const window = rule ? activationWindow(state, rule) : null;
  const [{ id }] = (await tx.query(
    `INSERT INTO firmware_activation (request_id, supplier_id, source, device_guid, image_hash, target_firmware_version,
       firmware_version_before, submitted_at, requested_at, status, actual_executed_at, outcome_code,
       resulting_firmware_version, outcome_received_at, status_changed_at, rule_id, rule_version, window_from,
       window_to, window_anchored_on_actual)
     VALUES ($1, NULL, 'CH_FIRMWARE_ACTIVATION', $2, NULL, $3, $4, $5, $6, 'SUCCEEDED', $6, 'success', $3, $5, $5,
             $7, $8, $9, $10, true)
     RETURNING id`,
    [
      requestId,
      input.commsHubGuid,
      input.firmwareVersion,
      before,
      now,
      input.activatedAt,
      rule?.id ?? null,
      rule?.version ?? null,
      window?.from ?? null,
      window?.to ?? null,
    ],
  )) as { id: string }[];
  await moveFirmwareOn(tx, ch.guid, input.firmwareVersion, input.activatedAt);
  return tx.getRepository(FirmwareActivationEntity).findOneByOrFail({ id });
}
