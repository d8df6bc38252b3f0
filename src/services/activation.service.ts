import type { DataSource, EntityManager } from 'typeorm';
import type { Principal } from '../auth/principal';
import type { Clock } from '../clock';
import {
  activationWindow,
  applyActivationEvent,
  findSuperseded,
  newActivation,
  validateSchedule,
} from '../domain/activation-lifecycle';
import type { ActivationEvent, ActivationState } from '../domain/activation-lifecycle';
import { planActivationCampaign } from '../domain/campaign';
import { ruleCoversActivation } from '../domain/engine';
import { ConflictError, ForbiddenError, InvalidInputError, NotFoundError } from '../domain/errors';
import {
  isCancellationSentinel,
  parseEui64,
  parseFirmwareHash,
  parseFirmwareVersion,
  parseRequestId,
} from '../domain/identifiers';
import type { DuisRequestId } from '../domain/identifiers';
import { ACTIVATION_OUTCOME_CODES, ACTIVATION_STATUSES } from '../domain/model';
import type { ActivationOutcomeCode, ActivationStatus } from '../domain/model';
import {
  AffectedFirmwareRuleEntity,
  DeviceEntity,
  FirmwareActivationEntity,
  FirmwareImageEntity,
} from '../entities';
import { returnedRows } from '../db/rows';
import { mayReadActivation, mayReadDevice, requireRole, requireUser } from './access';
import type { User } from './access';
import type { DecisionService } from './decision.service';
import type { DeliveryService } from './delivery.service';
import { withheldNear } from './ingest.service';
import { registeredSuppliersAt } from './device.service';
import { parseUuid } from './firmware.service';
import { CURSOR_PART, decodeCursor, pageSize, toPage } from './pagination';
import type { Page } from './pagination';

