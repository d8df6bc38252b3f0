import type { EntityManager } from 'typeorm';
import { activationWindow, applyActivationEvent } from '../../domain/activation-lifecycle';
import type { ActivationEvent, ActivationState } from '../../domain/activation-lifecycle';
import { ruleCoversActivation } from '../../domain/engine';
import { InvalidInputError, NotFoundError } from '../../domain/errors';
import { parseFirmwareHash, parseRequestId } from '../../domain/identifiers';
import type { DuisRequestId } from '../../domain/identifiers';
import type { ActivationStatus } from '../../domain/model';
import type { DeviceEntity } from '../../entities';
import { AffectedFirmwareRuleEntity, FirmwareActivationEntity, FirmwareImageEntity } from '../../entities';
import { parseUuid } from '../inventory/firmware.service';
import type { User } from '../shared/access';
import type { ScheduleActivationInput } from './activation-inputs';

/*
 * Loading, locking and persisting activations for the use cases of this folder: the lifecycle
 * rules themselves are the domain's (src/domain/activation-lifecycle.ts).
 */

/** The activation a caller names (by ID or request ID), locked; NOT_FOUND unless it is theirs to change. */
export async function lockActivation(
  tx: EntityManager,
  user: User,
  ref: { id?: string | null; requestId?: string | null },
): Promise<FirmwareActivationEntity> {
  const qb = tx.getRepository(FirmwareActivationEntity).createQueryBuilder('a').setLock('pessimistic_write');
  let key: string;
  if (ref.id) {
    key = parseUuid(ref.id, 'activation', 'id');
    qb.where('a.id = :id', { id: key });
  } else if (ref.requestId) {
    key = parseRequestId(ref.requestId, 'requestId').requestId;
    qb.where('a.request_id = :rid', { rid: key });
  } else {
    throw new InvalidInputError('ACTIVATION_REQUIRED', 'give the activation id or requestId', 'id');
  }
  const activation = await qb.getOne();
  // Another supplier's activation is reported as not found: its existence is not theirs to learn.
  if (!activation || (user.role !== 'OPERATOR' && activation.supplierId !== user.supplierId)) {
    throw new NotFoundError('FirmwareActivation', key);
  }
  return activation;
}

/** Applies one lifecycle event and persists the new state with its re-computed window. */
export async function transition(
  tx: EntityManager,
  activation: FirmwareActivationEntity,
  event: ActivationEvent,
  now: Date,
  supersededBy: string | null = null,
): Promise<ActivationState> {
  const state = toState(activation);
  const next = applyActivationEvent(state, event);
  if (next === state) return state;
  const rule = activation.ruleId
    ? await tx.getRepository(AffectedFirmwareRuleEntity).findOneBy({ id: activation.ruleId })
    : null;
  const window = rule ? activationWindow(next, rule) : null;
  await tx.query(
    `UPDATE firmware_activation SET status = $2, actual_executed_at = $3, outcome_code = $4, resulting_firmware_version = $5,
       overridden_status = $6, status_changed_at = $7, outcome_received_at = CASE WHEN $4::text IS NULL THEN outcome_received_at ELSE $7 END,
       superseded_by = COALESCE($8, superseded_by), window_from = $9, window_to = $10, window_anchored_on_actual = $11
     WHERE id = $1`,
    [
      activation.id,
      next.status,
      next.actualExecutedAt,
      next.outcomeCode,
      next.resultingFirmwareVersion,
      next.overriddenStatus,
      now,
      supersededBy,
      window?.from ?? null,
      window?.to ?? null,
      window?.anchoredOnActual ?? false,
    ],
  );
  return next;
}

