import fc from 'fast-check';

import { InvalidInputError } from '../../src/domain/errors';
import {
  UINT64_MAX,
  compareRequestCounters,
  inspectMpan,
  isCancellationSentinel,
  mpanCheckDigit,
  mpanDistributorId,
  parseEui64,
  parseFirmwareHash,
  parseFirmwareVersion,
  parseManufacturerId,
  parseModelId,
  parseMpan,
  parseRequestId,
  parseUtcDateTime,
} from '../../src/domain/identifiers';

/** The reason (and field) of the InvalidInputError that `fn` throws. */
function rejection(fn: () => unknown): { reason: string; field?: string } {
  try {
    fn();
  } catch (error) {
    if (error instanceof InvalidInputError) {
      return error.field === undefined
        ? { reason: error.reason }
        : { reason: error.reason, field: error.field };
    }
    throw error;
  }
  throw new Error('expected an InvalidInputError, nothing was thrown');
}

const hexChar = fc.constantFrom(...'0123456789abcdefABCDEF'.split(''));
const hexString = (length: number) =>
  fc.array(hexChar, { minLength: length, maxLength: length }).map((chars) => chars.join(''));
const octets = fc.array(hexString(2), { minLength: 8, maxLength: 8 });
const eui64 = octets.map((parts) => parts.join('-'));
const digits = (length: number) =>
  fc.array(fc.integer({ min: 0, max: 9 }), { minLength: length, maxLength: length }).map((ds) => ds.join(''));

describe('parseEui64', () => {
  it.each([
    ['00-db-12-34-56-78-90-a0', '00-DB-12-34-56-78-90-A0'],
    ['00-DB-12-34-56-78-90-A0', '00-DB-12-34-56-78-90-A0'],
    ['00db1234567890a0', '00-DB-12-34-56-78-90-A0'],
    ['  90-B3-D5-1F-30-01-00-00 ', '90-B3-D5-1F-30-01-00-00'],
  ])('normalises %j', (input, expected) => {
    expect(parseEui64(input)).toBe(expected);
  });

  it.each([
    '',
    '00-DB-12-34-56-78-90',
    '00-DB-12-34-56-78-90-A0-01',
    '00:DB:12:34:56:78:90:A0',
    '00-DB-12-34-56-78-90-G0',
    '0-DB-12-34-56-78-90-A0',
    '00DB-1234-5678-90A0',
    '00db1234567890a',
    '00-DB-12-34-56-78-90-A0x',
  ])('rejects %j with INVALID_EUI64 and the field', (input) => {
    expect(rejection(() => parseEui64(input, 'guid'))).toEqual({ reason: 'INVALID_EUI64', field: 'guid' });
  });

  it('rejects non-strings', () => {
    expect(rejection(() => parseEui64(42))).toEqual({ reason: 'INVALID_EUI64' });
    expect(rejection(() => parseEui64(null))).toEqual({ reason: 'INVALID_EUI64' });
  });

  it('is idempotent on its output and case-insensitive (property)', () => {
    fc.assert(
      fc.property(eui64, (input) => {
        const once = parseEui64(input);
        expect(parseEui64(once)).toBe(once);
        expect(parseEui64(input.toLowerCase())).toBe(once);
        expect(parseEui64(input.replace(/-/g, ''))).toBe(once);
        expect(once).toMatch(/^[0-9A-F]{2}(-[0-9A-F]{2}){7}$/);
      }),
    );
  });

  it('rejects random strings that are not EUI-64s (property)', () => {
    const looksValid = (s: string) => /^[0-9A-F]{2}(-[0-9A-F]{2}){7}$|^[0-9A-F]{16}$/i.test(s.trim());
    fc.assert(
      fc.property(
        fc.string({ maxLength: 30 }).filter((s) => !looksValid(s)),
        (input) => {
          expect(rejection(() => parseEui64(input)).reason).toBe('INVALID_EUI64');
        },
      ),
    );
  });
});

