import type { EntityManager } from 'typeorm';
import { activationWindow } from '../../domain/activation-lifecycle';
import type { ActivationEvent, ActivationState } from '../../domain/activation-lifecycle';
import { ruleCoversActivation } from '../../domain/engine';
import { InvalidInputError } from '../../domain/errors';
import { parseFirmwareVersion } from '../../domain/identifiers';
import { ACTIVATION_OUTCOME_CODES } from '../../domain/model';
import type { ActivationOutcomeCode } from '../../domain/model';
import { AffectedFirmwareRuleEntity, DeviceEntity, FirmwareActivationEntity } from '../../entities';
import type { User } from '../shared/access';
import type { ActivationOutcomeInput } from './activation-inputs';
import { lockActivation, moveFirmwareOn, transition } from './activation-store';

/**
 * The outcome, inside the caller's transaction (ingestAlerts applies 0x8F66/0x8F67 here and
 * re-decides the affected AD1s itself). The status follows the outcome, the window re-anchors
 * on the actual execution time, and a success moves the device's firmware history on.
 */
export async function recordOutcomeIn(
  tx: EntityManager,
  user: User,
  input: ActivationOutcomeInput,
  now: Date,
  skewMinutes: number,
): Promise<FirmwareActivationEntity> {
  if (!(ACTIVATION_OUTCOME_CODES as readonly string[]).includes(input.outcomeCode)) {
    throw new InvalidInputError(
      'INVALID_OUTCOME_CODE',
      `outcomeCode must be one of ${ACTIVATION_OUTCOME_CODES.join(', ')}`,
      'outcomeCode',
    );
  }
  const firmwareVersion = input.firmwareVersion
    ? parseFirmwareVersion(input.firmwareVersion, 'firmwareVersion')
    : null;
  const activation = await lockActivation(tx, user, { requestId: input.requestId });
  // An execution before we had the request (less the clock skew allowed) or in the future is
  // not a fact about this request: it would move the window anywhere.
  const executedAt = input.executedAt;
  if (executedAt instanceof Date && !Number.isNaN(executedAt.getTime())) {
    // At least a minute: DUIS times are whole seconds, and clocks are never quite together.
    const skewMs = Math.max(skewMinutes, 1) * 60_000;
    const earliest = new Date(activation.submittedAt.getTime() - skewMs);
    const latest = new Date(now.getTime() + skewMs);
    if (executedAt < earliest || executedAt > latest) {
      throw new InvalidInputError(
        'EXECUTED_AT_OUT_OF_RANGE',
        `executedAt must lie between ${earliest.toISOString()} (the request's receipt less the allowed skew) and ${latest.toISOString()} (now plus the skew)`,
        'executedAt',
        { earliest: earliest.toISOString(), latest: latest.toISOString() },
      );
    }
  }
  const event: ActivationEvent = {
    kind: 'OUTCOME',
    outcome: {
      code: input.outcomeCode as ActivationOutcomeCode,
      executedAt: input.executedAt,
      firmwareVersion,
    },
  };
  const next = await transition(tx, activation, event, now);
  if (next.status === 'SUCCEEDED' && next.resultingFirmwareVersion && next.actualExecutedAt) {
    await moveFirmwareOn(tx, activation.deviceGuid, next.resultingFirmwareVersion, next.actualExecutedAt);
  }
  return tx.getRepository(FirmwareActivationEntity).findOneByOrFail({ id: activation.id });
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
