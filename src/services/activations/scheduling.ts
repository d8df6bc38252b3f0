import type { EntityManager } from 'typeorm';
import {
  activationWindow,
  findSuperseded,
  newActivation,
  validateSchedule,
} from '../../domain/activation-lifecycle';
import type { ActivationState } from '../../domain/activation-lifecycle';
import { ConflictError, ForbiddenError, InvalidInputError, NotFoundError } from '../../domain/errors';
import {
  isCancellationSentinel,
  parseEui64,
  parseFirmwareHash,
  parseRequestId,
} from '../../domain/identifiers';
import { DeviceEntity, FirmwareActivationEntity } from '../../entities';
import type { AffectedFirmwareRuleEntity, FirmwareImageEntity } from '../../entities';
import { registeredSuppliersAt } from '../inventory/device.service';
import { parseUuid } from '../inventory/firmware.service';
import type { User } from '../shared/access';
import type { ScheduleActivationInput } from './activation-inputs';
import { matchingRule, resolveImage, supersessionFacts, transition } from './activation-store';

const INACTIVE_SMI = new Set(['Decommissioned', 'Withdrawn']);

/**
 * Schedules one SR11.3 (or cancels by the year-3000 date) inside the caller's transaction: the
 * request checked against its sender and target, a retry answered with what the first attempt
 * stored, the sender checked as the ESME's registered import supplier, then the activation
 * stored with its window, superseding older pending ones of the ESME.
 */
export async function scheduleIn(
  tx: EntityManager,
  user: User,
  input: ScheduleActivationInput,
  now: Date,
  campaignId: string | null,
  settings: { readonly horizonDays: number; readonly skewMinutes: number },
): Promise<FirmwareActivationEntity> {
  const { request, esmeGuid } = requestOf(user, input);
  if (input.executeAt && isCancellationSentinel(input.executeAt)) {
    return cancelBySentinel(tx, user, request.requestId, esmeGuid, now);
  }
  const device = await lockEsme(tx, esmeGuid);
  const existing = await earlierAttempt(tx, request.requestId, esmeGuid, input);
  if (existing) return existing;
  await requireRegisteredSupplier(tx, user, esmeGuid, now);
  const image = await resolveImage(tx, device, input);
  if (INACTIVE_SMI.has(device.smiStatus)) {
    throw new InvalidInputError('DEVICE_NOT_ACTIVE', `${esmeGuid} is ${device.smiStatus}`, 'esmeGuid');
  }
  const schedule = validateSchedule({
    submittedAt: now,
    executeAt: input.executeAt ?? null,
    now,
    settings: { horizonDays: settings.horizonDays, skewMinutes: settings.skewMinutes },
  });
  const state = newActivation(schedule, device.firmwareVersion);
  const pending = await tx
    .getRepository(FirmwareActivationEntity)
    .findBy({ deviceGuid: esmeGuid, status: 'SCHEDULED' });
  const { superseded, incomingIsStale } = findSuperseded(
    pending.map((a) => ({ ...supersessionFacts(a), activation: a })),
    {
      submittedAt: now,
      requestedAt: schedule.requestedAt,
      originatorId: request.originatorId,
      counter: request.counter,
    },
  );
  const rule = await matchingRule(tx, device, image, state.firmwareVersionBefore);
  const finalState: ActivationState = incomingIsStale ? { ...state, status: 'SUPERSEDED' } : state;
  const id = await insertActivation(tx, {
    requestId: request.requestId,
    supplierId: user.supplierId!,
    esmeGuid,
    image,
    state: finalState,
    rule,
    now,
    campaignId,
  });
  for (const { activation } of superseded) {
    await transition(tx, activation, { kind: 'SUPERSEDE' }, now, id);
  }
  return tx.getRepository(FirmwareActivationEntity).findOneByOrFail({ id });
}

/** The request ID and ESME of an SR11.3, checked against its sender (the originator) and target. */
function requestOf(
  user: User,
  input: ScheduleActivationInput,
): { request: ReturnType<typeof parseRequestId>; esmeGuid: string } {
  const request = parseRequestId(input.requestId, 'requestId');
  const esmeGuid = parseEui64(input.esmeGuid, 'esmeGuid');
  if (request.originatorId !== user.supplierId) {
    throw new ForbiddenError('the request ID names another supplier as its originator', {
      reason: 'NOT_YOUR_REQUEST_ID',
    });
  }
  if (request.targetId !== esmeGuid) {
    throw new InvalidInputError(
      'REQUEST_ID_TARGET_MISMATCH',
      'the request ID targets another device than esmeGuid',
      'requestId',
    );
  }
  return { request, esmeGuid };
}

/** The ESME, locked: scheduling is serialised per ESME (supersession needs a stable view). */
async function lockEsme(tx: EntityManager, esmeGuid: string): Promise<DeviceEntity> {
  const device = await tx
    .getRepository(DeviceEntity)
    .createQueryBuilder('d')
    .setLock('pessimistic_write')
    .where('d.guid = :guid', { guid: esmeGuid })
    .getOne();
  if (!device) throw new NotFoundError('Device', esmeGuid);
  if (device.deviceType !== 'ESME') {
    throw new InvalidInputError(
      'NOT_AN_ESME',
      `${esmeGuid} is a ${device.deviceType}; SR11.3 targets an ESME`,
      'esmeGuid',
    );
  }
  return device;
}

