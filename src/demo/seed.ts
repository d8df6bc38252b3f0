import type { DataSource } from 'typeorm';
import type { Principal } from '../auth/principal';
import type { Clock } from '../clock';
import { mpanCheckDigit } from '../domain/identifiers';
import type { Services } from '../services';
import type { DeviceInput } from '../services/inventory/device.service';

/** The principal the demo loader acts as: an operator, so it goes through the same checks as anyone. */
const DEMO_OPERATOR: Principal = { kind: 'user', subject: 'demo-seed', role: 'OPERATOR', distributorIds: [] };

/** The supplier the demo activations come from. */
export const DEMO_SUPPLIER_ID = '90-B3-D5-1F-30-01-00-00';
const DEMO_SUPPLIER: Principal = {
  kind: 'user',
  subject: 'demo-supplier',
  role: 'IS',
  distributorIds: [],
  supplierId: DEMO_SUPPLIER_ID,
};
/** SHA-256 of the (made-up) fixed image: any 32 bytes would do. */
export const DEMO_IMAGE_HASH = 'c0ffee00'.repeat(8);

/** Manufacturer and model IDs of the demo fleet. Made up: they stand for an affected and an unaffected model. */
export const DEMO_AFFECTED = {
  manufacturer: 'AB01',
  model: '010A030B',
  firmwareBefore: '0002012F',
  firmwareAfter: '00020130',
};
export const DEMO_UNAFFECTED = { manufacturer: 'CD02', model: '02000101', firmware: '01000004' };

const AREAS = [
  { distributorId: '12', areaKey: 'LPN-SS-0042' },
  { distributorId: '15', areaKey: 'NPG-NE-F117' },
  { distributorId: '20', areaKey: 'SEPD-F0031' },
  { distributorId: '23', areaKey: 'NPG-YO-F208' },
] as const;
const PREMISES_PER_AREA = 4;

function demoMpan(distributorId: string, n: number): string {
  const first12 = `${distributorId}${String(n).padStart(10, '0')}`;
  return `${first12}${mpanCheckDigit(first12)}`;
}

function demoGuid(area: number, premises: number, role: 'ESME' | 'CHF'): string {
  const hex = (v: number) => v.toString(16).toUpperCase().padStart(2, '0');
  return ['00', 'DB', role === 'ESME' ? 'E5' : 'C4', '00', '00', '00', hex(area), hex(premises)].join('-');
}

/** One demo premises: an ESME, the Communications Hub it powers, its MPAN, feeder and DNO. */
export interface DemoPremises {
  readonly esmeGuid: string;
  readonly commsHubGuid: string;
  readonly mpan: string;
  readonly distributorId: string;
  readonly areaKey: string;
  /** The affected model on its affected firmware; the last premises of each feeder has the unaffected model. */
  readonly affected: boolean;
}

/** The premises the demo dataset holds: four on each of four feeders, each feeder in its own DNO area. */
export const DEMO_PREMISES: readonly DemoPremises[] = AREAS.flatMap((area, a) =>
  Array.from({ length: PREMISES_PER_AREA }, (_, p) => ({
    esmeGuid: demoGuid(a, p, 'ESME'),
    commsHubGuid: demoGuid(a, p, 'CHF'),
    mpan: demoMpan(area.distributorId, 4200 + a * 100 + p),
    distributorId: area.distributorId,
    areaKey: area.areaKey,
    affected: p !== PREMISES_PER_AREA - 1,
  })),
);

/**
 * Loads a small, readable dataset into an empty database so the first query shows something:
 * ESME + Communications Hub pairs on four feeders in four DNO areas, most on the affected model;
 * the fixed firmware image and the rule that marks the affected version; and activations: one
 * done an hour ago (with its outcome), one immediate and pending, future-dated ones tonight.
 * Everything goes through the services, as an operator and as a supplier would.
 * Returns false (and writes nothing) when the database already holds devices.
 */
