import DataLoader from 'dataloader';
import type { Principal } from '../auth/principal';
import { parseEui64 } from '../domain/identifiers';
import type {
  ActivationOutcomeClaimEntity,
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
import {
  deviceReadScope,
  mayReadActivation,
  mayReadAlert,
  mayReadDevice,
  mayNameLinkedDevice,
  mayReadRegisteredSupplier,
} from '../services/shared/access';
import type { Services } from '../services';
import type { AlertNow } from '../services/delivery/current-alerts';
import type { SupplierRegistration } from '../services/inventory/device.service';

/**
 * Per-request (and per-subscription-operation) DataLoaders: one batched query per relation per
 * tick, no cache shared between callers with different rights, and nothing out of the caller's
 * read scope: an object it may not read loads as missing (a nullable field is null, a list
 * leaves it out), the same on every path that reaches it.
 */
export interface Loaders {
  readonly networkOperator: DataLoader<string, NetworkOperatorEntity | undefined>;
  /** Devices the caller may read; undefined for unknown or out-of-scope. */
  readonly device: DataLoader<string, DeviceEntity | undefined>;
  /** Devices the caller may read; null for unknown or out-of-scope (federation references use this). */
  readonly scopedDevice: DataLoader<string, DeviceEntity | null>;
  readonly firmwareHistory: DataLoader<string, DeviceFirmwareEntity[]>;
  /** The import supplier registered now: the OPERATOR's and that supplier's to read, nobody else's. */
  readonly registeredSupplier: DataLoader<string, SupplierRegistration | undefined>;
  /** Links of a device the caller may read, each to a device it may see named (mayNameLinkedDevice). */
  readonly commsHubLinks: DataLoader<string, CommsHubLinkEntity[]>;
  /**
   * The ESME that powered a Communications Hub at an instant (the link then in force), if the
   * caller may read that ESME; the hub itself need not be readable (a DNO reads its meters, not
   * the hubs, which carry no MPAN). The link is not handed out, only the ESME.
   */
  readonly esmeOfHubAt: DataLoader<
    { readonly hub: string; readonly at: Date },
    DeviceEntity | undefined,
    string
  >;
  readonly activationsOfDevice: DataLoader<string, FirmwareActivationEntity[]>;
  /** Suppliers' claims about an activation (keyed by the activation row), [] unless the caller may read it. */
  readonly claimsOfActivation: DataLoader<FirmwareActivationEntity, ActivationOutcomeClaimEntity[], string>;
  readonly firmwareImage: DataLoader<string, FirmwareImageEntity | undefined>;
  readonly rule: DataLoader<string, AffectedFirmwareRuleEntity | undefined>;
  readonly ruleChanges: DataLoader<string, AffectedFirmwareRuleChangeEntity[]>;
  /** Alerts the caller may read; undefined for unknown or out-of-scope. */
  readonly alert: DataLoader<string, AlertEntity | undefined>;
  /** A readable alert's ledger, each entry's evidence as the caller may see it (access.ts). */
  readonly alertLedger: DataLoader<string, AlertDecisionEntity[]>;
  /**
   * The ledger entry of a readable alert's current revision, its evidence as the caller may see
   * it; null when undecided or not readable.
   */
  readonly currentDecision: DataLoader<string, AlertDecisionEntity | null>;
}

/** Rows as stored, before any access check: only the loaders above may hand them out. */
interface RowLoaders {
  readonly alertRows: DataLoader<string, AlertEntity | undefined>;
  /** The cache of every loader, these and the ones above. */
  readonly caches: readonly Map<unknown, unknown>[];
}

const ROWS = new WeakMap<Loaders, RowLoaders>();

export function createLoaders(services: Services, principal: Principal): Loaders {
  // Every loader's cache, so that forgetLoaded can empty them (a subscription's events forget
  // the last event's rows) and skip the ones nothing used.
  const caches: Map<unknown, unknown>[] = [];
  const loader = <K, V, C = K>(
    batch: DataLoader.BatchLoadFn<K, V>,
    options: Omit<DataLoader.Options<K, V, C>, 'cacheMap'> = {},
  ): DataLoader<K, V, C> => {
    const cacheMap = new Map<C, Promise<V>>();
    caches.push(cacheMap as Map<unknown, unknown>);
    return new DataLoader<K, V, C>(batch, { ...options, cacheMap });
  };
  // Rows as stored, for this request only; every loader below hands out only what the caller may
  // read (src/services/shared/access.ts), whatever field asks: root, nested, reference or stream event.
  const deviceRows = loader((guids: readonly string[]) => services.devices.byGuids(guids));
  const alertRows = loader((ids: readonly string[]) => services.alerts.byIds(ids));
  // Keyed by alert (its ID): the entry of the revision the caller's row has.
  const decisionRows = loader((alerts: readonly AlertEntity[]) => services.alerts.currentDecisions(alerts), {
    cacheKeyFn: (a) => a.id,
  });
  const supplierId = principal.kind === 'user' ? principal.supplierId : undefined;
  const targeted = supplierId
    ? loader((guids: readonly string[]) => services.activations.targetedBy(supplierId, guids))
    : undefined;
  const device = loader(async (guids: readonly string[]) => {
    const [rows, targets] = await Promise.all([deviceRows.loadMany(guids), targeted?.loadMany(guids)]);
    return rows.map((row, i) => {
      if (row instanceof Error) return row;
      return row && mayReadDevice(principal, row, targets?.[i] === true) ? row : undefined;
    });
  });
  const alert = loader(async (ids: readonly string[]) =>
    (await alertRows.loadMany(ids)).map((row) =>
      row instanceof Error || !row || mayReadAlert(principal, row) ? row : undefined,
    ),
  );
  /** Loads `of` for the keys whose device the caller may read; [] for the others. */
  const ofReadableDevices =
    <T>(of: (guids: readonly string[]) => Promise<T[][]>) =>
    async (guids: readonly string[]): Promise<(T[] | Error)[]> => {
      const devices = await device.loadMany(guids);
      const readable = guids.filter((_, i) => devices[i] && !(devices[i] instanceof Error));
      const loaded = readable.length ? await of(readable) : [];
      const byGuid = new Map(readable.map((g, i) => [g, loaded[i]]));
      return guids.map((g) => byGuid.get(g) ?? []);
    };
  const loaders: Loaders = {
    networkOperator: loader((ids) => services.networkOperators.currentByDistributorIds(ids)),
    device,
    scopedDevice: loader(async (refs: readonly string[]) => {
      // The roles of the device(guid) query (UNAUTHENTICATED, FORBIDDEN), then its scope.
      deviceReadScope(principal);
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
        return row instanceof Error ? row : (row ?? null);
      });
    }),
    firmwareHistory: loader(ofReadableDevices((guids) => services.devices.firmwareHistories(guids))),
    registeredSupplier: loader(async (guids: readonly string[]) => {
      const [devices, registrations] = await Promise.all([
        device.loadMany(guids),
        services.devices.registeredSuppliers(guids),
      ]);
      return guids.map((_, i) => {
        const registration = registrations[i];
        const readable = devices[i] && !(devices[i] instanceof Error);
        return readable && registration && mayReadRegisteredSupplier(principal, registration)
          ? registration
          : undefined;
      });
    }),
    commsHubLinks: loader(
      ofReadableDevices(async (guids) => {
        const links = await services.devices.linksOf(guids);
        // The other end of each link, named only where the caller may (mayNameLinkedDevice).
        const otherEnd = (link: CommsHubLinkEntity, guid: string) =>
          link.commsHubGuid === guid ? link.esmeGuid : link.commsHubGuid;
        const others = [...new Set(links.flatMap((rows, i) => rows.map((l) => otherEnd(l, guids[i]))))];
        const [devices, targets] = await Promise.all([
          deviceRows.loadMany(others),
          targeted?.loadMany(others),
        ]);
        const named = new Set(
          others.filter((_, i) => {
            const device = devices[i];
            return (
              !(device instanceof Error) && mayNameLinkedDevice(principal, device, targets?.[i] === true)
            );
          }),
        );
        return links.map((rows, i) => rows.filter((l) => named.has(otherEnd(l, guids[i]))));
      }),
    ),
    esmeOfHubAt: loader(
      async (keys: readonly { readonly hub: string; readonly at: Date }[]) => {
        const hubs = [...new Set(keys.map((k) => k.hub))];
        const links = new Map((await services.devices.linksOf(hubs)).map((rows, i) => [hubs[i], rows]));
        const esmes = keys.map(
          ({ hub, at }) =>
            links
              .get(hub)
              ?.find(
                (l) =>
                  l.commsHubGuid === hub &&
                  l.effectiveFrom <= at &&
                  (l.effectiveTo === null || l.effectiveTo > at),
              )?.esmeGuid,
        );
        const rows = await device.loadMany(esmes.filter((g): g is string => g !== undefined));
        let next = 0;
        return esmes.map((g) => (g === undefined ? undefined : rows[next++]));
      },
      { cacheKeyFn: (k) => `${k.hub}@${k.at.toISOString()}` },
    ),
    activationsOfDevice: loader(
      ofReadableDevices(async (guids) =>
        (await services.activations.ofDevices(guids)).map((rows) =>
          rows.filter((a) => mayReadActivation(principal, a, true)),
        ),
      ),
    ),
    claimsOfActivation: loader(
      async (activations: readonly FirmwareActivationEntity[]) => {
        // The activation's own read rule: a distributor's goes through the target device.
        const viaDevice = principal.kind === 'user' && principal.role === 'ED';
        const devices = viaDevice ? await device.loadMany(activations.map((a) => a.deviceGuid)) : [];
        const readable = activations.filter((a, i) =>
          mayReadActivation(principal, a, !!devices[i] && !(devices[i] instanceof Error)),
        );
        const claims = readable.length ? await services.activations.claimsOf(readable.map((a) => a.id)) : [];
        const byId = new Map(readable.map((a, i) => [a.id, claims[i]]));
        return activations.map((a) => byId.get(a.id) ?? []);
      },
      { cacheKeyFn: (a) => a.id },
    ),
    firmwareImage: loader((ids) => services.firmware.imagesByIds(ids)),
    rule: loader((ids) => services.activations.rulesByIds(ids)),
    ruleChanges: loader((ids) => services.firmware.ruleChanges(ids)),
    alert,
    alertLedger: loader(async (ids: readonly string[]) => {
      const alerts = await alert.loadMany(ids);
      const readable = ids.filter((_, i) => alerts[i] && !(alerts[i] instanceof Error));
      const ledgers = readable.length ? await services.alerts.ledgers(readable) : [];
      // One look-up of whose devices and alerts the evidence names, for the whole batch.
      const entries = await services.alerts.forReader(principal, ledgers.flat());
      let next = 0;
      const byId = new Map(readable.map((id, i) => [id, ledgers[i].map(() => entries[next++])]));
      return ids.map((id) => byId.get(id) ?? []);
    }),
    currentDecision: loader(async (ids: readonly string[]) => {
      const alerts = await alert.loadMany(ids);
      const rows = await Promise.all(
        alerts.map((row) => (row instanceof Error || !row ? null : decisionRows.load(row))),
      );
      const entries = await services.alerts.forReader(
        principal,
        rows.filter((r): r is AlertDecisionEntity => r !== null),
      );
      let next = 0;
      return rows.map((r) => (r === null ? null : entries[next++]));
    }),
  };
  ROWS.set(loaders, { alertRows, caches });
  return loaders;
}

/**
 * Hands the loaders alerts already read (a DNO stream reads each page's alerts once for all its
 * subscribers): later loads of them cost no query, and still go through every access check.
 * A null state is an alert no longer on record.
 */
export function primeAlerts(loaders: Loaders, states: ReadonlyMap<string, AlertNow | null>): void {
  const rows = ROWS.get(loaders);
  if (!rows) return;
  for (const [id, state] of states) {
    rows.alertRows.clear(id).prime(id, state?.alert);
  }
}

/**
 * Forgets everything the loaders have read. A subscription operation keeps one context (and so one
 * set of loaders) for its whole life; each event clears them first so that it reads the rows as
 * they are now, as a query would, not as they were at an earlier event.
 */
export function forgetLoaded(loaders: Loaders): void {
  for (const cache of ROWS.get(loaders)?.caches ?? []) if (cache.size) cache.clear();
}
