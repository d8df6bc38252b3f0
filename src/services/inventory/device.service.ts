import type { DataSource } from 'typeorm';
import type { Principal } from '../../auth/principal';
import type { Clock } from '../../clock';
import { parseEui64 } from '../../domain/identifiers';
import type { CommsHubLinkEntity, DeviceEntity, DeviceFirmwareEntity } from '../../entities';
import type { AppPubSub, InventoryChangedEvent } from '../../realtime/pubsub';
import { requireRole } from '../shared/access';
import type { Page, SortDirection } from '../shared/pagination';
import { linkCommsHubIn, linkCommsHubsIn, parseLinks } from './comms-hub-links';
import { checkBatchSize, validateDevices } from './device-inputs';
import type { DeviceFilter, DeviceInput } from './device-inputs';
import { DeviceReads } from './device-reads';
import { upsertDeviceRows } from './device-upsert';
import type { UpsertDevicesResult } from './device-upsert';
import { registeredSuppliersAt, registerSupplierIn } from './registered-suppliers';
import type { SupplierRegistration } from './registered-suppliers';

// What other modules import from this path, wherever it now lives.
export type { DeviceFilter, DeviceInput } from './device-inputs';
export type { UpsertDevicesResult } from './device-upsert';
export { registeredSuppliersAt } from './registered-suppliers';
export type { SupplierRegistration } from './registered-suppliers';

/** The device inventory: devices, firmware history and which ESME powers which Communications Hub. */
export class DeviceService {
  private readonly reads: DeviceReads;

  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly pubSub: AppPubSub,
    private readonly maxBatchSize: number,
  ) {
    this.reads = new DeviceReads(dataSource);
  }

  /**
   * Creates or updates up to maxBatchSize devices in one statement. Every device is validated
   * first; one bad device rejects the whole batch and nothing is written.
   */
  async upsertDevices(principal: Principal, inputs: readonly DeviceInput[]): Promise<UpsertDevicesResult> {
    requireRole(principal, 'OPERATOR');
    checkBatchSize(inputs.length, this.maxBatchSize, 'devices');
    const now = this.clock.now();
    const devices = validateDevices(inputs, now);
    const result = await upsertDeviceRows(this.dataSource, devices);

    const guids = devices.map((d) => d.guid);
    // Identifiers only, and few of them: the notification may cross instances by NOTIFY (8 kB cap).
    void this.pubSub.publish('INVENTORY_CHANGED', {
      count: guids.length,
      guids: guids.length <= 100 ? guids : [],
      at: now.toISOString(),
    });
    return result;
  }

  /**
   * Records that from `effectiveFrom` the import supplier of the ESME is `supplierId` (a change of
   * supplier, as DCC's inventory learns it). Activations the previous supplier already submitted
   * stay its own: it may still cancel them and report their outcomes; it may send no new SR11.3.
   */
  async registerSupplier(
    principal: Principal,
    input: { esmeGuid: string; supplierId: string; effectiveFrom?: Date | null },
  ): Promise<SupplierRegistration> {
    requireRole(principal, 'OPERATOR');
    const esmeGuid = parseEui64(input.esmeGuid, 'esmeGuid');
    const supplierId = parseEui64(input.supplierId, 'supplierId');
    const effectiveFrom = input.effectiveFrom ?? this.clock.now();
    return this.dataSource.transaction((tx) =>
      registerSupplierIn(tx, { esmeGuid, supplierId, effectiveFrom }),
    );
  }

  /** The supplier registered for each ESME at `at` (default now; undefined: none). */
  registeredSuppliers(
    guids: readonly string[],
    at: Date = this.clock.now(),
  ): Promise<(SupplierRegistration | undefined)[]> {
    return registeredSuppliersAt(this.dataSource, guids, at);
  }

  /**
   * Records that from `effectiveFrom` the ESME powers the Communications Hub. Any open link of
   * either device ends at that instant, so "which ESME powered this CH at time T" has one answer.
   */
  async linkCommsHub(
    principal: Principal,
    input: { commsHubGuid: string; esmeGuid: string; effectiveFrom?: Date | null },
  ): Promise<CommsHubLinkEntity> {
    requireRole(principal, 'OPERATOR');
    const chGuid = parseEui64(input.commsHubGuid, 'commsHubGuid');
    const esmeGuid = parseEui64(input.esmeGuid, 'esmeGuid');
    const effectiveFrom = input.effectiveFrom ?? this.clock.now();
    return this.dataSource.transaction((tx) => linkCommsHubIn(tx, chGuid, esmeGuid, effectiveFrom));
  }

  /**
   * linkCommsHub for up to maxBatchSize links at once, all or nothing, with the same checks and
   * the same meaning for each link: a pair that is already current is returned as it is;
   * otherwise the current links of either device end where the new one starts (a link that two
   * new links end, as when two meters swap hubs, ends at the earlier one). A device may appear in
   * one link of a batch only. Returns the link of each input, in input order.
   */
  async linkCommsHubs(
    principal: Principal,
    inputs: readonly { commsHubGuid: string; esmeGuid: string; effectiveFrom?: Date | null }[],
  ): Promise<CommsHubLinkEntity[]> {
    requireRole(principal, 'OPERATOR');
    checkBatchSize(inputs.length, this.maxBatchSize, 'links');
    const links = parseLinks(inputs, this.clock.now());
    return this.dataSource.transaction((tx) => linkCommsHubsIn(tx, links));
  }

  /** Live inventory changes, for operators (the event names GUIDs regardless of distributor). */
  inventoryChanges(principal: Principal): AsyncIterable<InventoryChangedEvent> {
    requireRole(principal, 'OPERATOR');
    return this.pubSub.subscribe('INVENTORY_CHANGED');
  }

  /** One device, or null when it does not exist or lies outside the caller's scope. */
  device(principal: Principal, guidInput: string): Promise<DeviceEntity | null> {
    return this.reads.device(principal, guidInput);
  }

  /** Devices matching the filter in the caller's scope, ordered by GUID. */
  devices(
    principal: Principal,
    filter: DeviceFilter,
    first?: number | null,
    after?: string | null,
    direction?: SortDirection,
  ): Promise<Page<DeviceEntity>> {
    return this.reads.devices(principal, filter, first, after, direction);
  }

  /** Batch lookups for DataLoaders (no scope check: callers reach these through a checked parent). */
  byGuids(guids: readonly string[]): Promise<(DeviceEntity | undefined)[]> {
    return this.reads.byGuids(guids);
  }

  firmwareHistories(guids: readonly string[]): Promise<DeviceFirmwareEntity[][]> {
    return this.reads.firmwareHistories(guids);
  }

  /** Links of each device (as hub or as meter), newest first. */
  linksOf(guids: readonly string[]): Promise<CommsHubLinkEntity[][]> {
    return this.reads.linksOf(guids);
  }
}
