/**
 * Planning a firmware activation campaign: spread many SR11.3 execution times over a time range so
 * that no area gets more than a set number of activations in any clock hour, and neighbours are
 * activated far apart. A genuine outage is recognised by its cluster of AD1s; activating a whole
 * street at once would look exactly like one.
 */
import { InvalidInputError } from './errors';
import { parseEui64 } from './identifiers';

const HOUR_MS = 3_600_000;
const SECOND_MS = 1000;

/** One ESME to activate and the area key neighbours share (feeder, substation, postcode sector). */
export interface CampaignDevice {
  readonly guid: string;
  readonly areaKey: string;
}

export interface CampaignRequest {
  readonly esmes: readonly CampaignDevice[];
  /** Inclusive start of the range. */
  readonly from: Date;
  /** Exclusive end of the range. */
  readonly to: Date;
  /** The most activations one area may get in one clock hour (UTC hour buckets). */
  readonly maxPerAreaPerHour: number;
  /** Execution times are never placed before now. */
  readonly now: Date;
}

/** One planned activation. */
export interface CampaignSlot {
  /** The normalised EUI-64 of the ESME. */
  readonly guid: string;
  readonly areaKey: string;
  readonly executeAt: Date;
}

/**
 * A position in [0, 1) derived from the area key (FNV-1a). Offsetting each area by its own phase
 * keeps areas from all firing at the same instants, without randomness: the same key always gets
 * the same phase, whatever else is in the campaign.
 */
function areaPhase(areaKey: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < areaKey.length; i++) {
    hash = Math.imul(hash ^ areaKey.charCodeAt(i), 0x01000193) >>> 0;
  }
  return hash / 2 ** 32;
}

function requireValidDate(value: Date, field: string): number {
  const t = value instanceof Date ? value.getTime() : Number.NaN;
  if (Number.isNaN(t))
    throw new InvalidInputError('INVALID_DATETIME', `${field} is not a valid date-time`, field);
  return t;
}

/**
 * Plan execution times for a campaign. Each area's capacity is (clock hours touching the range) x
 * maxPerAreaPerHour; a partial first or last hour still counts as an hour, because the cap is per
 * clock hour. Within an area the devices (sorted by GUID) are spread evenly over all its capacity
 * slots, so neighbours land as far apart as the range allows. The range starts at max(from, now).
 * Deterministic and O(n log n). Returns the slots ordered by executeAt, then GUID.
 *
 * Throws InvalidInputError `INVALID_TIME_RANGE` when the range is empty or wholly past,
 * `INVALID_AREA_CAP` for a cap that is not a positive integer, `DUPLICATE_DEVICE` when an ESME is
 * listed twice, and `CAMPAIGN_DOES_NOT_FIT` (details: requested, fits, capacityPerArea, hours,
 * overfullAreas) when some area has more devices than its capacity.
 */
export function planActivationCampaign(request: CampaignRequest): CampaignSlot[] {
  const fromMs = requireValidDate(request.from, 'from');
  const toMs = requireValidDate(request.to, 'to');
  const nowMs = requireValidDate(request.now, 'now');
  if (toMs <= fromMs) throw new InvalidInputError('INVALID_TIME_RANGE', '`to` must be after `from`', 'to');
  const startMs = Math.max(fromMs, nowMs);
  if (toMs <= startMs)
    throw new InvalidInputError('INVALID_TIME_RANGE', 'the time range is already over', 'to');
  const cap = request.maxPerAreaPerHour;
  if (!Number.isSafeInteger(cap) || cap < 1) {
    throw new InvalidInputError(
      'INVALID_AREA_CAP',
      'maxPerAreaPerHour must be a positive integer',
      'maxPerAreaPerHour',
    );
  }

  const areas = new Map<string, string[]>();
  const seen = new Set<string>();
  request.esmes.forEach((esme, i) => {
    const guid = parseEui64(esme.guid, `esmes[${i}].guid`);
    if (seen.has(guid)) {
      throw new InvalidInputError('DUPLICATE_DEVICE', `${guid} is listed more than once`, `esmes[${i}].guid`);
    }
    seen.add(guid);
    const members = areas.get(esme.areaKey);
    if (members === undefined) areas.set(esme.areaKey, [guid]);
    else members.push(guid);
  });

  const firstHourMs = Math.floor(startMs / HOUR_MS) * HOUR_MS;
  const hours = Math.floor((toMs - 1 - firstHourMs) / HOUR_MS) + 1;
  const capacityPerArea = hours * cap;
  let fits = 0;
  const overfull: string[] = [];
  for (const [areaKey, members] of areas) {
    fits += Math.min(members.length, capacityPerArea);
    if (members.length > capacityPerArea) overfull.push(areaKey);
  }
  if (overfull.length > 0) {
    throw new InvalidInputError(
      'CAMPAIGN_DOES_NOT_FIT',
      `only ${fits} of ${request.esmes.length} activations fit: ${overfull.length} area(s) exceed ` +
        `${capacityPerArea} activations (${cap} per hour over ${hours} clock hours)`,
      'esmes',
      {
        requested: request.esmes.length,
        fits,
        capacityPerArea,
        hours,
        overfullAreas: overfull.sort().slice(0, 20),
      },
    );
  }

  const slots: CampaignSlot[] = [];
  for (const [areaKey, members] of areas) {
    members.sort();
    const n = members.length;
    // Using no more slots per hour than the area has devices keeps the arithmetic small and exact.
    const perHour = Math.min(cap, n);
    const totalSlots = hours * perHour;
    const phase = areaPhase(areaKey);
    let previous = -1;
    for (let i = 0; i < n; i++) {
      // Evenly spaced slot indices; totalSlots >= n makes them strictly increasing. The clamps only
      // guard against floating-point rounding.
      let index = Math.floor(((i + phase) * totalSlots) / n);
      index = Math.min(Math.max(index, previous + 1), totalSlots - (n - i));
      previous = index;
      const hour = Math.floor(index / perHour);
      const slotInHour = index - hour * perHour;
      const bucketStart = Math.max(startMs, firstHourMs + hour * HOUR_MS);
      const bucketEnd = Math.min(toMs, firstHourMs + (hour + 1) * HOUR_MS);
      let t = bucketStart + Math.floor(((slotInHour + phase) * (bucketEnd - bucketStart)) / perHour);
      t = Math.min(t, bucketEnd - 1);
      // Whole seconds read better in DUIS and logs, when that does not leave the bucket.
      const wholeSecond = Math.floor(t / SECOND_MS) * SECOND_MS;
      if (wholeSecond >= bucketStart) t = wholeSecond;
      slots.push({ guid: members[i], areaKey, executeAt: new Date(t) });
    }
  }
  slots.sort(
    (a, b) =>
      a.executeAt.getTime() - b.executeAt.getTime() || (a.guid < b.guid ? -1 : a.guid > b.guid ? 1 : 0),
  );
  return slots;
}
