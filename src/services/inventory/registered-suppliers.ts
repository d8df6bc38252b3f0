import type { EntityManager } from 'typeorm';
import { InvalidInputError, NotFoundError } from '../../domain/errors';

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

/**
 * Records a registration (parsed identifiers) inside the caller's transaction, after locking the
 * device and checking that it is an ESME.
 */
export async function registerSupplierIn(
  tx: EntityManager,
  registration: SupplierRegistration,
): Promise<SupplierRegistration> {
  const { esmeGuid, supplierId, effectiveFrom } = registration;
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
}
