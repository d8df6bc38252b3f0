import type { DataSource, EntityManager } from 'typeorm';
import type { Principal } from '../../auth/principal';
import type { Clock } from '../../clock';
import { planActivationCampaign } from '../../domain/campaign';
import { InvalidInputError, NotFoundError } from '../../domain/errors';
import { parseEui64 } from '../../domain/identifiers';
import type { ActivationOutcomeClaimEntity, AffectedFirmwareRuleEntity } from '../../entities';
import { DeviceEntity, FirmwareActivationEntity } from '../../entities';
import { returnedRows } from '../../db/rows';
import type { DecisionService } from '../alerts/decision.service';
import type { DeliveryService } from '../delivery/delivery.service';
import { requireRole } from '../shared/access';
import type { User } from '../shared/access';
import type { Page, SortDirection } from '../shared/pagination';
import type {
  ActivationFilter,
  ActivationOutcomeInput,
  ActivationSettings,
  CampaignInput,
  ScheduleActivationInput,
} from './activation-inputs';
import { ActivationReads } from './activation-reads';
import { lockActivation, transition } from './activation-store';
import { applyOutcomeIn, recordClaimIn, recordCommsHubActivationIn, recordOutcomeIn } from './outcomes';
import type { OutcomeResult } from './outcomes';
import { scheduleIn } from './scheduling';

export type {
  ActivationFilter,
  ActivationOutcomeInput,
  ActivationSettings,
  CampaignInput,
  ScheduleActivationInput,
} from './activation-inputs';

/**
 * SR11.3 Activate Firmware requests: scheduling (immediate, future-dated, campaigns),
 * cancellation (directly or by the DUIS year-3000 date), outcomes, and the suppression window
 * each one implies. The lifecycle rules live in the domain; this layer loads, locks and persists.
 */
export class ActivationService {
  private readonly reads: ActivationReads;

  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly settings: ActivationSettings,
    private readonly decisions: DecisionService,
    private readonly delivery: DeliveryService,
  ) {
    this.reads = new ActivationReads(dataSource);
  }

  async schedule(principal: Principal, input: ScheduleActivationInput): Promise<FirmwareActivationEntity> {
    const user = requireRole(principal, 'IS', 'GS');
    const now = this.clock.now();
    return this.withDecisions(async (tx, touched) => {
      const activation = await scheduleIn(tx, user, input, now, null, this.settings);
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
      const ids = await this.decisions.alertsOpenNear(tx, touched, now);
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
          await scheduleIn(
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
            this.settings,
          ),
        );
      }
      touched.push(...activations.map((a) => ({ device: a.deviceGuid, at: a.requestedAt })));
      return { campaignId, activations };
    });
  }

  async cancel(
    principal: Principal,
    ref: { id?: string | null; requestId?: string | null },
  ): Promise<FirmwareActivationEntity> {
    const user = requireRole(principal, 'IS', 'GS', 'OPERATOR');
    const now = this.clock.now();
    return this.withDecisions(async (tx, touched) => {
      const activation = await lockActivation(tx, user, ref);
      await transition(tx, activation, { kind: 'CANCEL' }, now);
      touched.push({ device: activation.deviceGuid, at: activation.requestedAt });
      return tx.getRepository(FirmwareActivationEntity).findOneByOrFail({ id: activation.id });
    });
  }

  /**
   * An outcome through recordActivationOutcome. An operator's is DCC's evidence (as ingestAlerts
   * applies it): the activation moves and the AD1s near it are decided again. A supplier's is its
   * claim: kept beside the activation, which does not move, so nothing is decided again.
   */
  async recordOutcome(
    principal: Principal,
    input: ActivationOutcomeInput,
  ): Promise<FirmwareActivationEntity> {
    const user = requireRole(principal, 'IS', 'GS', 'OPERATOR');
    const now = this.clock.now();
    if (user.role !== 'OPERATOR') {
      return this.dataSource.transaction((tx) =>
        recordClaimIn(tx, user, input, now, this.settings.deviceTimeMinutes),
      );
    }
    return this.withDecisions(async (tx, touched) => {
      const activation = await recordOutcomeIn(tx, user, input, now, this.settings.deviceTimeMinutes);
      touched.push({
        device: activation.deviceGuid,
        at: activation.actualExecutedAt ?? activation.requestedAt,
      });
      return activation;
    });
  }

  /**
   * DCC's outcome, inside the caller's transaction (ingestAlerts applies 0x8F66/0x8F67 here and
   * re-decides the affected AD1s itself); a refusal is returned, nothing written: see outcomes.ts.
   */
  applyOutcomeIn(
    tx: EntityManager,
    user: User,
    input: ActivationOutcomeInput,
    now: Date,
  ): Promise<OutcomeResult> {
    return applyOutcomeIn(tx, user, input, now, this.settings.deviceTimeMinutes);
  }

  /** The claims suppliers made about each activation, oldest first (for loaders under a checked parent). */
  claimsOf(activationIds: readonly string[]): Promise<ActivationOutcomeClaimEntity[][]> {
    return this.reads.claimsOf(activationIds);
  }

  /** A Communications Hub's own firmware activation, inside the caller's transaction (outcomes.ts). */
  recordCommsHubActivationIn(
    tx: EntityManager,
    input: { commsHubGuid: string; firmwareVersion: string; activatedAt: Date },
    now: Date,
  ): Promise<FirmwareActivationEntity | null> {
    return recordCommsHubActivationIn(tx, input, now);
  }

  list(
    principal: Principal,
    filter: ActivationFilter,
    first?: number | null,
    after?: string | null,
    direction?: SortDirection,
  ): Promise<Page<FirmwareActivationEntity>> {
    return this.reads.list(principal, filter, first, after, direction);
  }

  /** One activation the caller may see, or null. */
  byId(principal: Principal, id: string): Promise<FirmwareActivationEntity | null> {
    return this.reads.byId(principal, id);
  }

  /** Activations of each device, newest first (for loaders under an already-checked parent). */
  ofDevices(guids: readonly string[]): Promise<FirmwareActivationEntity[][]> {
    return this.reads.ofDevices(guids);
  }

  /** Whether each device is the target of at least one activation of this supplier. */
  targetedBy(supplierId: string, guids: readonly string[]): Promise<boolean[]> {
    return this.reads.targetedBy(supplierId, guids);
  }

  rulesByIds(ids: readonly string[]): Promise<(AffectedFirmwareRuleEntity | undefined)[]> {
    return this.reads.rulesByIds(ids);
  }

  /**
   * Marks SCHEDULED activations whose outcome is overdue as OUTCOME_UNKNOWN. Safe to run on every
   * instance. Rows another transaction holds (an outcome or an ingest deciding near them) are
   * skipped, not waited for: the next pass takes them, and a sweep never queues behind a slow
   * transaction with a pool connection in hand.
   */
  async expireOverdueOutcomes(): Promise<number> {
    const now = this.clock.now();
    const cutoff = new Date(now.getTime() - this.settings.outcomeBoundMinutes * 60_000);
    return returnedRows(
      await this.dataSource.query(
        `UPDATE firmware_activation SET status = 'OUTCOME_UNKNOWN', status_changed_at = $2,
                window_from = NULL, window_to = NULL, window_anchored_on_actual = false
          WHERE id IN (SELECT id FROM firmware_activation
                        WHERE status = 'SCHEDULED' AND requested_at < $1
                          FOR UPDATE SKIP LOCKED)
          RETURNING id`,
        [cutoff, now],
      ),
    ).length;
  }
}
