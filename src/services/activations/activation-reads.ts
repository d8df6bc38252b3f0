import type { DataSource } from 'typeorm';
import type { Principal } from '../../auth/principal';
import { InvalidInputError } from '../../domain/errors';
import { parseEui64 } from '../../domain/identifiers';
import { ACTIVATION_STATUSES } from '../../domain/model';
import {
  ActivationOutcomeClaimEntity,
  AffectedFirmwareRuleEntity,
  DeviceEntity,
  FirmwareActivationEntity,
} from '../../entities';
import { parseUuid } from '../inventory/firmware.service';
import { mayReadActivation, mayReadDevice, requireUser } from '../shared/access';
import type { User } from '../shared/access';
import { CURSOR_PART, keysetPage } from '../shared/pagination';
import type { Page, SortDirection } from '../shared/pagination';
import type { ActivationFilter } from './activation-inputs';

/** Reading activations: pages, one by ID, and the batches the loaders ask for. */
export class ActivationReads {
  constructor(private readonly dataSource: DataSource) {}

  async list(
    principal: Principal,
    filter: ActivationFilter,
    first?: number | null,
    after?: string | null,
    direction: SortDirection = 'DESC',
  ): Promise<Page<FirmwareActivationEntity>> {
    const user = requireUser(principal);
    const qb = this.dataSource.getRepository(FirmwareActivationEntity).createQueryBuilder('a');
    if (user.role === 'IS' || user.role === 'GS')
      qb.andWhere('a.supplier_id = :own', { own: user.supplierId });
    if (user.role === 'ED') {
      qb.andWhere('a.device_guid IN (SELECT guid FROM device WHERE distributor_id = ANY(:dists))', {
        dists: [...user.distributorIds],
      });
    }
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
    return keysetPage(qb, {
      keys: [
        { sql: 'a.submitted_at', cast: 'timestamptz', shape: CURSOR_PART.instant },
        { sql: 'a.id', cast: 'uuid', shape: CURSOR_PART.uuid },
      ],
      direction,
      defaultDirection: 'DESC',
      first,
      after,
      cursorOf: (a) => [a.submittedAt.toISOString(), a.id],
    });
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

  /** The claims suppliers made about each activation, oldest first. */
  async claimsOf(activationIds: readonly string[]): Promise<ActivationOutcomeClaimEntity[][]> {
    const rows = await this.dataSource
      .getRepository(ActivationOutcomeClaimEntity)
      .createQueryBuilder('c')
      .where('c.activation_id = ANY(:ids::uuid[])', { ids: [...activationIds] })
      .orderBy('c.received_at', 'ASC')
      .addOrderBy('c.id', 'ASC')
      .getMany();
    return activationIds.map((id) => rows.filter((r) => r.activationId === id));
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
}
