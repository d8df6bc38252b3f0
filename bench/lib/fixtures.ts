import crypto from 'node:crypto';
import type { Pool } from 'pg';
import { mpanCheckDigit } from '../../src/domain/identifiers';
import { gql, token } from './api';
import { pool as lanes } from './util';

/**
 * The benchmark inventory: ESME + CH pairs spread over area keys and DNOs. Most pairs are
 * "normal" (no activation: their AD1s are DELIVERED and outboxed); a few share small areas of
 * their own and get an immediate SR11.3 just before timing, so their AD1s fall in an activation
 * window and are HELD (their areas hold only in-window devices, so no cluster releases them).
 */
export interface Pair {
  readonly index: number;
  readonly esme: string;
  readonly ch: string;
  readonly mpan: string;
  readonly distributorId: string;
  readonly area: string;
  /** True when this pair's ESME gets an immediate activation (its AD1s are HELD). */
  readonly ota: boolean;
}

export interface Inventory {
  readonly pairs: readonly Pair[];
  readonly normal: readonly Pair[];
  readonly ota: readonly Pair[];
  readonly areas: number;
  readonly distributors: readonly string[];
}

export const SUPPLIER = '90-B3-D5-1F-30-01-00-00';
export const AFFECTED_MODEL = '010A030B';
const UNAFFECTED_MODEL = '0F0F0F0F';
const CH_MODEL = '0C0C0C0C';
const FIRMWARE = '0002012F';
const TARGET = '00020130';
export const IMAGE_HASH = crypto
  .createHash('sha256')
  .update(`AB01/${AFFECTED_MODEL}/${TARGET}`)
  .digest('hex');
export const INSTALLED_FROM = '2024-01-01T00:00:00.000Z';

/** A canonical EUI-64: a 3-octet prefix, a type octet and a 32-bit number. */
export function eui(typeOctet: string, n: number): string {
  const hex = n.toString(16).toUpperCase().padStart(8, '0');
  return `00-DB-B0-${typeOctet}-${hex.slice(0, 2)}-${hex.slice(2, 4)}-${hex.slice(4, 6)}-${hex.slice(6, 8)}`;
}

export function mpanOf(distributorId: string, unique: number): string {
  const first12 = `${distributorId}${String(unique).padStart(10, '0')}`;
  return `${first12}${mpanCheckDigit(first12)}`;
}

export function buildInventory(
  pairs: number,
  distributors: readonly string[],
  otaShare = 0.025,
  pairsPerArea = 6.5,
): Inventory {
  const otaCount = Math.round(pairs * otaShare);
  const normalCount = pairs - otaCount;
  const areas = Math.max(1, Math.round(normalCount / pairsPerArea));
  const list: Pair[] = [];
  for (let i = 0; i < pairs; i++) {
    const ota = i >= normalCount;
    const distributorId = distributors[i % distributors.length];
    list.push({
      index: i,
      esme: eui('E5', i),
      ch: eui('C4', i),
      mpan: mpanOf(distributorId, i),
      distributorId,
      // In-window pairs share areas of two with each other only.
      area: ota ? `OTA-${Math.floor((i - normalCount) / 2)}` : `FEEDER-${i % areas}`,
      ota,
    });
  }
  return {
    pairs: list,
    normal: list.filter((p) => !p.ota),
    ota: list.filter((p) => p.ota),
    areas: areas + Math.ceil(otaCount / 2),
    distributors,
  };
}

function devicesOf(p: Pair) {
  return [
    {
      guid: p.esme,
      deviceType: 'ESME',
      importSupplierId: SUPPLIER,
      manufacturer: 'AB01',
      // Half the normal meters are of the affected model too (not activated: not candidates).
      model: p.ota || p.index % 2 === 0 ? AFFECTED_MODEL : UNAFFECTED_MODEL,
      firmwareVersion: FIRMWARE,
      firmwareEffectiveFrom: INSTALLED_FROM,
      mpan: p.mpan,
      areaKey: p.area,
      smiStatus: 'Commissioned',
    },
    {
      guid: p.ch,
      deviceType: 'CHF',
      manufacturer: 'AB01',
      model: CH_MODEL,
      firmwareVersion: '00010001',
      firmwareEffectiveFrom: INSTALLED_FROM,
      areaKey: p.area,
      smiStatus: 'Commissioned',
    },
  ];
}

