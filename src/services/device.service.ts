import type { DataSource, EntityManager } from 'typeorm';
import type { Principal } from '../auth/principal';
import type { Clock } from '../clock';
import { ConflictError, InvalidInputError, NotFoundError } from '../domain/errors';
import {
  parseEui64,
  parseFirmwareVersion,
  parseManufacturerId,
  parseModelId,
  parseMpan,
  parseUtcDateTime,
} from '../domain/identifiers';
import { DEVICE_TYPES, SMI_STATUSES } from '../domain/model';
import type { DeviceType, SmiStatus } from '../domain/model';
import { CommsHubLinkEntity, DeviceEntity, DeviceFirmwareEntity } from '../entities';
import { returnedRows } from '../db/rows';
import type { AppPubSub, InventoryChangedEvent } from '../realtime/pubsub';
import { deviceReadScope, inScope, requireRole } from './access';
import type { DeviceScope } from './access';
import { CURSOR_PART, decodeCursor, pageSize, toPage } from './pagination';
import type { Page } from './pagination';

/** A device as submitted to upsertDevices, before validation. */
export interface DeviceInput {
  readonly guid: string;
  readonly deviceType: string;
  readonly manufacturer?: string | null;
  readonly model?: string | null;
  readonly firmwareVersion?: string | null;
  /** When the firmware version took effect; defaults to now. */
  readonly firmwareEffectiveFrom?: Date | string | null;
  readonly smiStatus?: string | null;
  readonly mpan?: string | null;
  readonly areaKey?: string | null;
  readonly cspRegion?: string | null;
  /** ESME only: the import supplier registered for it (DCC's registration data). */
  readonly importSupplierId?: string | null;
  /** When that registration took effect; defaults to now. */
  readonly importSupplierEffectiveFrom?: Date | string | null;
}

/** The import supplier registered for an ESME from an instant on. */
export interface SupplierRegistration {
  readonly esmeGuid: string;
  readonly supplierId: string;
  readonly effectiveFrom: Date;
}

/**
 * The supplier registered for each ESME at `at` (undefined: none): the registration with the
 * latest `effective_from` at or before it. `db` may be a transaction.
 */
export async function registeredSuppliersAt(
  db: Pick<EntityManager, 'query'>,
  guids: readonly string[],
  at: Date,
): Promise<(SupplierRegistration | undefined)[]> {
  const rows = (await db.query(
    `SELECT DISTINCT ON (device_guid) device_guid, supplier_id, effective_from
       FROM device_supplier WHERE device_guid = ANY($1::bpchar[]) AND effective_from <= $2
      ORDER BY device_guid, effective_from DESC`,
    [[...guids], at],
  )) as { device_guid: string; supplier_id: string; effective_from: Date }[];
  const byGuid = new Map(
    rows.map((r) => [
      r.device_guid,
      { esmeGuid: r.device_guid, supplierId: r.supplier_id, effectiveFrom: r.effective_from },
    ]),
  );
  return guids.map((g) => byGuid.get(g));
}

interface ValidDevice {
  guid: string;
  deviceType: DeviceType;
  manufacturer: string | null;
  model: string | null;
  firmwareVersion: string | null;
  firmwareEffectiveFrom: Date;
  smiStatus: SmiStatus;
  mpan: string | null;
  areaKey: string | null;
  cspRegion: string | null;
  importSupplierId: string | null;
  importSupplierEffectiveFrom: Date;
}

export interface UpsertDevicesResult {
  readonly inserted: number;
  readonly updated: number;
  readonly firmwareChanges: number;
}

export interface DeviceFilter {
  readonly deviceType?: DeviceType | null;
  readonly manufacturer?: string | null;
  readonly model?: string | null;
  readonly firmwareVersion?: string | null;
  readonly distributorId?: string | null;
  readonly areaKey?: string | null;
  readonly smiStatus?: SmiStatus | null;
}

const CSP_REGIONS = ['North', 'Central', 'South'];