describe('MPAN', () => {
  const validExamples = ['1000000000003', '1200023305967', '2300000000019', '1500012345672', '1999999999991'];

  it.each(validExamples)('accepts the domain reference example %s', (mpan) => {
    expect(parseMpan(mpan)).toBe(mpan);
    expect(mpanCheckDigit(mpan.slice(0, 12))).toBe(Number(mpan[12]));
  });

  it('accepts grouped spaces and trims', () => {
    expect(parseMpan(' 12 0002 3305 967 ')).toBe('1200023305967');
  });

  it.each([
    ['', 'INVALID_MPAN_FORMAT'],
    ['120002330596', 'INVALID_MPAN_FORMAT'],
    ['12000233059670', 'INVALID_MPAN_FORMAT'],
    ['12000233059a7', 'INVALID_MPAN_FORMAT'],
    ['1200-0233-05967', 'INVALID_MPAN_FORMAT'],
    ['1200023305968', 'INVALID_MPAN_CHECK_DIGIT'],
    ['1000000000004', 'INVALID_MPAN_CHECK_DIGIT'],
  ])('rejects %j with %s', (input, reason) => {
    expect(rejection(() => parseMpan(input, 'mpan'))).toEqual({ reason, field: 'mpan' });
  });

  it('appending the computed check digit always parses; any other last digit never does (property)', () => {
    fc.assert(
      fc.property(digits(12), fc.integer({ min: 1, max: 9 }), (first12, shift) => {
        const check = mpanCheckDigit(first12);
        expect(parseMpan(`${first12}${check}`)).toBe(`${first12}${check}`);
        const wrong = (check + shift) % 10;
        expect(rejection(() => parseMpan(`${first12}${wrong}`)).reason).toBe('INVALID_MPAN_CHECK_DIGIT');
      }),
    );
  });

  describe('inspectMpan (alerts: flag, never reject)', () => {
    it.each([
      [
        '1200023305967',
        { mpan: '1200023305967', wellFormed: true, checkDigitValid: true, distributorId: '12' },
      ],
      [
        '1200023305968',
        { mpan: '1200023305968', wellFormed: true, checkDigitValid: false, distributorId: '12' },
      ],
      [
        '12 0002 3305 967',
        { mpan: '1200023305967', wellFormed: true, checkDigitValid: true, distributorId: '12' },
      ],
      ['1234567890', { mpan: '1234567890', wellFormed: false, checkDigitValid: false, distributorId: null }],
      ['', { mpan: '', wellFormed: false, checkDigitValid: false, distributorId: null }],
      ['ABC', { mpan: 'ABC', wellFormed: false, checkDigitValid: false, distributorId: null }],
    ])('%j', (input, expected) => {
      expect(inspectMpan(input)).toEqual(expected);
    });

    it('never throws (property)', () => {
      fc.assert(
        fc.property(fc.string(), (input) => {
          const result = inspectMpan(input);
          expect(result.checkDigitValid && !result.wellFormed).toBe(false);
          expect(result.distributorId === null).toBe(!result.wellFormed);
        }),
      );
    });
  });

  it('mpanDistributorId returns the prefix even with a bad check digit, and rejects malformed input', () => {
    expect(mpanDistributorId('2300000000019')).toBe('23');
    expect(mpanDistributorId('2300000000018')).toBe('23');
    expect(rejection(() => mpanDistributorId('23'))).toEqual({ reason: 'INVALID_MPAN_FORMAT' });
  });
});

describe('parseRequestId', () => {
  it('normalises both EUI-64s and keeps the counter as a string', () => {
    expect(parseRequestId('90-b3-d5-1f-30-01-00-00:00db1234567890a0:1001', 'requestId')).toEqual({
      requestId: '90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1001',
      originatorId: '90-B3-D5-1F-30-01-00-00',
      targetId: '00-DB-12-34-56-78-90-A0',
      counter: '1001',
    });
  });

  it.each(['0', '1', '18446744073709551615'])('accepts counter %s', (counter) => {
    expect(parseRequestId(`90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:${counter}`).counter).toBe(
      counter,
    );
  });

  it.each([
    '90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0',
    '90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1:2',
    '90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:',
    '90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:18446744073709551616',
    '90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:99999999999999999999',
    '90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:-1',
    '90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:+1',
    '90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:007',
    '90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1.5',
    'XX-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1',
    '90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90:1',
  ])('rejects %j with INVALID_REQUEST_ID', (input) => {
    expect(rejection(() => parseRequestId(input, 'requestId'))).toEqual({
      reason: 'INVALID_REQUEST_ID',
      field: 'requestId',
    });
  });

  it('round-trips any valid request ID (property)', () => {
    fc.assert(
      fc.property(eui64, eui64, fc.bigInt({ min: 0n, max: UINT64_MAX }), (originator, target, counter) => {
        const parsed = parseRequestId(`${originator}:${target}:${counter}`);
        expect(parsed.originatorId).toBe(parseEui64(originator));
        expect(parsed.targetId).toBe(parseEui64(target));
        expect(BigInt(parsed.counter)).toBe(counter);
        expect(parseRequestId(parsed.requestId)).toEqual(parsed);
      }),
    );
  });

  it('rejects any counter above 2^64-1 (property)', () => {
    fc.assert(
      fc.property(
        eui64,
        eui64,
        fc.bigInt({ min: UINT64_MAX + 1n, max: 2n ** 80n }),
        (originator, target, counter) => {
          expect(rejection(() => parseRequestId(`${originator}:${target}:${counter}`)).reason).toBe(
            'INVALID_REQUEST_ID',
          );
        },
      ),
    );
  });

  it('compares counters numerically, beyond Number precision', () => {
    expect(compareRequestCounters('9', '10')).toBeLessThan(0);
    expect(compareRequestCounters('18446744073709551615', '18446744073709551614')).toBeGreaterThan(0);
    expect(compareRequestCounters('9007199254740993', '9007199254740993')).toBe(0);
  });
});

