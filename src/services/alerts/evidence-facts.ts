import type { DataSource } from 'typeorm';
import type { Principal } from '../../auth/principal';
import { registeredSuppliersAt } from '../inventory/registered-suppliers';
import type { EvidenceDeviceFact, EvidenceFacts } from '../shared/access';

const NONE: EvidenceFacts = { devices: new Map(), alerts: new Map() };

/**
 * Whose devices and alerts a decision's evidence names, as far as `principal`'s rule needs to
 * know (src/services/shared/access.ts, `ledgerEntryForReader`): nothing for the OPERATOR, who sees
 * all; each device's distributor ID, and for a supplier its registered supplier at `at`; each
 * alert's distributor ID. Unscoped rows: only the evidence rule reads them.
 */
export async function loadEvidenceFacts(
  dataSource: DataSource,
  principal: Principal,
  names: { readonly devices: readonly string[]; readonly alerts: readonly string[] },
  at: Date,
): Promise<EvidenceFacts> {
  if (principal.kind !== 'user' || principal.role === 'OPERATOR') return NONE;
  const supplier = principal.role === 'IS' || principal.role === 'GS';
  const [devices, registrations, alerts] = await Promise.all([
    names.devices.length
      ? (dataSource.query('SELECT guid, distributor_id FROM device WHERE guid = ANY($1::bpchar[])', [
          [...names.devices],
        ]) as Promise<{ guid: string; distributor_id: string | null }[]>)
      : [],
    supplier && names.devices.length ? registeredSuppliersAt(dataSource, names.devices, at) : [],
    names.alerts.length
      ? (dataSource.query('SELECT id::text AS id, distributor_id FROM alert WHERE id = ANY($1::bigint[])', [
          [...names.alerts],
        ]) as Promise<{ id: string; distributor_id: string | null }[]>)
      : [],
  ]);
  const supplierOf = new Map(registrations.flatMap((r) => (r ? [[r.esmeGuid, r.supplierId]] : [])));
  return {
    devices: new Map<string, EvidenceDeviceFact>(
      devices.map((d) => [
        d.guid,
        { distributorId: d.distributor_id, registeredSupplierId: supplierOf.get(d.guid) ?? null },
      ]),
    ),
    alerts: new Map(alerts.map((a) => [a.id, { distributorId: a.distributor_id }])),
  };
}
