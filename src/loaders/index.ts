import DataLoader from 'dataloader';
import type { Principal } from '../auth/principal';
import { parseEui64 } from '../domain/identifiers';
import type {
  AlertDecisionEntity,
  AlertEntity,
  AffectedFirmwareRuleChangeEntity,
  AffectedFirmwareRuleEntity,
  CommsHubLinkEntity,
  DeviceEntity,
  DeviceFirmwareEntity,
  FirmwareActivationEntity,
  FirmwareImageEntity,
  NetworkOperatorEntity,
} from '../entities';
import { deviceReadScope, inScope } from '../services/access';
import type { Services } from '../services';

/**
 * Per-request (and per-subscription-operation) DataLoaders: one batched query per relation per
 * tick, and no cache shared between callers with different rights.
 */
export interface Loaders {
  readonly networkOperator: DataLoader<string, NetworkOperatorEntity | undefined>;
  readonly device: DataLoader<string, DeviceEntity | undefined>;
  /** Devices the caller may read; null for unknown or out-of-scope (federation references use this). */
  readonly scopedDevice: DataLoader<string, DeviceEntity | null>;
  readonly firmwareHistory: DataLoader<string, DeviceFirmwareEntity[]>;
  readonly commsHubLinks: DataLoader<string, CommsHubLinkEntity[]>;
  readonly activationsOfDevice: DataLoader<string, FirmwareActivationEntity[]>;
  readonly firmwareImage: DataLoader<string, FirmwareImageEntity | undefined>;
  readonly rule: DataLoader<string, AffectedFirmwareRuleEntity | undefined>;
  readonly ruleChanges: DataLoader<string, AffectedFirmwareRuleChangeEntity[]>;
  readonly alert: DataLoader<string, AlertEntity | undefined>;
  readonly alertLedger: DataLoader<string, AlertDecisionEntity[]>;
}

export function createLoaders(services: Services, principal: Principal): Loaders {
  const device = new DataLoader((guids: readonly string[]) => services.devices.byGuids(guids));
  return {
    networkOperator: new DataLoader((ids) => services.networkOperators.currentByDistributorIds(ids)),
    device,
    scopedDevice: new DataLoader(async (refs: readonly string[]) => {
      const scope = deviceReadScope(principal);
      // A malformed key fails its own reference only, not the whole batch.
      const guids = refs.map((r) => {
        try {
          return parseEui64(r);
        } catch (error) {
          return error as Error;
        }
      });
      const rows = await device.loadMany(guids.filter((g): g is string => typeof g === 'string'));
      let next = 0;
      return guids.map((guid) => {
        if (guid instanceof Error) return guid;
        const row = rows[next++];
        return row && !(row instanceof Error) && inScope(scope, row.distributorId) ? row : null;
      });
    }),
    firmwareHistory: new DataLoader((guids) => services.devices.firmwareHistories(guids)),
    commsHubLinks: new DataLoader((guids) => services.devices.linksOf(guids)),
    activationsOfDevice: new DataLoader((guids) => services.activations.ofDevices(guids)),
    firmwareImage: new DataLoader((ids) => services.firmware.imagesByIds(ids)),
    rule: new DataLoader((ids) => services.activations.rulesByIds(ids)),
    ruleChanges: new DataLoader((ids) => services.firmware.ruleChanges(ids)),
    alert: new DataLoader((ids) => services.alerts.byIds(ids)),
    alertLedger: new DataLoader((ids) => services.alerts.ledgers(ids)),
  };
}

/**
 * Forgets everything the loaders have read. A subscription operation keeps one context (and so one
 * set of loaders) for its whole life; each event clears them first so that it reads the rows as
 * they are now, as a query would, not as they were at an earlier event.
 */
export function forgetLoaded(loaders: Loaders): void {
  for (const loader of Object.values(loaders) as DataLoader<unknown, unknown>[]) loader.clearAll();
}