/** The firmware image an SR11.3 names (by ID or hash), checked against the ESME's model. */
export async function resolveImage(
  tx: EntityManager,
  device: DeviceEntity,
  input: ScheduleActivationInput,
): Promise<FirmwareImageEntity> {
  const repo = tx.getRepository(FirmwareImageEntity);
  if (input.imageId) {
    const image = await repo.findOneBy({ id: parseUuid(input.imageId, 'firmware image', 'imageId') });
    if (!image)
      throw new InvalidInputError('UNKNOWN_FIRMWARE_IMAGE', 'no firmware image has this id', 'imageId');
    if (image.manufacturer !== device.manufacturer || image.model !== device.model) {
      throw new InvalidInputError(
        'IMAGE_NOT_FOR_DEVICE',
        `image is for ${image.manufacturer}/${image.model}, not this ESME's model`,
        'imageId',
      );
    }
    if (input.imageHash && parseFirmwareHash(input.imageHash, 'imageHash') !== image.imageHash) {
      throw new InvalidInputError('IMAGE_HASH_MISMATCH', 'imageHash is not the hash of imageId', 'imageHash');
    }
    return image;
  }
  if (!input.imageHash)
    throw new InvalidInputError('IMAGE_REQUIRED', 'give imageId or imageHash', 'imageHash');
  const hash = parseFirmwareHash(input.imageHash, 'imageHash');
  const image =
    device.manufacturer && device.model
      ? await repo.findOneBy({ manufacturer: device.manufacturer, model: device.model, imageHash: hash })
      : null;
  if (!image) {
    throw new InvalidInputError(
      'UNKNOWN_FIRMWARE_IMAGE',
      "the hash matches no registered image for this ESME's manufacturer and model",
      'imageHash',
    );
  }
  return image;
}

/** The enabled rule (shadow or enforcing) that covers this activation, if any. */
export async function matchingRule(
  tx: EntityManager,
  device: DeviceEntity,
  image: FirmwareImageEntity,
  firmwareVersionBefore: string | null,
): Promise<AffectedFirmwareRuleEntity | null> {
  if (!device.manufacturer || !device.model) return null;
  const rules = await tx.getRepository(AffectedFirmwareRuleEntity).find({
    where: { deviceType: 'ESME', manufacturer: device.manufacturer, model: device.model, enabled: true },
    order: { id: 'ASC' },
  });
  return (
    rules.find((r) =>
      ruleCoversActivation(
        r,
        { targetFirmwareVersion: image.version, imageHash: image.imageHash },
        firmwareVersionBefore,
      ),
    ) ?? null
  );
}

/** A success moves the device's firmware history on (and its inventory, unless something newer is recorded). */
export async function moveFirmwareOn(
  tx: EntityManager,
  guid: string,
  version: string,
  at: Date,
): Promise<void> {
  await tx.query(
    `INSERT INTO device_firmware (device_guid, firmware_version, effective_from, source)
     VALUES ($1, $2, $3, 'ACTIVATION') ON CONFLICT (device_guid, effective_from) DO NOTHING`,
    [guid, version, at],
  );
  // The inventory follows only if nothing newer has been recorded since.
  await tx.query(
    `UPDATE device SET firmware_version = $2, updated_at = now()
      WHERE guid = $1 AND NOT EXISTS (SELECT 1 FROM device_firmware WHERE device_guid = $1 AND effective_from > $3)`,
    [guid, version, at],
  );
}

export function supersessionFacts(a: FirmwareActivationEntity): {
  status: ActivationStatus;
  submittedAt: Date;
  requestedAt: Date;
  originatorId?: string;
  counter?: string;
} {
  let parsed: DuisRequestId | null = null;
  try {
    parsed = parseRequestId(a.requestId);
  } catch {
    parsed = null;
  }
  return {
    status: a.status,
    submittedAt: a.submittedAt,
    requestedAt: a.requestedAt,
    originatorId: parsed?.originatorId,
    counter: parsed?.counter,
  };
}

export function toState(a: FirmwareActivationEntity): ActivationState {
  return {
    status: a.status,
    submittedAt: a.submittedAt,
    executeAt: a.executeAt,
    requestedAt: a.requestedAt,
    actualExecutedAt: a.actualExecutedAt,
    outcomeCode: a.outcomeCode,
    resultingFirmwareVersion: a.resultingFirmwareVersion,
    firmwareVersionBefore: a.firmwareVersionBefore,
    overriddenStatus: a.overriddenStatus,
  };
}
