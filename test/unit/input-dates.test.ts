import { checkInputDates } from '../../src/domain/input-dates';

const NOW = new Date('2030-01-15T09:05:00Z');
const BOUNDS = { earliest: new Date('2000-01-01T00:00:00Z'), maxFutureDays: 366 };
const at = (iso: string) => new Date(iso);

describe('plausible input dates', () => {
  test('the range is inclusive at both ends, and non-dates are ignored', () => {
    expect(() =>
      checkInputDates(
        { a: at('2000-01-01T00:00:00Z'), b: [at('2031-01-16T09:05:00Z')], c: 'x', d: 3, e: null },
        NOW,
        BOUNDS,
      ),
    ).not.toThrow();
  });

  test.each([
    '1999-12-31T23:59:59.999Z',
    '2031-01-16T09:05:00.001Z',
    '1970-01-01T00:00:00Z',
    '3000-12-31T00:00:00Z',
  ])('%s: DATE_OUT_OF_RANGE naming its path and the range', (iso) => {
    expect(() => checkInputDates({ alerts: [{}, { outage: { startAt: at(iso) } }] }, NOW, BOUNDS)).toThrow(
      expect.objectContaining({
        reason: 'DATE_OUT_OF_RANGE',
        field: 'alerts[1].outage.startAt',
        details: expect.objectContaining({
          earliest: '2000-01-01T00:00:00.000Z',
          latest: '2031-01-16T09:05:00.000Z',
        }),
      }),
    );
  });

  test('the cancellation date passes only where it is allowed', () => {
    const sentinel = at('3000-12-31T00:00:00Z');
    expect(() =>
      checkInputDates(
        { activation: { executeAt: sentinel } },
        NOW,
        BOUNDS,
        new Set(['activation.executeAt']),
      ),
    ).not.toThrow();
    expect(() =>
      checkInputDates({ activation: { from: sentinel } }, NOW, BOUNDS, new Set(['activation.executeAt'])),
    ).toThrow(expect.objectContaining({ reason: 'DATE_OUT_OF_RANGE' }));
    // Only the exact sentinel: the day after is just a date 970 years ahead.
    expect(() =>
      checkInputDates(
        { activation: { executeAt: at('3000-12-31T00:00:01Z') } },
        NOW,
        BOUNDS,
        new Set(['activation.executeAt']),
      ),
    ).toThrow(expect.objectContaining({ reason: 'DATE_OUT_OF_RANGE' }));
  });
});
