import { InvalidInputError } from '../../domain/errors';
import {
  parseEui64,
  parseFirmwareVersion,
  parseManufacturerId,
  parseModelId,
  parseMpan,
  parseUtcDateTime,
} from '../../domain/identifiers';
import { DEVICE_TYPES, SMI_STATUSES } from '../../domain/model';
import type { DeviceType, SmiStatus } from '../../domain/model';

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

/** A DeviceInput once validated: identifiers parsed, defaults applied. */
export interface ValidDevice {
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
const AREA_KEY_MAX = 64;

/** Refuses an empty batch, or one of more than `limit` items; `field` names the list ('devices', 'links'). */
export function checkBatchSize(count: number, limit: number, field: string): void {
  if (count === 0) throw new InvalidInputError('EMPTY_BATCH', `${field} must not be empty`, field);
  if (count > limit) {
    throw new InvalidInputError(
      'BATCH_TOO_LARGE',
      `at most ${limit} ${field} per call (got ${count})`,
      field,
      {
        limit,
      },
    );
  }
}

/** Validates every device of a batch; a device may appear in it once. */
export function validateDevices(inputs: readonly DeviceInput[], now: Date): ValidDevice[] {
  const seen = new Set<string>();
  return inputs.map((input, i) => {
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
