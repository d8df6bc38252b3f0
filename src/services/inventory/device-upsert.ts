import type { DataSource, EntityManager } from 'typeorm';
import type { ValidDevice } from './device-inputs';

export interface UpsertDevicesResult {
  readonly inserted: number;
  readonly updated: number;
  readonly firmwareChanges: number;
}

/**
 * Writes validated devices in one transaction: their rows, their firmware history and their
 * registered import suppliers.
 */
export async function upsertDeviceRows(
  dataSource: DataSource,
  devices: readonly ValidDevice[],
): Promise<UpsertDevicesResult> {
  // Lock the existing rows first (in GUID order, so concurrent batches cannot deadlock); the
  // upsert statement then takes a fresh snapshot that sees the latest committed versions, and
  // two concurrent upserts of one device record a firmware change once.
  const sorted = devices.map((d) => d.guid).sort();
  const [row] = await dataSource.transaction(async (tx) => {
    await tx.query('SELECT guid FROM device WHERE guid = ANY($1) ORDER BY guid FOR UPDATE', [sorted]);
    return upsertStatement(tx, devices);
  });
  return { inserted: row.inserted, updated: row.updated, firmwareChanges: row.firmware_changes };
}

/** The upsert itself, one statement for the whole batch, after upsertDeviceRows has locked the rows. */
async function upsertStatement(
  tx: EntityManager,
  devices: readonly ValidDevice[],
): Promise<{ inserted: number; updated: number; firmware_changes: number }[]> {
  const column = <K extends keyof ValidDevice>(key: K) => devices.map((d) => d[key]);
  // unnest() of one array per column: a fixed 12 parameters however large the batch
  // (PostgreSQL caps a statement at 65,535 parameters).
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
}