export async function seedDemoData(
  dataSource: DataSource,
  services: Services,
  clock: Clock,
): Promise<boolean> {
  const [{ count }] = (await dataSource.query('SELECT count(*)::int AS count FROM device')) as {
    count: number;
  }[];
  if (count > 0) return false;
  const now = clock.now();
  const installed = new Date(now.getTime() - 365 * 24 * 3600_000);
  const devices: DeviceInput[] = [];
  const links: { commsHubGuid: string; esmeGuid: string }[] = [];
  for (const premises of DEMO_PREMISES) {
    const { affected } = premises;
    devices.push(
      {
        guid: premises.esmeGuid,
        deviceType: 'ESME',
        importSupplierId: DEMO_SUPPLIER_ID,
        importSupplierEffectiveFrom: installed,
        manufacturer: affected ? DEMO_AFFECTED.manufacturer : DEMO_UNAFFECTED.manufacturer,
        model: affected ? DEMO_AFFECTED.model : DEMO_UNAFFECTED.model,
        firmwareVersion: affected ? DEMO_AFFECTED.firmwareBefore : DEMO_UNAFFECTED.firmware,
        firmwareEffectiveFrom: installed,
        mpan: premises.mpan,
        areaKey: premises.areaKey,
        cspRegion: premises.distributorId === '20' ? 'South' : 'North',
      },
      {
        guid: premises.commsHubGuid,
        deviceType: 'CHF',
        manufacturer: 'EF03',
        model: '0C0A0001',
        firmwareVersion: '00030002',
        firmwareEffectiveFrom: installed,
        areaKey: premises.areaKey,
      },
    );
    links.push({ commsHubGuid: premises.commsHubGuid, esmeGuid: premises.esmeGuid });
  }
  await services.devices.upsertDevices(DEMO_OPERATOR, devices);
  for (const link of links) {
    await services.devices.linkCommsHub(DEMO_OPERATOR, { ...link, effectiveFrom: installed });
  }

  await services.firmware.registerFirmwareImage(DEMO_OPERATOR, {
    manufacturer: DEMO_AFFECTED.manufacturer,
    model: DEMO_AFFECTED.model,
    version: DEMO_AFFECTED.firmwareAfter,
    imageHash: DEMO_IMAGE_HASH,
    sizeBytes: 412_160,
    releaseDate: '2026-06-01',
  });
  await services.firmware.upsertRule(DEMO_OPERATOR, {
    name: 'Demo affected model: activation from 0002012F cuts CH power',
    manufacturer: DEMO_AFFECTED.manufacturer,
    model: DEMO_AFFECTED.model,
    affectedFirmwareVersions: [DEMO_AFFECTED.firmwareBefore],
  });

  const schedule = (area: number, premises: number, counter: number, executeAt: Date | null) =>
    services.activations.schedule(DEMO_SUPPLIER, {
      requestId: `${DEMO_SUPPLIER_ID}:${demoGuid(area, premises, 'ESME')}:${counter}`,
      esmeGuid: demoGuid(area, premises, 'ESME'),
      imageHash: DEMO_IMAGE_HASH,
      executeAt,
    });
  // London feeder: one activation already executed (immediate, outcome recorded), one pending now.
  const done = await schedule(0, 0, 1, null);
  await services.activations.recordOutcome(DEMO_SUPPLIER, {
    requestId: done.requestId,
    outcomeCode: 'success',
    executedAt: new Date(now.getTime() + 40_000),
    firmwareVersion: DEMO_AFFECTED.firmwareAfter,
  });
  await schedule(0, 1, 2, null);
  // Future-dated activations tonight from 02:00 UTC, one per other area, 15 minutes apart.
  const tonight = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1, 2, 0, 0));
  for (let area = 1; area < AREAS.length; area++) {
    await schedule(area, 0, 10 + area, new Date(tonight.getTime() + area * 15 * 60_000));
  }
  return true;
}