export interface ActivationSettings {
  readonly horizonDays: number;
  readonly skewMinutes: number;
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

const INACTIVE_SMI = new Set(['Decommissioned', 'Withdrawn']);

/**
 * SR11.3 Activate Firmware requests: scheduling (immediate, future-dated, campaigns),
 * cancellation (directly or by the DUIS year-3000 date), outcomes, and the suppression window
 * each one implies. The lifecycle rules live in the domain; this layer loads, locks and persists.
 */
export class ActivationService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly settings: ActivationSettings,
    private readonly decisions: DecisionService,
    private readonly delivery: DeliveryService,
  ) {}

  async schedule(principal: Principal, input: ScheduleActivationInput): Promise<FirmwareActivationEntity> {
    const user = requireRole(principal, 'IS', 'GS');
    const now = this.clock.now();
    return this.withDecisions(async (tx, touched) => {
      const activation = await this.scheduleIn(tx, user, input, now, null);
      // A cancellation or supersession takes a window away from AD1s that may be waiting on it.
      touched.push({ device: activation.deviceGuid, at: activation.requestedAt });
      return activation;
    });
  }

  /**
   * Runs a change in a transaction, then re-decides the withheld AD1s near the touched
   * activations in the same transaction, and reports the decision changes after commit.
   */
  private async withDecisions<T>(
    work: (tx: EntityManager, touched: { device: string; at: Date }[]) => Promise<T>,
  ): Promise<T> {
    const now = this.clock.now();
    const { result, enqueued } = await this.dataSource.transaction(async (tx) => {
      const touched: { device: string; at: Date }[] = [];
      const result = await work(tx, touched);
      const ids = touched.length ? (await withheldNear(tx, touched)).map((r) => r.id) : [];
      const changes = await this.decisions.evaluateOutageAlerts(tx, ids, now, 'EVIDENCE');
      return { result, enqueued: await this.delivery.enqueue(tx, changes) };
    });
    this.delivery.published(enqueued);
    return result;
  }

  /**
   * Plans a campaign (at most maxPerAreaPerHour activations per area key per hour) and schedules
   * every activation in one transaction: all or nothing.
   */
  async scheduleCampaign(
    principal: Principal,
    input: CampaignInput,
  ): Promise<{ campaignId: string; activations: FirmwareActivationEntity[] }> {
    const user = requireRole(principal, 'IS', 'GS');
    if (input.esmeGuids.length === 0 || input.esmeGuids.length > this.settings.maxCampaignSize) {
      throw new InvalidInputError(
        input.esmeGuids.length === 0 ? 'EMPTY_BATCH' : 'BATCH_TOO_LARGE',
        `a campaign takes 1-${this.settings.maxCampaignSize} ESMEs`,
        'esmeGuids',
        { limit: this.settings.maxCampaignSize },
      );
    }
    if (!/^(0|[1-9][0-9]{0,19})$/.test(input.firstCounter)) {
      throw new InvalidInputError(
        'INVALID_REQUEST_ID',
        'firstCounter must be a uint64 in decimal',
        'firstCounter',
      );
    }
    const guids = input.esmeGuids.map((g, i) => parseEui64(g, `esmeGuids[${i}]`));
    const now = this.clock.now();
    return this.withDecisions(async (tx, touched) => {
      const devices = await tx
        .getRepository(DeviceEntity)
        .createQueryBuilder('d')
        .where('d.guid = ANY(:guids)', { guids })
        .getMany();
      const areaOf = new Map(devices.map((d) => [d.guid, d.areaKey ?? `device:${d.guid}`]));
      const missing = guids.find((g) => !areaOf.has(g));
      if (missing) throw new NotFoundError('Device', missing);
      const plan = planActivationCampaign({
        esmes: guids.map((guid) => ({ guid, areaKey: areaOf.get(guid)! })),
        from: input.from,
        to: input.to,
        maxPerAreaPerHour: input.maxPerAreaPerHour,
        now,
      });
      const [{ id: campaignId }] = (await tx.query('SELECT gen_random_uuid() AS id')) as { id: string }[];
      const activations: FirmwareActivationEntity[] = [];
      let counter = BigInt(input.firstCounter);
      for (const slot of [...plan].sort(
        (a, b) => a.executeAt.getTime() - b.executeAt.getTime() || a.guid.localeCompare(b.guid),
      )) {
        const requestId = `${user.supplierId}:${slot.guid}:${counter}`;
        counter += 1n;
        activations.push(
          await this.scheduleIn(
            tx,
            user,
            {
              requestId,
              esmeGuid: slot.guid,
              imageId: input.imageId,
              imageHash: input.imageHash,
              executeAt: slot.executeAt,
            },
            now,
            campaignId,
          ),
        );
      }
      touched.push(...activations.map((a) => ({ device: a.deviceGuid, at: a.requestedAt })));
      return { campaignId, activations };
    });
  }

  private async scheduleIn(
    tx: EntityManager,
    user: User,
    input: ScheduleActivationInput,
    now: Date,
    campaignId: string | null,
  ): Promise<FirmwareActivationEntity> {
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
    if (input.executeAt && isCancellationSentinel(input.executeAt)) {
      return this.cancelBySentinel(tx, user, request.requestId, esmeGuid, now);
    }

    const device = await tx
      .getRepository(DeviceEntity)
      .createQueryBuilder('d')
      .setLock('pessimistic_write') // serialises scheduling per ESME (supersession needs a stable view)
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
    const existing = await tx
      .getRepository(FirmwareActivationEntity)
      .findOneBy({ requestId: request.requestId });
    if (existing) {
      const sameImage = input.imageId
        ? existing.imageId === parseUuid(input.imageId, 'firmware image', 'imageId')
        : !!input.imageHash && existing.imageHash === parseFirmwareHash(input.imageHash, 'imageHash');
      const same =
        existing.deviceGuid === esmeGuid &&
        sameImage &&
        (existing.executeAt?.getTime() ?? null) === (input.executeAt?.getTime() ?? null);
      // A retry of the same request returns what the first attempt stored.
      if (same) return existing;
      throw new ConflictError(
        'REQUEST_ID_REUSED',
        `request ${request.requestId} was already submitted with other details`,
      );
    }
    // In DUIS only the ESME's registered import supplier may send SR11.3 to it. A retry of a
    // request accepted earlier (above) stands even if the registration has changed since.
    const [registered] = await registeredSuppliersAt(tx, [esmeGuid], now);
    if (registered?.supplierId !== user.supplierId) {
      throw new ForbiddenError(
        registered
          ? `${esmeGuid} is registered to another import supplier`
          : `${esmeGuid} has no registered import supplier`,
        { reason: 'NOT_REGISTERED_SUPPLIER' },
      );
    }
    const image = await this.resolveImage(tx, device, input);
    if (INACTIVE_SMI.has(device.smiStatus)) {
      throw new InvalidInputError('DEVICE_NOT_ACTIVE', `${esmeGuid} is ${device.smiStatus}`, 'esmeGuid');
    }

    const schedule = validateSchedule({
      submittedAt: now,
      executeAt: input.executeAt ?? null,
      now,
      settings: { horizonDays: this.settings.horizonDays, skewMinutes: this.settings.skewMinutes },
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
    const rule = await this.matchingRule(tx, device, image, state.firmwareVersionBefore);
    const finalState: ActivationState = incomingIsStale ? { ...state, status: 'SUPERSEDED' } : state;
    const window = rule ? activationWindow(finalState, rule) : null;

    const [{ id }] = (await tx.query(
      `INSERT INTO firmware_activation (request_id, supplier_id, device_guid, image_id, image_hash, target_firmware_version,
         firmware_version_before, submitted_at, execute_at, requested_at, status, status_changed_at, rule_id, rule_version,
         window_from, window_to, window_anchored_on_actual, campaign_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $8, $12, $13, $14, $15, $16, $17) RETURNING id`,
      [
        request.requestId,
        user.supplierId,
        esmeGuid,
        image.id,
        image.imageHash,
        image.version,
        finalState.firmwareVersionBefore,
        now,
        finalState.executeAt,
        finalState.requestedAt,
        finalState.status,
        rule?.id ?? null,
        rule?.version ?? null,
        window?.from ?? null,
        window?.to ?? null,
        window?.anchoredOnActual ?? false,
        campaignId,
      ],
    )) as { id: string }[];
    for (const { activation } of superseded) {
      await this.transition(tx, activation, { kind: 'SUPERSEDE' }, now, id);
    }
    return tx.getRepository(FirmwareActivationEntity).findOneByOrFail({ id });
  }

  /**
   * DUIS cancels a pending future-dated activation with an SR11.3 dated 3000-12-31. The cancel is
   * recorded under its request ID: a retry of it answers with the activation it cancelled, as
   * the first attempt did, rather than finding nothing left to cancel (or cancelling a newer one).
   */
  private async cancelBySentinel(
    tx: EntityManager,
    user: User,
    requestId: string,
    esmeGuid: string,
    now: Date,
  ): Promise<FirmwareActivationEntity> {
    const earlier = await this.earlierCancel(tx, user, requestId, esmeGuid);
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
      const retried = await this.earlierCancel(tx, user, requestId, esmeGuid);
      if (retried) return retried;
      throw new ConflictError(
        'NO_PENDING_ACTIVATION',
        `no pending activation of yours on ${esmeGuid} to cancel`,
      );
    }
    for (const activation of pending) await this.transition(tx, activation, { kind: 'CANCEL' }, now);
    await tx.query(
      `INSERT INTO activation_cancel_request (request_id, supplier_id, device_guid, activation_id, cancelled_at)
       VALUES ($1, $2, $3, $4, $5)`,
      [requestId, user.supplierId, esmeGuid, pending[0].id, now],
    );
    return tx.getRepository(FirmwareActivationEntity).findOneByOrFail({ id: pending[0].id });
  }

  /** The activation an earlier cancel under this request ID cancelled; CONFLICT if it named another ESME. */
  private async earlierCancel(
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

  async cancel(
    principal: Principal,
    ref: { id?: string | null; requestId?: string | null },
  ): Promise<FirmwareActivationEntity> {
    const user = requireRole(principal, 'IS', 'GS', 'OPERATOR');
    const now = this.clock.now();
    return this.withDecisions(async (tx, touched) => {
      const activation = await this.lockActivation(tx, user, ref);
      await this.transition(tx, activation, { kind: 'CANCEL' }, now);
      touched.push({ device: activation.deviceGuid, at: activation.requestedAt });
      return tx.getRepository(FirmwareActivationEntity).findOneByOrFail({ id: activation.id });
    });
  }

  async recordOutcome(
    principal: Principal,
    input: ActivationOutcomeInput,
  ): Promise<FirmwareActivationEntity> {
    const user = requireRole(principal, 'IS', 'GS', 'OPERATOR');
    const now = this.clock.now();
    return this.withDecisions(async (tx, touched) => {
      const activation = await this.recordOutcomeIn(tx, user, input, now);
      touched.push({
        device: activation.deviceGuid,
        at: activation.actualExecutedAt ?? activation.requestedAt,
      });
      return activation;
    });
  }

  /**
   * The outcome, inside the caller's transaction (ingestAlerts applies 0x8F66/0x8F67 here and
   * re-decides the affected AD1s itself). The status follows the outcome, the window re-anchors
   * on the actual execution time, and a success moves the device's firmware history on.
   */
  async recordOutcomeIn(
    tx: EntityManager,
    user: User,
    input: ActivationOutcomeInput,
    now: Date,
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
    const activation = await this.lockActivation(tx, user, { requestId: input.requestId });
    // An execution before we had the request (less the clock skew allowed) or in the future is
    // not a fact about this request: it would move the window anywhere.
    const executedAt = input.executedAt;
    if (executedAt instanceof Date && !Number.isNaN(executedAt.getTime())) {
      // At least a minute: DUIS times are whole seconds, and clocks are never quite together.
      const skewMs = Math.max(this.settings.skewMinutes, 1) * 60_000;
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
    const next = await this.transition(tx, activation, event, now);
    if (next.status === 'SUCCEEDED' && next.resultingFirmwareVersion && next.actualExecutedAt) {
      await this.moveFirmwareOn(
        tx,
        activation.deviceGuid,
        next.resultingFirmwareVersion,
        next.actualExecutedAt,
      );
    }
    return tx.getRepository(FirmwareActivationEntity).findOneByOrFail({ id: activation.id });
  }

  /**
   * A Communications Hub's own firmware activation (DCC alert CommsHubFirmwareActivation): an
   * executed activation of the CH, which opens a window where the CH model matches a CHF rule.
   * Idempotent on (CH, activation time).
   */
  async recordCommsHubActivationIn(
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
    await this.moveFirmwareOn(tx, ch.guid, input.firmwareVersion, input.activatedAt);
    return tx.getRepository(FirmwareActivationEntity).findOneByOrFail({ id });
  }

  private async moveFirmwareOn(tx: EntityManager, guid: string, version: string, at: Date): Promise<void> {
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

  /** Marks SCHEDULED activations whose outcome is overdue as OUTCOME_UNKNOWN. Safe to run on every instance. */
  async expireOverdueOutcomes(): Promise<number> {
    const now = this.clock.now();
    const cutoff = new Date(now.getTime() - this.settings.outcomeBoundMinutes * 60_000);
    return returnedRows(
      await this.dataSource.query(
        `UPDATE firmware_activation SET status = 'OUTCOME_UNKNOWN', status_changed_at = $2,
                window_from = NULL, window_to = NULL, window_anchored_on_actual = false
          WHERE status = 'SCHEDULED' AND requested_at < $1 RETURNING id`,
        [cutoff, now],
      ),
    ).length;
  }

  async list(
    principal: Principal,
    filter: ActivationFilter,
    first?: number | null,
    after?: string | null,
  ): Promise<Page<FirmwareActivationEntity>> {
    const user = requireUser(principal);
    const limit = pageSize(first);
    const cursor = decodeCursor(after, 2, [CURSOR_PART.instant, CURSOR_PART.uuid]);
    const qb = this.dataSource
      .getRepository(FirmwareActivationEntity)
      .createQueryBuilder('a')
      .orderBy('a.submitted_at', 'DESC')
      .addOrderBy('a.id', 'DESC')
      .take(limit + 1);
    if (user.role === 'IS' || user.role === 'GS')
      qb.andWhere('a.supplier_id = :own', { own: user.supplierId });
    if (user.role === 'ED') {
      qb.andWhere('a.device_guid IN (SELECT guid FROM device WHERE distributor_id = ANY(:dists))', {
        dists: [...user.distributorIds],
      });
    }
    if (cursor)
      qb.andWhere('(a.submitted_at, a.id) < (:at::timestamptz, :id::uuid)', { at: cursor[0], id: cursor[1] });
    if (filter.status) {
      if (!(ACTIVATION_STATUSES as readonly string[]).includes(filter.status)) {
        throw new InvalidInputError('INVALID_STATUS', 'unknown activation status', 'filter.status');
      }
      qb.andWhere('a.status = :status', { status: filter.status });
    }
    if (filter.deviceGuid)
      qb.andWhere('a.device_guid = :device', { device: parseEui64(filter.deviceGuid, 'filter.deviceGuid') });
    if (filter.supplierId)
      qb.andWhere('a.supplier_id = :supplier', {
        supplier: parseEui64(filter.supplierId, 'filter.supplierId'),
      });
    if (filter.campaignId)
      qb.andWhere('a.campaign_id = :campaign', {
        campaign: parseUuid(filter.campaignId, 'campaign', 'filter.campaignId'),
      });
    return toPage(await qb.getMany(), limit, (a) => [a.submittedAt.toISOString(), a.id]);
  }

  /** One activation the caller may see, or null. */
  async byId(principal: Principal, id: string): Promise<FirmwareActivationEntity | null> {
    const user = requireUser(principal);
    const activation = await this.dataSource
      .getRepository(FirmwareActivationEntity)
      .findOneBy({ id: parseUuid(id, 'activation', 'id') });
    if (!activation || !(await this.mayRead(user, activation))) return null;
    return activation;
  }

  /** Activations of each device, newest first (for loaders under an already-checked parent). */
  async ofDevices(guids: readonly string[]): Promise<FirmwareActivationEntity[][]> {
    const rows = await this.dataSource
      .getRepository(FirmwareActivationEntity)
      .createQueryBuilder('a')
      .where('a.device_guid = ANY(:guids)', { guids: [...guids] })
      .orderBy('a.requested_at', 'DESC')
      .getMany();
    return guids.map((g) => rows.filter((r) => r.deviceGuid === g));
  }

  /** Whether each device is the target of at least one activation of this supplier. */
  async targetedBy(supplierId: string, guids: readonly string[]): Promise<boolean[]> {
    const rows = (await this.dataSource.query(
      'SELECT DISTINCT device_guid AS guid FROM firmware_activation WHERE supplier_id = $1 AND device_guid = ANY($2)',
      [supplierId, [...guids]],
    )) as { guid: string }[];
    const targeted = new Set(rows.map((r) => r.guid));
    return guids.map((g) => targeted.has(g));
  }

  async rulesByIds(ids: readonly string[]): Promise<(AffectedFirmwareRuleEntity | undefined)[]> {
    const rows = await this.dataSource
      .getRepository(AffectedFirmwareRuleEntity)
      .createQueryBuilder('r')
      .where('r.id = ANY(:ids::uuid[])', { ids: [...ids] })
      .getMany();
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => byId.get(id));
  }

  private async mayRead(user: User, activation: FirmwareActivationEntity): Promise<boolean> {
    if (user.role !== 'ED') return mayReadActivation(user, activation, false);
    const device = await this.dataSource
      .getRepository(DeviceEntity)
      .findOneBy({ guid: activation.deviceGuid });
    return mayReadActivation(user, activation, device !== null && mayReadDevice(user, device));
  }

  private async lockActivation(
    tx: EntityManager,
    user: User,
    ref: { id?: string | null; requestId?: string | null },
  ): Promise<FirmwareActivationEntity> {
    const qb = tx
      .getRepository(FirmwareActivationEntity)
      .createQueryBuilder('a')
      .setLock('pessimistic_write');
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
  private async transition(
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

  private async resolveImage(
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
        throw new InvalidInputError(
          'IMAGE_HASH_MISMATCH',
          'imageHash is not the hash of imageId',
          'imageHash',
        );
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
  private async matchingRule(
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
}

function supersessionFacts(a: FirmwareActivationEntity): {
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

function toState(a: FirmwareActivationEntity): ActivationState {
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