/**
 * Seeds the inventory through the API (upsertDevices, 5,000 devices a call; the image and the
 * rule), the CH-ESME links by one set-based INSERT (linkCommsHub takes one link per call), and
 * then, when `activate`, an immediate SR11.3 for every in-window ESME through the API.
 */
export async function seedInventory(
  url: string,
  db: Pool,
  inventory: Inventory,
  options: { activate: boolean },
): Promise<void> {
  const operator = await token({ role: 'OPERATOR' });
  const devices = inventory.pairs.flatMap(devicesOf);
  const BATCH = 5000;
  await lanes(Math.ceil(devices.length / BATCH), 2, async (b) => {
    await gql(
      url,
      'mutation ($d: [DeviceInput!]!) { upsertDevices(devices: $d) { inserted } }',
      { d: devices.slice(b * BATCH, (b + 1) * BATCH) },
      operator,
    );
  });
  await db.query(
    `INSERT INTO comms_hub_link (comms_hub_guid, esme_guid, effective_from)
     SELECT ch, esme, $3 FROM unnest($1::text[], $2::text[]) AS l(ch, esme)`,
    [inventory.pairs.map((p) => p.ch), inventory.pairs.map((p) => p.esme), INSTALLED_FROM],
  );
  await gql(
    url,
    'mutation ($i: FirmwareImageInput!) { registerFirmwareImage(image: $i) { id } }',
    { i: { manufacturer: 'AB01', model: AFFECTED_MODEL, version: TARGET, imageHash: IMAGE_HASH } },
    operator,
  );
  await gql(
    url,
    'mutation ($r: AffectedFirmwareRuleInput!) { upsertAffectedFirmwareRule(rule: $r) { id } }',
    {
      r: {
        name: 'bench: affected model',
        manufacturer: 'AB01',
        model: AFFECTED_MODEL,
        affectedFirmwareVersions: [FIRMWARE],
        windowMinutes: 30,
        skewMinutes: 2,
      },
    },
    operator,
  );
  if (options.activate && inventory.ota.length) await activate(url, inventory.ota);
  // Autovacuum analyses a bulk load within about a minute; the timed phases should not run on the
  // planner's empty-table estimates (they picked a plan ten times slower for the routing lookup).
  await db.query('ANALYZE');
}

/** Immediate SR11.3s (requested now: the window is open for the next 30 minutes). */
export async function activate(url: string, pairs: readonly Pair[]): Promise<void> {
  const supplier = await token({ role: 'IS', supplierId: SUPPLIER });
  const PER_REQUEST = 50;
  const counter = requestCounter;
  requestCounter += pairs.length;
  await lanes(Math.ceil(pairs.length / PER_REQUEST), 2, async (b) => {
    const chunk = pairs.slice(b * PER_REQUEST, (b + 1) * PER_REQUEST);
    const fields = chunk
      .map(
        (p, i) =>
          `a${i}: scheduleFirmwareActivation(activation: {requestId: "${SUPPLIER}:${p.esme}:${counter + b * PER_REQUEST + i}", esmeGuid: "${p.esme}", imageHash: "${IMAGE_HASH}"}) { id }`,
      )
      .join('\n');
    await gql(url, `mutation { ${fields} }`, {}, supplier);
  });
}
let requestCounter = 1000;

/** One AD1 as the GraphQL input. */
export function ad1(pair: Pair, startAt: Date) {
  return { powerOutage: { commsHubGuid: pair.ch, startAt: startAt.toISOString(), mpan: pair.mpan } };
}