describe('parseFirmwareHash', () => {
  const hex = 'AA758690730934FF0685AA758690730934FF0685657788990011223344556677';

  it('accepts 64 hex digits in any case and returns lower case', () => {
    expect(parseFirmwareHash(hex)).toBe(hex.toLowerCase());
    expect(parseFirmwareHash(hex.toLowerCase())).toBe(hex.toLowerCase());
  });

  it('accepts canonical base64 of exactly 32 bytes', () => {
    const base64 = Buffer.from(hex, 'hex').toString('base64');
    expect(base64).toHaveLength(44);
    expect(parseFirmwareHash(base64)).toBe(hex.toLowerCase());
  });

  it.each([
    ['63 hex digits', hex.slice(1)],
    ['65 hex digits', `${hex}0`],
    ['non-hex', `${hex.slice(1)}G`],
    ['base64 of 31 bytes', Buffer.alloc(31, 7).toString('base64')],
    ['base64 of 33 bytes', Buffer.alloc(33, 7).toString('base64')],
    ['unpadded base64', Buffer.alloc(32, 7).toString('base64').slice(0, 43)],
    ['non-canonical base64 (trailing bits set)', `${Buffer.alloc(32, 0).toString('base64').slice(0, 42)}B=`],
    ['empty', ''],
  ])('rejects %s', (_label, input) => {
    expect(rejection(() => parseFirmwareHash(input, 'firmwareHash'))).toEqual({
      reason: 'INVALID_FIRMWARE_HASH',
      field: 'firmwareHash',
    });
  });

  it('hex and base64 of the same bytes agree (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
        const buffer = Buffer.from(bytes);
        expect(parseFirmwareHash(buffer.toString('base64'))).toBe(parseFirmwareHash(buffer.toString('hex')));
      }),
    );
  });
});

describe('inventory attributes', () => {
  it.each([
    ['parseManufacturerId', parseManufacturerId, 'ab01', 'AB01'],
    ['parseModelId', parseModelId, '010a030b', '010A030B'],
    ['parseFirmwareVersion', parseFirmwareVersion, '0002012f', '0002012F'],
    ['parseFirmwareVersion', parseFirmwareVersion, 'v1.2a', 'v1.2a'],
    ['parseFirmwareVersion', parseFirmwareVersion, '1', '1'],
    ['parseFirmwareVersion', parseFirmwareVersion, ' 12345678 ', '12345678'],
  ])('%s(%j) = %j', (_name, parse, input, expected) => {
    expect(parse(input)).toBe(expected);
  });

  it.each([
    ['parseManufacturerId', parseManufacturerId, 'AB0', 'INVALID_MANUFACTURER_ID'],
    ['parseManufacturerId', parseManufacturerId, 'AB012', 'INVALID_MANUFACTURER_ID'],
    ['parseManufacturerId', parseManufacturerId, 'AG01', 'INVALID_MANUFACTURER_ID'],
    ['parseModelId', parseModelId, '010A030', 'INVALID_MODEL_ID'],
    ['parseModelId', parseModelId, '010A030B0', 'INVALID_MODEL_ID'],
    ['parseModelId', parseModelId, '010A-30B', 'INVALID_MODEL_ID'],
    ['parseFirmwareVersion', parseFirmwareVersion, '', 'INVALID_FIRMWARE_VERSION'],
    ['parseFirmwareVersion', parseFirmwareVersion, '123456789', 'INVALID_FIRMWARE_VERSION'],
    ['parseFirmwareVersion', parseFirmwareVersion, 'v 1', 'INVALID_FIRMWARE_VERSION'],
    ['parseFirmwareVersion', parseFirmwareVersion, 'vé1', 'INVALID_FIRMWARE_VERSION'],
    ['parseFirmwareVersion', parseFirmwareVersion, 'a\tb', 'INVALID_FIRMWARE_VERSION'],
  ])('%s rejects %j with %s', (_name, parse, input, reason) => {
    expect(rejection(() => parse(input, 'x'))).toEqual({ reason, field: 'x' });
  });
});

