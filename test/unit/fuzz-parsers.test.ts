import fc from 'fast-check';
import { InvalidInputError } from '../../src/domain/errors';
import {
  inspectMpan,
  mpanCheckDigit,
  parseEui64,
  parseFirmwareHash,
  parseMpan,
  parseRequestId,
  parseUtcDateTime,
} from '../../src/domain/identifiers';

/**
 * Random and mutated input at the identifier parsers: each call either returns a value that
 * parses again to itself (normalisation is idempotent) or throws InvalidInputError with the
 * parser's reason; never any other exception.
 */

/** fast-check 4's full-Unicode strings (any code point, lone surrogates too). */
const fullUnicode = (constraints: { maxLength?: number } = {}) =>
  fc.string({ ...constraints, unit: 'binary' });

const SQLISH = [
  "'; DROP TABLE device;--",
  "' OR '1'='1",
  '1; SELECT pg_sleep(10)',
  "00-DB-12-34-56-78-90-A0'; DELETE FROM alert;--",
  '\u0000',
  '%00',
  '${jndi:ldap://x}',
  '<script>alert(1)</script>',
  '../../etc/passwd',
  '\uD800',
  '𝟘𝟘-𝔻𝔹-12-34-56-78-90-A0',
];

const VALID = {
  eui64: ['00-DB-12-34-56-78-90-A0', '00db1234567890a0', ' 00-db-12-34-56-78-90-a0 '],
  mpan: ['1200000042011', '12 0000 0042 011', ' 1000000000003 '],
  requestId: [
    '90-B3-D5-1F-30-01-00-00:00-DB-E5-00-00-00-00-02:3',
    '90B3D51F30010000:00DBE50000000002:18446744073709551615',
  ],
  dateTime: [
    '2026-03-02T10:00:00Z',
    '2026-03-02T10:00:00.123456789+01:00',
    '3000-12-31T00:00:00Z',
    '1970-01-01T00:00:00Z',
  ],
  hash: [
    'c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00',
    Buffer.alloc(32, 7).toString('base64'),
  ],
};

/** A valid value with random edits: insert, delete or replace characters, flip case, repeat. */
function mutated(seeds: readonly string[]): fc.Arbitrary<string> {
  const edit = fc.oneof(
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.string({ maxLength: 3 }) }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), text: fc.constant('') }),
    fc.record({
      kind: fc.constant('replace' as const),
      at: fc.nat(),
      text: fullUnicode({ maxLength: 2 }),
    }),
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), text: fc.constant('') }),
    fc.record({
      kind: fc.constant('repeat' as const),
      at: fc.integer({ min: 2, max: 5000 }),
      text: fc.constant(''),
    }),
  );
  return fc.tuple(fc.constantFrom(...seeds), fc.array(edit, { maxLength: 4 })).map(([seed, edits]) => {
    let s = seed;
    for (const e of edits) {
      const at = s.length ? e.at % s.length : 0;
      if (e.kind === 'insert') s = s.slice(0, at) + e.text + s.slice(at);
      else if (e.kind === 'delete') s = s.slice(0, at) + s.slice(at + 1);
      else if (e.kind === 'replace') s = s.slice(0, at) + e.text + s.slice(at + 1);
      else if (e.kind === 'flip')
        s =
          s.slice(0, at) +
          (s[at] === s[at]?.toUpperCase() ? (s[at]?.toLowerCase() ?? '') : (s[at]?.toUpperCase() ?? '')) +
          s.slice(at + 1);
      else s = s.repeat(Math.max(1, Math.min(e.at, Math.floor(50_000 / Math.max(1, s.length)))));
    }
    return s;
  });
}

function inputs(seeds: readonly string[]): fc.Arbitrary<unknown> {
  return fc.oneof(
    mutated(seeds),
    fc.string(),
    fullUnicode(),
    fc.constantFrom(...SQLISH),
    fc.constantFrom(...seeds).map((s) => `${s}${SQLISH[0]}`),
    fc.constantFrom('9'.repeat(100_000), 'A-'.repeat(50_000), '0'.repeat(64).repeat(1000)),
    fc.anything(),
  );
}

/** Runs a parser on hostile input: a value that re-parses to itself, or InvalidInputError with `reason`. */
function holds<T>(parse: (input: unknown) => T, reasons: readonly string[], render: (v: T) => unknown) {
  return (input: unknown) => {
    let value: T;
    try {
      value = parse(input);
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      expect(reasons).toContain(error.reason);
      expect(error.code).toBe('BAD_USER_INPUT');
      return;
    }
    const again = parse(render(value));
    expect(render(again)).toEqual(render(value));
  };
}

const RUNS = { numRuns: 1000 };

describe('identifier parsers under random and hostile input', () => {
  test('parseEui64', () => {
    fc.assert(
      fc.property(
        inputs(VALID.eui64),
        holds(parseEui64, ['INVALID_EUI64'], (v) => v),
      ),
      RUNS,
    );
  });

  test('parseMpan', () => {
    fc.assert(
      fc.property(
        inputs(VALID.mpan),
        holds(parseMpan, ['INVALID_MPAN_FORMAT', 'INVALID_MPAN_CHECK_DIGIT'], (v) => v),
      ),
      RUNS,
    );
  });

  test('inspectMpan never throws on a string and is stable on its own output', () => {
    fc.assert(
      fc.property(
        fc.oneof(mutated(VALID.mpan), fc.string(), fullUnicode(), fc.constantFrom(...SQLISH)),
        (input) => {
          const m = inspectMpan(input);
          expect(inspectMpan(m.mpan)).toEqual(m);
          if (m.wellFormed) {
            expect(m.mpan).toMatch(/^\d{13}$/);
            expect(m.distributorId).toBe(m.mpan.slice(0, 2));
            expect(m.checkDigitValid).toBe(mpanCheckDigit(m.mpan.slice(0, 12)) === Number(m.mpan[12]));
          } else {
            expect(m).toMatchObject({ checkDigitValid: false, distributorId: null });
          }
        },
      ),
      RUNS,
    );
  });

  test('parseUtcDateTime', () => {
    fc.assert(
      fc.property(
        fc.oneof(inputs(VALID.dateTime), fc.date({ noInvalidDate: false })),
        holds(parseUtcDateTime, ['INVALID_DATETIME'], (v) => v.toISOString()),
      ),
      RUNS,
    );
  });

  test('parseRequestId', () => {
    fc.assert(
      fc.property(
        inputs(VALID.requestId),
        holds(parseRequestId, ['INVALID_REQUEST_ID'], (v) => v.requestId),
      ),
      RUNS,
    );
  });

  test('parseFirmwareHash', () => {
    fc.assert(
      fc.property(
        inputs(VALID.hash),
        holds(parseFirmwareHash, ['INVALID_FIRMWARE_HASH'], (v) => v),
      ),
      RUNS,
    );
  });

  test('the valid seeds themselves parse (the mutations start from real values)', () => {
    for (const s of VALID.eui64) expect(parseEui64(s)).toBe('00-DB-12-34-56-78-90-A0');
    for (const s of VALID.requestId) expect(() => parseRequestId(s)).not.toThrow();
    for (const s of VALID.dateTime) expect(() => parseUtcDateTime(s)).not.toThrow();
    for (const s of VALID.hash) expect(parseFirmwareHash(s)).toMatch(/^[0-9a-f]{64}$/);
    expect(parseMpan('1200000042011')).toBe('1200000042011');
  });
});
