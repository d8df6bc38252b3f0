import fc from 'fast-check';

import { planActivationCampaign } from '../../src/domain/campaign';
import type { CampaignDevice, CampaignSlot } from '../../src/domain/campaign';
import { InvalidInputError } from '../../src/domain/errors';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const FROM = new Date('2030-03-01T00:00:00Z');
const at = (offsetMs: number) => new Date(FROM.getTime() + offsetMs);
const NOW = at(-HOUR);

/** A deterministic EUI-64 for device number n. */
const guid = (n: number) =>
  n
    .toString(16)
    .toUpperCase()
    .padStart(16, '0')
    .replace(/(..)(?!$)/g, '$1-');

function devices(perArea: Record<string, number>): CampaignDevice[] {
  let n = 0;
  return Object.entries(perArea).flatMap(([areaKey, count]) =>
    Array.from({ length: count }, () => ({ guid: guid(++n), areaKey })),
  );
}

/** The largest number of activations any area gets in any clock hour. */
function maxPerAreaHour(slots: readonly CampaignSlot[]): number {
  const counts = new Map<string, number>();
  for (const slot of slots) {
    const key = `${slot.areaKey}|${Math.floor(slot.executeAt.getTime() / HOUR)}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return Math.max(0, ...counts.values());
}

function rejection(fn: () => unknown): InvalidInputError {
  try {
    fn();
  } catch (error) {
    if (error instanceof InvalidInputError) return error;
    throw error;
  }
  throw new Error('expected an InvalidInputError');
}

describe('planActivationCampaign', () => {
  it('plans every device once, inside the range, under the cap, ordered by time', () => {
    const esmes = devices({ 'SS-001': 10, 'SS-002': 3, 'SS-003': 1 });
    const slots = planActivationCampaign({
      esmes,
      from: FROM,
      to: at(5 * HOUR),
      maxPerAreaPerHour: 2,
      now: NOW,
    });
    expect(slots.map((s) => s.guid).sort()).toEqual(esmes.map((e) => e.guid).sort());
    for (const slot of slots) {
      expect(slot.executeAt.getTime()).toBeGreaterThanOrEqual(FROM.getTime());
      expect(slot.executeAt.getTime()).toBeLessThan(at(5 * HOUR).getTime());
    }
    expect(maxPerAreaHour(slots)).toBeLessThanOrEqual(2);
    const times = slots.map((s) => s.executeAt.getTime());
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('spreads neighbours across the whole range rather than packing the first hours', () => {
    const esmes = devices({ street: 4 });
    const slots = planActivationCampaign({
      esmes,
      from: FROM,
      to: at(8 * HOUR),
      maxPerAreaPerHour: 10,
      now: NOW,
    });
    const hours = slots.map((s) => Math.floor((s.executeAt.getTime() - FROM.getTime()) / HOUR));
    expect(new Set(hours).size).toBe(4);
    const gaps = slots.slice(1).map((s, i) => s.executeAt.getTime() - slots[i].executeAt.getTime());
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(HOUR);
  });

  it('fills exactly to capacity', () => {
    const esmes = devices({ a: 6, b: 6 });
    const slots = planActivationCampaign({
      esmes,
      from: FROM,
      to: at(3 * HOUR),
      maxPerAreaPerHour: 2,
      now: NOW,
    });
    expect(slots).toHaveLength(12);
    expect(maxPerAreaHour(slots)).toBe(2);
  });

  it('counts partial clock hours at the ends of the range as hours', () => {
    const from = at(59 * MINUTE);
    const to = at(2 * HOUR + MINUTE);
    const slots = planActivationCampaign({
      esmes: devices({ a: 3 }),
      from,
      to,
      maxPerAreaPerHour: 1,
      now: NOW,
    });
    expect(slots.map((s) => Math.floor(s.executeAt.getTime() / HOUR) - FROM.getTime() / HOUR)).toEqual([
      0, 1, 2,
    ]);
  });

  it('starts no earlier than now', () => {
    const now = at(90 * MINUTE);
    const slots = planActivationCampaign({
      esmes: devices({ a: 5 }),
      from: FROM,
      to: at(4 * HOUR),
      maxPerAreaPerHour: 5,
      now,
    });
    for (const slot of slots) expect(slot.executeAt.getTime()).toBeGreaterThanOrEqual(now.getTime());
  });

  it('is deterministic and independent of input order', () => {
    const esmes = devices({ a: 7, b: 5, c: 9 });
    const request = { from: FROM, to: at(6 * HOUR), maxPerAreaPerHour: 3, now: NOW };
    const first = planActivationCampaign({ ...request, esmes });
    expect(planActivationCampaign({ ...request, esmes })).toEqual(first);
    expect(planActivationCampaign({ ...request, esmes: [...esmes].reverse() })).toEqual(first);
  });

  it('normalises GUIDs', () => {
    const [slot] = planActivationCampaign({
      esmes: [{ guid: '00db1234567890a0', areaKey: 'a' }],
      from: FROM,
      to: at(HOUR),
      maxPerAreaPerHour: 1,
      now: NOW,
    });
    expect(slot.guid).toBe('00-DB-12-34-56-78-90-A0');
  });

  it('returns an empty plan for no devices', () => {
    expect(
      planActivationCampaign({ esmes: [], from: FROM, to: at(HOUR), maxPerAreaPerHour: 1, now: NOW }),
    ).toEqual([]);
  });

  it('says how many fit when the range cannot hold them', () => {
    const error = rejection(() =>
      planActivationCampaign({
        esmes: devices({ big: 7, small: 2 }),
        from: FROM,
        to: at(3 * HOUR),
        maxPerAreaPerHour: 2,
        now: NOW,
      }),
    );
    expect(error.reason).toBe('CAMPAIGN_DOES_NOT_FIT');
    expect(error.details).toMatchObject({
      requested: 9,
      fits: 8,
      capacityPerArea: 6,
      hours: 3,
      overfullAreas: ['big'],
    });
  });

  it.each([
    ['INVALID_TIME_RANGE', { to: FROM }],
    ['INVALID_TIME_RANGE', { to: at(-MINUTE) }],
    ['INVALID_TIME_RANGE', { now: at(2 * HOUR) }],
    ['INVALID_DATETIME', { from: new Date(Number.NaN) }],
    ['INVALID_AREA_CAP', { maxPerAreaPerHour: 0 }],
    ['INVALID_AREA_CAP', { maxPerAreaPerHour: 1.5 }],
    ['INVALID_EUI64', { esmes: [{ guid: 'nope', areaKey: 'a' }] }],
    [
      'DUPLICATE_DEVICE',
      {
        esmes: [
          { guid: '00-DB-12-34-56-78-90-A0', areaKey: 'a' },
          { guid: '00db1234567890a0', areaKey: 'b' },
        ],
      },
    ],
  ])('rejects with %s: %j', (reason, override) => {
    const request = { esmes: devices({ a: 1 }), from: FROM, to: at(HOUR), maxPerAreaPerHour: 1, now: NOW };
    expect(rejection(() => planActivationCampaign({ ...request, ...override })).reason).toBe(reason);
  });

  it('plans a large campaign quickly', () => {
    const esmes = Array.from({ length: 100_000 }, (_, i) => ({
      guid: guid(i + 1),
      areaKey: `area-${i % 5000}`,
    }));
    const started = process.hrtime.bigint();
    const slots = planActivationCampaign({
      esmes,
      from: FROM,
      to: at(24 * HOUR),
      maxPerAreaPerHour: 2,
      now: NOW,
    });
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    expect(slots).toHaveLength(100_000);
    expect(maxPerAreaHour(slots)).toBeLessThanOrEqual(2);
    expect(elapsedMs).toBeLessThan(5000);
  });

  it('never exceeds the cap and always stays within [max(from, now), to) (property)', () => {
    const scenario = fc
      .record({
        fromOffset: fc.integer({ min: 0, max: 3 * 24 * 60 * 60 }).map((s) => s * 1000 + 123),
        lengthMs: fc.integer({ min: 1, max: 48 * HOUR }),
        nowOffset: fc.integer({ min: -2 * HOUR, max: 2 * HOUR }),
        cap: fc.integer({ min: 1, max: 6 }),
        areaSizes: fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 6 }),
      })
      .map((s) => ({
        ...s,
        esmes: devices(Object.fromEntries(s.areaSizes.map((size, i) => [`area-${i}`, size]))),
      }));
    fc.assert(
      fc.property(scenario, ({ fromOffset, lengthMs, nowOffset, cap, esmes }) => {
        const from = at(fromOffset);
        const to = at(fromOffset + lengthMs);
        const now = at(fromOffset + nowOffset);
        const start = Math.max(from.getTime(), now.getTime());
        const request = { esmes, from, to, maxPerAreaPerHour: cap, now };
        if (to.getTime() <= start) {
          expect(rejection(() => planActivationCampaign(request)).reason).toBe('INVALID_TIME_RANGE');
          return;
        }
        let slots: CampaignSlot[];
        try {
          slots = planActivationCampaign(request);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidInputError);
          expect((error as InvalidInputError).reason).toBe('CAMPAIGN_DOES_NOT_FIT');
          const hours = Math.floor((to.getTime() - 1) / HOUR) - Math.floor(start / HOUR) + 1;
          const sizes = new Map<string, number>();
          for (const e of esmes) sizes.set(e.areaKey, (sizes.get(e.areaKey) ?? 0) + 1);
          expect(Math.max(...sizes.values())).toBeGreaterThan(hours * cap);
          return;
        }
        expect(slots).toHaveLength(esmes.length);
        expect(new Set(slots.map((s) => s.guid)).size).toBe(esmes.length);
        expect(maxPerAreaHour(slots)).toBeLessThanOrEqual(cap);
        for (const slot of slots) {
          expect(slot.executeAt.getTime()).toBeGreaterThanOrEqual(start);
          expect(slot.executeAt.getTime()).toBeLessThan(to.getTime());
        }
      }),
      { numRuns: 300 },
    );
  });
});
