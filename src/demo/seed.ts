import type { DataSource } from 'typeorm';
import type { Principal } from '../auth/principal';
import type { Clock } from '../clock';
import { mpanCheckDigit } from '../domain/identifiers';
import type { Services } from '../services';
import type { DeviceInput } from '../services/device.service';

/** The principal the demo loader acts as: an operator, so it goes through the same checks as anyone. */
const DEMO_OPERATOR: Principal = { kind: 'user', subject: 'demo-seed', role: 'OPERATOR', distributorIds: [] };

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

/**
 * Loads a small, readable dataset into an empty database so the first query shows something:
 * ESME + Communications Hub pairs on four feeders in four DNO areas, most on the affected model.
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
  AREAS.forEach((area, a) => {
    for (let p = 0; p < PREMISES_PER_AREA; p++) {
      const affected = p !== PREMISES_PER_AREA - 1; // the last premises on each feeder has the unaffected model
      const esme = demoGuid(a, p, 'ESME');
      const ch = demoGuid(a, p, 'CHF');
      devices.push(
        {
          guid: esme,
          deviceType: 'ESME',
          manufacturer: affected ? DEMO_AFFECTED.manufacturer : DEMO_UNAFFECTED.manufacturer,
          model: affected ? DEMO_AFFECTED.model : DEMO_UNAFFECTED.model,
          firmwareVersion: affected ? DEMO_AFFECTED.firmwareBefore : DEMO_UNAFFECTED.firmware,
          firmwareEffectiveFrom: installed,
          mpan: demoMpan(area.distributorId, 4200 + a * 100 + p),
          areaKey: area.areaKey,
          cspRegion: area.distributorId === '20' ? 'South' : 'North',
        },
        {
          guid: ch,
          deviceType: 'CHF',
          manufacturer: 'EF03',
          model: '0C0A0001',
          firmwareVersion: '00030002',
          firmwareEffectiveFrom: installed,
          areaKey: area.areaKey,
        },
      );
      links.push({ commsHubGuid: ch, esmeGuid: esme });
    }
  });
  await services.devices.upsertDevices(DEMO_OPERATOR, devices);
  for (const link of links)
    await services.devices.linkCommsHub(DEMO_OPERATOR, { ...link, effectiveFrom: installed });
  return true;
}
