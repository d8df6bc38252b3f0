import type { DataSource } from 'typeorm';
import type { Principal } from '../../auth/principal';
import { parseEui64, parseManufacturerId, parseModelId } from '../../domain/identifiers';
import { CommsHubLinkEntity, DeviceEntity, DeviceFirmwareEntity } from '../../entities';
import { deviceReadScope, inScope } from '../shared/access';
import type { DeviceScope } from '../shared/access';
import { CURSOR_PART, keysetPage } from '../shared/pagination';
import type { Page, SortDirection } from '../shared/pagination';
import type { DeviceFilter } from './device-inputs';

/** Reading the inventory: devices by GUID or filter, and the batches the loaders ask for. */
export class DeviceReads {
  constructor(private readonly dataSource: DataSource) {}

  /** One device, or null when it does not exist or lies outside the caller's scope. */
  async device(principal: Principal, guidInput: string): Promise<DeviceEntity | null> {
    const scope = deviceReadScope(principal);
    const guid = parseEui64(guidInput, 'guid');
    const device = await this.dataSource.getRepository(DeviceEntity).findOneBy({ guid });
    return device && inScope(scope, device.distributorId) ? device : null;
  }

  /** Devices matching the filter in the caller's scope, ordered by GUID. */
  async devices(
    principal: Principal,
    filter: DeviceFilter,
    first?: number | null,
    after?: string | null,
    direction: SortDirection = 'ASC',
  ): Promise<Page<DeviceEntity>> {
    const scope = deviceReadScope(principal);
    const qb = this.dataSource.getRepository(DeviceEntity).createQueryBuilder('d');
    applyScope(qb, scope);
    if (filter.deviceType) qb.andWhere('d.device_type = :deviceType', { deviceType: filter.deviceType });
    if (filter.manufacturer)
      qb.andWhere('d.manufacturer = :m', {
        m: parseManufacturerId(filter.manufacturer, 'filter.manufacturer'),
      });
    if (filter.model) qb.andWhere('d.model = :model', { model: parseModelId(filter.model, 'filter.model') });
    if (filter.firmwareVersion) qb.andWhere('d.firmware_version = :fw', { fw: filter.firmwareVersion });
    if (filter.distributorId) qb.andWhere('d.distributor_id = :dist', { dist: filter.distributorId });
    if (filter.areaKey) qb.andWhere('d.area_key = :area', { area: filter.areaKey });
    if (filter.smiStatus) qb.andWhere('d.smi_status = :smi', { smi: filter.smiStatus });
    return keysetPage(qb, {
      keys: [{ sql: 'd.guid', shape: CURSOR_PART.eui64 }],
      direction,
      defaultDirection: 'ASC',
      first,
      after,
      cursorOf: (d) => [d.guid],
    });
  }

  /** Batch lookups for DataLoaders (no scope check: callers reach these through a checked parent). */
  async byGuids(guids: readonly string[]): Promise<(DeviceEntity | undefined)[]> {
    const rows = await this.dataSource
      .getRepository(DeviceEntity)
      .createQueryBuilder('d')
      .where('d.guid = ANY(:guids)', { guids: [...guids] })
      .getMany();
    const byGuid = new Map(rows.map((r) => [r.guid, r]));
    return guids.map((g) => byGuid.get(g));
  }

  async firmwareHistories(guids: readonly string[]): Promise<DeviceFirmwareEntity[][]> {
    const rows = await this.dataSource
      .getRepository(DeviceFirmwareEntity)
      .createQueryBuilder('f')
      .where('f.device_guid = ANY(:guids)', { guids: [...guids] })
      .orderBy('f.effective_from', 'ASC')
      .getMany();
    return guids.map((g) => rows.filter((r) => r.deviceGuid === g));
  }

  /** Links of each device (as hub or as meter), newest first. */
  async linksOf(guids: readonly string[]): Promise<CommsHubLinkEntity[][]> {
    const rows = await this.dataSource
      .getRepository(CommsHubLinkEntity)
      .createQueryBuilder('l')
      .where('l.comms_hub_guid = ANY(:guids) OR l.esme_guid = ANY(:guids)', { guids: [...guids] })
      .orderBy('l.effective_from', 'DESC')
      .getMany();
    return guids.map((g) => rows.filter((r) => r.commsHubGuid === g || r.esmeGuid === g));
  }
}

function applyScope(qb: { andWhere: (sql: string, params: object) => unknown }, scope: DeviceScope): void {
  if (!scope.all) qb.andWhere('d.distributor_id = ANY(:dists)', { dists: [...scope.distributorIds] });
}