/** What an earlier attempt of this request stored: a retry gets it back; other details CONFLICT. */
async function earlierAttempt(
  tx: EntityManager,
  requestId: string,
  esmeGuid: string,
  input: ScheduleActivationInput,
): Promise<FirmwareActivationEntity | null> {
  const existing = await tx.getRepository(FirmwareActivationEntity).findOneBy({ requestId });
  if (!existing) return null;
  const sameImage = input.imageId
    ? existing.imageId === parseUuid(input.imageId, 'firmware image', 'imageId')
    : !!input.imageHash && existing.imageHash === parseFirmwareHash(input.imageHash, 'imageHash');
  const same =
    existing.deviceGuid === esmeGuid &&
    sameImage &&
    (existing.executeAt?.getTime() ?? null) === (input.executeAt?.getTime() ?? null);
  if (same) return existing;
  throw new ConflictError(
    'REQUEST_ID_REUSED',
    `request ${requestId} was already submitted with other details`,
  );
}

/**
 * In DUIS only the ESME's registered import supplier may send SR11.3 to it. (A retry of a request
 * accepted earlier stands even if the registration has changed since: checked before this.)
 */
async function requireRegisteredSupplier(
  tx: EntityManager,
  user: User,
  esmeGuid: string,
  now: Date,
): Promise<void> {
  const [registered] = await registeredSuppliersAt(tx, [esmeGuid], now);
  if (registered?.supplierId === user.supplierId) return;
  throw new ForbiddenError(
    registered
      ? `${esmeGuid} is registered to another import supplier`
      : `${esmeGuid} has no registered import supplier`,
    { reason: 'NOT_REGISTERED_SUPPLIER' },
  );
}

/** Stores a new activation with the window its rule gives it; returns its ID. */
async function insertActivation(
  tx: EntityManager,
  a: {
    requestId: string;
    supplierId: string;
    esmeGuid: string;
    image: FirmwareImageEntity;
    state: ActivationState;
    rule: AffectedFirmwareRuleEntity | null;
    now: Date;
    campaignId: string | null;
  },
): Promise<string> {
  const window = a.rule ? activationWindow(a.state, a.rule) : null;
  const [{ id }] = (await tx.query(
    `INSERT INTO firmware_activation (request_id, supplier_id, device_guid, image_id, image_hash, target_firmware_version,
       firmware_version_before, submitted_at, execute_at, requested_at, status, status_changed_at, rule_id, rule_version,
       window_from, window_to, window_anchored_on_actual, campaign_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $8, $12, $13, $14, $15, $16, $17) RETURNING id`,
    [
      a.requestId,
      a.supplierId,
      a.esmeGuid,
      a.image.id,
      a.image.imageHash,
      a.image.version,
      a.state.firmwareVersionBefore,
      a.now,
      a.state.executeAt,
      a.state.requestedAt,
      a.state.status,
      a.rule?.id ?? null,
      a.rule?.version ?? null,
      window?.from ?? null,
      window?.to ?? null,
      window?.anchoredOnActual ?? false,
      a.campaignId,
    ],
  )) as { id: string }[];
  return id;
}

/**
 * DUIS cancels a pending future-dated activation with an SR11.3 dated 3000-12-31. The cancel is
 * recorded under its request ID: a retry of it answers with the activation it cancelled, as
 * the first attempt did, rather than finding nothing left to cancel (or cancelling a newer one).
 */
export async function cancelBySentinel(
  tx: EntityManager,
  user: User,
  requestId: string,
  esmeGuid: string,
  now: Date,
): Promise<FirmwareActivationEntity> {
  const earlier = await earlierCancel(tx, user, requestId, esmeGuid);
  if (earlier) return earlier;
  const pending = await tx
    .getRepository(FirmwareActivationEntity)
    .createQueryBuilder('a')
    .setLock('pessimistic_write')
    .where("a.device_guid = :esmeGuid AND a.status = 'SCHEDULED' AND a.supplier_id = :supplier", {
      esmeGuid,
      supplier: user.supplierId,
    })
    .orderBy('a.requested_at', 'DESC')
    .getMany();
  if (pending.length === 0) {
    // A retry racing its first attempt waited for it on the lock above: look again.
    const retried = await earlierCancel(tx, user, requestId, esmeGuid);
    if (retried) return retried;
    throw new ConflictError(
      'NO_PENDING_ACTIVATION',
      `no pending activation of yours on ${esmeGuid} to cancel`,
    );
  }
  for (const activation of pending) await transition(tx, activation, { kind: 'CANCEL' }, now);
  await tx.query(
    `INSERT INTO activation_cancel_request (request_id, supplier_id, device_guid, activation_id, cancelled_at)
     VALUES ($1, $2, $3, $4, $5)`,
    [requestId, user.supplierId, esmeGuid, pending[0].id, now],
  );
  return tx.getRepository(FirmwareActivationEntity).findOneByOrFail({ id: pending[0].id });
}

/** The activation an earlier cancel under this request ID cancelled; CONFLICT if it named another ESME. */
export async function earlierCancel(
  tx: EntityManager,
  user: User,
  requestId: string,
  esmeGuid: string,
): Promise<FirmwareActivationEntity | null> {
  const [earlier] = (await tx.query(
    'SELECT supplier_id, device_guid, activation_id FROM activation_cancel_request WHERE request_id = $1',
    [requestId],
  )) as { supplier_id: string; device_guid: string; activation_id: string }[];
  if (!earlier) return null;
  if (earlier.supplier_id !== user.supplierId || earlier.device_guid !== esmeGuid) {
    throw new ConflictError(
      'REQUEST_ID_REUSED',
      `request ${requestId} was already submitted with other details`,
    );
  }
  return tx.getRepository(FirmwareActivationEntity).findOneByOrFail({ id: earlier.activation_id });
}