describe('parseUtcDateTime', () => {
  it.each([
    ['2030-01-15T09:00:00Z', '2030-01-15T09:00:00.000Z'],
    ['2030-01-15T09:00:00.00Z', '2030-01-15T09:00:00.000Z'],
    ['2030-01-15T09:00:00.123456789Z', '2030-01-15T09:00:00.123Z'],
    ['2030-01-15t09:00:00z', '2030-01-15T09:00:00.000Z'],
    ['2025-07-01T10:30:00+01:00', '2025-07-01T09:30:00.000Z'],
    ['2025-07-01T10:30:00-05:30', '2025-07-01T16:00:00.000Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
    ['2000-02-29T00:00:00Z', '2000-02-29T00:00:00.000Z'],
    ['1970-01-01T00:00:00Z', '1970-01-01T00:00:00.000Z'],
    ['3000-12-31T00:00:00.00Z', '3000-12-31T00:00:00.000Z'],
    ['3000-12-31T23:59:59.999Z', '3000-12-31T23:59:59.999Z'],
  ])('%s', (input, iso) => {
    expect(parseUtcDateTime(input).toISOString()).toBe(iso);
  });

  it.each([
    ['2025-02-30T00:00:00Z', 'no such date'],
    ['2025-02-29T00:00:00Z', 'not a leap year'],
    ['2100-02-29T00:00:00Z', 'century not a leap year'],
    ['2025-13-01T00:00:00Z', 'month 13'],
    ['2025-04-31T00:00:00Z', 'April 31'],
    ['2025-01-01T24:00:00Z', 'hour 24'],
    ['2025-01-01T23:60:00Z', 'minute 60'],
    ['2025-06-30T23:59:60Z', 'leap second'],
    ['2025-01-01T00:00:00', 'no offset'],
    ['2025-01-01T00:00Z', 'no seconds'],
    ['2025-01-01', 'date only'],
    ['2025-01-01 00:00:00Z', 'space separator'],
    ['2025-01-01T00:00:00+0100', 'offset without colon'],
    ['2025-01-01T00:00:00+15:00', 'offset beyond 14 hours'],
    ['1969-12-31T23:59:59Z', 'before 1970'],
    ['1970-01-01T00:30:00+01:00', 'before 1970 in UTC'],
    ['3001-01-01T00:00:00Z', 'after 3000'],
    ['0050-01-01T00:00:00Z', 'two-digit-era year'],
    ['not a date', 'garbage'],
  ])('rejects %s (%s)', (input) => {
    expect(rejection(() => parseUtcDateTime(input, 'executeAt'))).toEqual({
      reason: 'INVALID_DATETIME',
      field: 'executeAt',
    });
  });

  it('accepts a valid Date and rejects an invalid one', () => {
    expect(parseUtcDateTime(new Date('2030-01-01T00:00:00Z')).toISOString()).toBe('2030-01-01T00:00:00.000Z');
    expect(rejection(() => parseUtcDateTime(new Date(Number.NaN))).reason).toBe('INVALID_DATETIME');
  });

  it('round-trips toISOString for any instant in range (property)', () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date('1970-01-01T00:00:00Z'),
          max: new Date('3000-12-31T23:59:59.999Z'),
          noInvalidDate: true,
        }),
        (date) => {
          expect(parseUtcDateTime(date.toISOString()).getTime()).toBe(date.getTime());
        },
      ),
    );
  });
});

describe('isCancellationSentinel', () => {
  it('recognises 3000-12-31T00:00:00Z however it was written, and nothing else', () => {
    expect(isCancellationSentinel(parseUtcDateTime('3000-12-31T00:00:00.00Z'))).toBe(true);
    expect(isCancellationSentinel(parseUtcDateTime('3000-12-31T01:00:00+01:00'))).toBe(true);
    expect(isCancellationSentinel(parseUtcDateTime('3000-12-31T00:00:01Z'))).toBe(false);
    expect(isCancellationSentinel(parseUtcDateTime('2030-01-15T09:00:00Z'))).toBe(false);
  });
});