interface LinkRow {
  id: string;
  comms_hub_guid: string;
  esme_guid: string;
  effective_from: Date;
  effective_to: Date | null;
}

function toLinkEntity(row: LinkRow): CommsHubLinkEntity {
  return Object.assign(new CommsHubLinkEntity(), {
    id: row.id,
    commsHubGuid: row.comms_hub_guid,
    esmeGuid: row.esme_guid,
    effectiveFrom: row.effective_from,
    effectiveTo: row.effective_to,
  });
}
const AREA_KEY_MAX = 64;

/** The device inventory: devices, firmware history and which ESME powers which Communications Hub. */
export class DeviceService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly pubSub: AppPubSub,
    private readonly maxBatchSize: number,
  ) {}

  /**
   * Creates or updates up to maxBatchSize devices in one statement. Every device is validated
   * first; one bad device rejects the whole batch and nothing is written.
   */
  async upsertDevices(principal: Principal, inputs: readonly DeviceInput[]): Promise<UpsertDevicesResult> {
    requireRole(principal, 'OPERATOR');
    if (inputs.length === 0)
      throw new InvalidInputError('EMPTY_BATCH', 'devices must not be empty', 'devices');
    if (inputs.length > this.maxBatchSize) {
      throw new InvalidInputError(
        'BATCH_TOO_LARGE',
        `at most ${this.maxBatchSize} devices per call (got ${inputs.length})`,
        'devices',
        { limit: this.maxBatchSize },
      );
    }
    const now = this.clock.now();
    const seen = new Set<string>();
    const devices = inputs.map((input, i) => {
      const device = validateDevice(input, `devices[${i}]`, now);
      if (seen.has(device.guid)) {
        throw new InvalidInputError(
          'DUPLICATE_IN_BATCH',
          `device ${device.guid} appears twice`,
          `devices[${i}].guid`,
        );
      }
      seen.add(device.guid);
      return device;
    });

    const column = <K extends keyof ValidDevice>(key: K) => devices.map((d) => d[key]);
    // unnest() of one array per column: a fixed 12 parameters however large the batch
    // (PostgreSQL caps a statement at 65,535 parameters).
    // Lock the existing rows first (in GUID order, so concurrent batches cannot deadlock); the
    // upsert statement then takes a fresh snapshot that sees the latest committed versions, and
    // two concurrent upserts of one device record a firmware change once.
    const sorted = [...devices].map((d) => d.guid).sort();
    const [row] = await this.dataSource.transaction(async (tx) => {
      await tx.query('SELECT guid FROM device WHERE guid = ANY($1) ORDER BY guid FOR UPDATE', [sorted]);
      return (await tx.query(
        `WITH input AS (
         -- The GUIDs as bpchar so the join with device.guid (char(23)) can use its index.
         SELECT * FROM unnest($1::bpchar[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[],
                              $7::text[], $8::text[], $9::text[], $10::text[], $11::bpchar[], $12::timestamptz[])
           AS i(guid, device_type, manufacturer, model, firmware_version, firmware_effective_from,
                smi_status, mpan, area_key, csp_region, import_supplier_id, import_supplier_from)
       ),
       previous AS (
         -- The versions before this statement, from its snapshot. The rows were locked by the statement
         -- before (a FOR UPDATE here would skip rows that the upsert below already changed).
         SELECT d.guid, d.firmware_version FROM device d JOIN input i ON i.guid = d.guid
       ),
       upserted AS (
         INSERT INTO device (guid, device_type, manufacturer, model, firmware_version, smi_status, mpan, area_key, csp_region)
         SELECT guid, device_type, manufacturer, model, firmware_version, smi_status, mpan, area_key, csp_region FROM input
         ON CONFLICT (guid) DO UPDATE SET
           device_type = EXCLUDED.device_type, manufacturer = EXCLUDED.manufacturer, model = EXCLUDED.model,
           firmware_version = EXCLUDED.firmware_version, smi_status = EXCLUDED.smi_status, mpan = EXCLUDED.mpan,
           area_key = EXCLUDED.area_key, csp_region = EXCLUDED.csp_region, updated_at = now()
         RETURNING guid, (xmax = 0) AS inserted
       ),
       history AS (
         INSERT INTO device_firmware (device_guid, firmware_version, effective_from, source)
         SELECT i.guid, i.firmware_version, i.firmware_effective_from, 'INVENTORY'
           FROM input i LEFT JOIN previous p ON p.guid = i.guid
          WHERE i.firmware_version IS NOT NULL
            AND (p.guid IS NULL OR p.firmware_version IS DISTINCT FROM i.firmware_version)
         ON CONFLICT (device_guid, effective_from) DO UPDATE SET firmware_version = EXCLUDED.firmware_version
         RETURNING device_guid
       ),
       registered AS (
         -- A registration is recorded when it changes the supplier registered at its instant.
         INSERT INTO device_supplier (device_guid, supplier_id, effective_from)
         SELECT i.guid, i.import_supplier_id, i.import_supplier_from
           FROM input i
          WHERE i.import_supplier_id IS NOT NULL
            AND i.import_supplier_id IS DISTINCT FROM (
                  SELECT s.supplier_id FROM device_supplier s
                   WHERE s.device_guid = i.guid AND s.effective_from <= i.import_supplier_from
                   ORDER BY s.effective_from DESC LIMIT 1)
         ON CONFLICT (device_guid, effective_from) DO UPDATE SET supplier_id = EXCLUDED.supplier_id
         RETURNING device_guid
       )
       SELECT (SELECT count(*) FROM upserted WHERE inserted)::int AS inserted,
              (SELECT count(*) FROM upserted WHERE NOT inserted)::int AS updated,
              (SELECT count(*) FROM history)::int AS firmware_changes`,
        [
          column('guid'),
          column('deviceType'),
          column('manufacturer'),
          column('model'),
          column('firmwareVersion'),
          column('firmwareEffectiveFrom'),
          column('smiStatus'),
          column('mpan'),
          column('areaKey'),
          column('cspRegion'),
          column('importSupplierId'),
          column('importSupplierEffectiveFrom'),
        ],
      )) as { inserted: number; updated: number; firmware_changes: number }[];
    });

    const guids = devices.map((d) => d.guid);
    // Identifiers only, and few of them: the notification may cross instances by NOTIFY (8 kB cap).
    void this.pubSub.publish('INVENTORY_CHANGED', {
      count: guids.length,
      guids: guids.length <= 100 ? guids : [],
      at: now.toISOString(),
    });
    return { inserted: row.inserted, updated: row.updated, firmwareChanges: row.firmware_changes };
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
    return this.dataSource.transaction(async (tx) => {
      const [device] = (await tx.query('SELECT device_type FROM device WHERE guid = $1 FOR UPDATE', [
        esmeGuid,
      ])) as { device_type: string }[];
      if (!device) throw new NotFoundError('Device', esmeGuid);
      if (device.device_type !== 'ESME') {
        throw new InvalidInputError(
          'NOT_AN_ESME',
          `${esmeGuid} is a ${device.device_type}; only an ESME has a registered import supplier`,
          'esmeGuid',
        );
      }
      await tx.query(
        `INSERT INTO device_supplier (device_guid, supplier_id, effective_from) VALUES ($1, $2, $3)
         ON CONFLICT (device_guid, effective_from) DO UPDATE SET supplier_id = EXCLUDED.supplier_id`,
        [esmeGuid, supplierId, effectiveFrom],
      );
      return { esmeGuid, supplierId, effectiveFrom };
    });
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
    return this.dataSource.transaction(async (tx) => {
      // Lock both devices so concurrent links of the same pair serialise.
      const devices = await tx
        .getRepository(DeviceEntity)
        .createQueryBuilder('d')
        .setLock('pessimistic_write')
        .where('d.guid IN (:...guids)', { guids: [chGuid, esmeGuid] })
        .orderBy('d.guid')
        .getMany();
      const ch = devices.find((d) => d.guid === chGuid);
      const esme = devices.find((d) => d.guid === esmeGuid);
      if (!ch) throw new NotFoundError('Device', chGuid);
      if (!esme) throw new NotFoundError('Device', esmeGuid);
      if (ch.deviceType !== 'CHF') {
        throw new InvalidInputError(
          'NOT_A_COMMS_HUB',
          `${chGuid} is a ${ch.deviceType}, not a CHF`,
          'commsHubGuid',
        );
      }
      if (esme.deviceType !== 'ESME') {
        throw new InvalidInputError(
          'NOT_AN_ESME',
          `${esmeGuid} is a ${esme.deviceType}, not an ESME`,
          'esmeGuid',
        );
      }
      const links = tx.getRepository(CommsHubLinkEntity);
      const open = await links
        .createQueryBuilder('l')
        .where('l.effective_to IS NULL AND (l.comms_hub_guid = :ch OR l.esme_guid = :esme)', {
          ch: chGuid,
          esme: esmeGuid,
        })
        .getMany();
      const same = open.find((l) => l.commsHubGuid === chGuid && l.esmeGuid === esmeGuid);
      if (same && open.length === 1) return same; // already linked: idempotent
      for (const link of open) {
        if (link.effectiveFrom.getTime() >= effectiveFrom.getTime()) {
          throw new ConflictError(
            'LINK_NOT_AFTER_CURRENT',
            `the current link (${link.commsHubGuid} <- ${link.esmeGuid}) starts at ${link.effectiveFrom.toISOString()}; ` +
              'a new link must start after it',
          );
        }
      }
      if (open.length) {
        await tx.query('UPDATE comms_hub_link SET effective_to = $1 WHERE id = ANY($2::bigint[])', [
          effectiveFrom,
          open.map((l) => l.id),
        ]);
      }
      const [inserted] = (await tx.query(
        `INSERT INTO comms_hub_link (comms_hub_guid, esme_guid, effective_from) VALUES ($1, $2, $3)
         RETURNING id, comms_hub_guid, esme_guid, effective_from, effective_to`,
        [chGuid, esmeGuid, effectiveFrom],
      )) as {
        id: string;
        comms_hub_guid: string;
        esme_guid: string;
        effective_from: Date;
        effective_to: Date | null;
      }[];
      return Object.assign(new CommsHubLinkEntity(), {
        id: inserted.id,
        commsHubGuid: inserted.comms_hub_guid,
        esmeGuid: inserted.esme_guid,
        effectiveFrom: inserted.effective_from,
        effectiveTo: inserted.effective_to,
      });
    });
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
    if (inputs.length === 0) throw new InvalidInputError('EMPTY_BATCH', 'links must not be empty', 'links');
    if (inputs.length > this.maxBatchSize) {
      throw new InvalidInputError(
        'BATCH_TOO_LARGE',
        `at most ${this.maxBatchSize} links per call (got ${inputs.length})`,
        'links',
        { limit: this.maxBatchSize },
      );
    }
    const now = this.clock.now();
    const seen = new Set<string>();
    const links = inputs.map((input, i) => {
      const link = {
        ch: parseEui64(input.commsHubGuid, `links[${i}].commsHubGuid`),
        esme: parseEui64(input.esmeGuid, `links[${i}].esmeGuid`),
        from: input.effectiveFrom ?? now,
        index: i,
      };
      for (const [guid, field] of [
        [link.ch, 'commsHubGuid'],
        [link.esme, 'esmeGuid'],
      ] as const) {
        if (seen.has(guid)) {
          throw new InvalidInputError(
            'DUPLICATE_IN_BATCH',
            `device ${guid} appears in more than one link`,
            `links[${i}].${field}`,
          );
        }
        seen.add(guid);
      }
      return link;
    });
    const guids = [...seen].sort();
    return this.dataSource.transaction(async (tx) => {
      // The devices locked in GUID order, as linkCommsHub locks its pair: no deadlock between them.
      const devices = new Map(
        returnedRows<{ guid: string; device_type: string }>(
          await tx.query(
            'SELECT guid, device_type FROM device WHERE guid = ANY($1) ORDER BY guid FOR UPDATE',
            [guids],
          ),
        ).map((d) => [d.guid, d.device_type]),
      );
      for (const { ch, esme, index } of links) {
        if (!devices.has(ch)) throw new NotFoundError('Device', ch);
        if (!devices.has(esme)) throw new NotFoundError('Device', esme);
        if (devices.get(ch) !== 'CHF') {
          throw new InvalidInputError(
            'NOT_A_COMMS_HUB',
            `${ch} is a ${devices.get(ch)}, not a CHF`,
            `links[${index}].commsHubGuid`,
          );
        }
        if (devices.get(esme) !== 'ESME') {
          throw new InvalidInputError(
            'NOT_AN_ESME',
            `${esme} is a ${devices.get(esme)}, not an ESME`,
            `links[${index}].esmeGuid`,
          );
        }
      }
      const open = returnedRows<LinkRow>(
        await tx.query(
          `SELECT id, comms_hub_guid, esme_guid, effective_from, effective_to FROM comms_hub_link
            WHERE effective_to IS NULL AND (comms_hub_guid = ANY($1) OR esme_guid = ANY($1))`,
          [guids],
        ),
      );
      const openOfCh = new Map(open.map((l) => [l.comms_hub_guid, l]));
      const openOfEsme = new Map(open.map((l) => [l.esme_guid, l]));
      const current = new Map<number, LinkRow>();
      const ends = new Map<string, Date>();
      for (const link of links) {
        const touched = [openOfCh.get(link.ch), openOfEsme.get(link.esme)].filter((l) => l !== undefined);
        const same = touched.find((l) => l.comms_hub_guid === link.ch && l.esme_guid === link.esme);
        if (same && new Set(touched).size === 1) {
          current.set(link.index, same); // already linked: idempotent
          continue;
        }
        for (const l of touched) {
          if (l.effective_from.getTime() >= link.from.getTime()) {
            throw new ConflictError(
              'LINK_NOT_AFTER_CURRENT',
              `the current link (${l.comms_hub_guid} <- ${l.esme_guid}) starts at ${l.effective_from.toISOString()}; ` +
                `a new link must start after it (links[${link.index}])`,
            );
          }
          const end = ends.get(l.id);
          if (!end || link.from.getTime() < end.getTime()) ends.set(l.id, link.from);
        }
      }
      const fresh = links.filter((l) => !current.has(l.index));
      if (fresh.length) {
        // One statement. The INSERT reads the UPDATE's count first, which makes PostgreSQL end the
        // current links before it inserts (the open-link unique indexes would refuse otherwise).
        const inserted = returnedRows<LinkRow>(
          await tx.query(
            `WITH ended AS (
               UPDATE comms_hub_link l SET effective_to = e.t
                 FROM unnest($1::bigint[], $2::timestamptz[]) AS e(id, t)
                WHERE l.id = e.id
               RETURNING l.id
             )
             INSERT INTO comms_hub_link (comms_hub_guid, esme_guid, effective_from)
             SELECT ch, esme, t FROM unnest($3::bpchar[], $4::bpchar[], $5::timestamptz[]) AS i(ch, esme, t)
              WHERE (SELECT count(*) FROM ended) >= 0
             RETURNING id, comms_hub_guid, esme_guid, effective_from, effective_to`,
            [
              [...ends.keys()],
              [...ends.values()],
              fresh.map((l) => l.ch),
              fresh.map((l) => l.esme),
              fresh.map((l) => l.from),
            ],
          ),
        );
        const byCh = new Map(inserted.map((r) => [r.comms_hub_guid, r]));
        for (const l of fresh) current.set(l.index, byCh.get(l.ch)!);
      }
      return links.map((l) => toLinkEntity(current.get(l.index)!));
    });
  }

  /** Live inventory changes, for operators (the event names GUIDs regardless of distributor). */
  inventoryChanges(principal: Principal): AsyncIterable<InventoryChangedEvent> {
    requireRole(principal, 'OPERATOR');
    return this.pubSub.subscribe('INVENTORY_CHANGED');
  }

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
  ): Promise<Page<DeviceEntity>> {
    const scope = deviceReadScope(principal);
    const limit = pageSize(first);
    const cursor = decodeCursor(after, 1, [CURSOR_PART.eui64]);
    const qb = this.dataSource
      .getRepository(DeviceEntity)
      .createQueryBuilder('d')
      .orderBy('d.guid', 'ASC')
      .take(limit + 1);
    applyScope(qb, scope);
    if (cursor) qb.andWhere('d.guid > :after', { after: cursor[0] });
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
    return toPage(await qb.getMany(), limit, (d) => [d.guid]);
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

function validateDevice(input: DeviceInput, path: string, now: Date): ValidDevice {
  const guid = parseEui64(input.guid, `${path}.guid`);
  if (!(DEVICE_TYPES as readonly string[]).includes(input.deviceType)) {
    throw new InvalidInputError(
      'INVALID_DEVICE_TYPE',
      `deviceType must be one of ${DEVICE_TYPES.join(', ')}`,
      `${path}.deviceType`,
    );
  }
  const smiStatus = input.smiStatus ?? 'Commissioned';
  if (!(SMI_STATUSES as readonly string[]).includes(smiStatus)) {
    throw new InvalidInputError(
      'INVALID_SMI_STATUS',
      `smiStatus must be one of ${SMI_STATUSES.join(', ')}`,
      `${path}.smiStatus`,
    );
  }
  const cspRegion = input.cspRegion ?? null;
  if (cspRegion !== null && !CSP_REGIONS.includes(cspRegion)) {
    throw new InvalidInputError(
      'INVALID_CSP_REGION',
      `cspRegion must be one of ${CSP_REGIONS.join(', ')}`,
      `${path}.cspRegion`,
    );
  }
  const areaKey = input.areaKey?.trim() || null;
  if (areaKey !== null && (areaKey.length > AREA_KEY_MAX || /\p{Cc}/u.test(areaKey))) {
    throw new InvalidInputError(
      'INVALID_AREA_KEY',
      `areaKey must be 1-${AREA_KEY_MAX} printable characters`,
      `${path}.areaKey`,
    );
  }
  const effective = input.firmwareEffectiveFrom;
  const importSupplierId = input.importSupplierId
    ? parseEui64(input.importSupplierId, `${path}.importSupplierId`)
    : null;
  if (importSupplierId && input.deviceType !== 'ESME') {
    throw new InvalidInputError(
      'NOT_AN_ESME',
      'only an ESME has a registered import supplier',
      `${path}.importSupplierId`,
    );
  }
  return {
    guid,
    deviceType: input.deviceType as DeviceType,
    manufacturer: input.manufacturer ? parseManufacturerId(input.manufacturer, `${path}.manufacturer`) : null,
    model: input.model ? parseModelId(input.model, `${path}.model`) : null,
    firmwareVersion: input.firmwareVersion
      ? parseFirmwareVersion(input.firmwareVersion, `${path}.firmwareVersion`)
      : null,
    firmwareEffectiveFrom: instantOr(effective, `${path}.firmwareEffectiveFrom`, now),
    smiStatus: smiStatus as SmiStatus,
    mpan: input.mpan ? parseMpan(input.mpan, `${path}.mpan`) : null,
    areaKey,
    cspRegion,
    importSupplierId,
    importSupplierEffectiveFrom: instantOr(
      input.importSupplierEffectiveFrom,
      `${path}.importSupplierEffectiveFrom`,
      now,
    ),
  };
}

/** An optional instant as given (a Date, or an ISO string from a script), else `fallback`. */
function instantOr(value: Date | string | null | undefined, path: string, fallback: Date): Date {
  if (value instanceof Date) return value;
  return value ? parseUtcDateTime(value, path) : fallback;
}
