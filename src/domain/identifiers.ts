/**
 * Parsing and normalisation of the identifiers and values that arrive from DUIS, MMC and GraphQL:
 * device GUIDs, MPANs, request IDs, firmware hashes, inventory attributes and date-times.
 *
 * Every parser takes `unknown` (so GraphQL scalars and XML adapters can hand over whatever they
 * received), trims surrounding whitespace (XML `xs:token` collapses it anyway, and a stray space
 * pasted into a form is not worth an error), and returns the one canonical form that is stored
 * and compared. Anything else is an InvalidInputError with a stable `reason`.
 */
import { InvalidInputError } from './errors';
import { CANCELLATION_SENTINEL } from './model';

/** Quote an input for an error message without echoing an unbounded payload back. */
function quote(input: unknown): string {
  if (typeof input !== 'string') return `a value of type ${input === null ? 'null' : typeof input}`;
  const shown = input.length > 80 ? `${input.slice(0, 80)}...` : input;
  return JSON.stringify(shown);
}

function requireText(input: unknown, reason: string, what: string, field: string | undefined): string {
  if (typeof input !== 'string') {
    throw new InvalidInputError(reason, `${what} must be a string, got ${quote(input)}`, field);
  }
  return input.trim();
}

// ---------------------------------------------------------------------------------------------
// EUI-64 device GUIDs

const EUI64_HYPHENATED = /^[0-9A-F]{2}(?:-[0-9A-F]{2}){7}$/i;
const EUI64_BARE = /^[0-9A-F]{16}$/i;

/**
 * The canonical EUI-64 (upper case, hyphenated) for `text`, or null when it is not one.
 * Non-throwing so composite parsers (request IDs) can report their own reason.
 */
function normaliseEui64(text: string): string | null {
  if (EUI64_HYPHENATED.test(text)) return text.toUpperCase();
  // 16 bare hex digits are accepted because that is how GUIDs are printed on device labels and in
  // many supplier systems; DUIS itself always writes the hyphenated form, so that is what we store.
  if (EUI64_BARE.test(text)) return text.toUpperCase().replace(/(..)(?!$)/g, '$1-');
  return null;
}

/**
 * Parse an EUI-64 device GUID: 8 hyphen-separated hex octets (`00-db-12-34-56-78-90-a0`) or 16 bare
 * hex digits, case-insensitive. Returns the hyphenated upper-case form. Colons are not accepted as
 * separators because a colon separates the parts of a DUIS request ID.
 */
export function parseEui64(input: unknown, field?: string): string {
  const text = requireText(input, 'INVALID_EUI64', 'An EUI-64 device ID', field);
  const eui = normaliseEui64(text);
  if (eui === null) {
    throw new InvalidInputError(
      'INVALID_EUI64',
      `${quote(input)} is not an EUI-64 device ID (8 hyphen-separated hex octets, e.g. 00-DB-12-34-56-78-90-A0)`,
      field,
    );
  }
  return eui;
}

// ---------------------------------------------------------------------------------------------
// MPAN

const MPAN_WEIGHTS = [3, 5, 7, 13, 17, 19, 23, 29, 31, 37, 41, 43] as const;
const MPAN_CORE = /^\d{13}$/;

/** MPAN cores are often printed in groups ("10 0000 0000 003"), so ASCII spaces are dropped. */
function compactMpan(text: string): string {
  return text.trim().replace(/ /g, '');
}

/** The check digit for the first 12 digits of an MPAN core: weighted sum, then (sum mod 11) mod 10. */
export function mpanCheckDigit(first12: string): number {
  if (!/^\d{12}$/.test(first12)) {
    throw new InvalidInputError('INVALID_MPAN_FORMAT', `${quote(first12)} is not 12 digits`);
  }
  let sum = 0;
  for (let i = 0; i < MPAN_WEIGHTS.length; i++) sum += Number(first12[i]) * MPAN_WEIGHTS[i];
  return (sum % 11) % 10;
}

/**
 * Parse a 13-digit MPAN core (distributor ID, unique ID, check digit) for the inventory, where a
 * bad check digit is rejected. Returns the 13 digits without spaces. Distributor IDs are not
 * checked against a list here: ownership changes, so that table lives in data.
 */
export function parseMpan(input: unknown, field?: string): string {
  const text = compactMpan(requireText(input, 'INVALID_MPAN_FORMAT', 'An MPAN', field));
  if (!MPAN_CORE.test(text)) {
    throw new InvalidInputError('INVALID_MPAN_FORMAT', `${quote(input)} is not a 13-digit MPAN core`, field);
  }
  if (mpanCheckDigit(text.slice(0, 12)) !== Number(text[12])) {
    throw new InvalidInputError('INVALID_MPAN_CHECK_DIGIT', `MPAN ${text} has a wrong check digit`, field);
  }
  return text;
}

/** What an alert's MPAN looks like; alerts are never rejected for their MPAN, only flagged. */
export interface MpanInspection {
  /** The compact 13-digit form when well formed, otherwise the input exactly as received. */
  readonly mpan: string;
  readonly wellFormed: boolean;
  /** False whenever the MPAN is not well formed. */
  readonly checkDigitValid: boolean;
  /** The 2-digit prefix used to route the alert, or null when not well formed. */
  readonly distributorId: string | null;
}

/**
 * Inspect an MPAN from an alert without throwing. A well-formed MPAN with a bad check digit still
 * yields its distributor ID, because the alert must still reach that network operator.
 */
export function inspectMpan(input: string): MpanInspection {
  const text = compactMpan(input);
  if (!MPAN_CORE.test(text)) {
    return { mpan: input, wellFormed: false, checkDigitValid: false, distributorId: null };
  }
  return {
    mpan: text,
    wellFormed: true,
    checkDigitValid: mpanCheckDigit(text.slice(0, 12)) === Number(text[12]),
    distributorId: text.slice(0, 2),
  };
}

/**
 * The distributor ID (first two digits) of an MPAN core. Only the format is checked, not the
 * check digit, so that alerts with a bad check digit can still be routed.
 */
export function mpanDistributorId(mpan: string): string {
  const text = compactMpan(mpan);
  if (!MPAN_CORE.test(text)) {
    throw new InvalidInputError('INVALID_MPAN_FORMAT', `${quote(mpan)} is not a 13-digit MPAN core`);
  }
  return text.slice(0, 2);
}

// ---------------------------------------------------------------------------------------------
// DUIS request IDs

/** The largest DUIS originator counter (uint64). */
export const UINT64_MAX = 18446744073709551615n;

/**
 * Decimal uint64 without sign or leading zeros. Leading zeros are rejected rather than stripped:
 * the DUIS schema rejects them too, and the request ID is echoed in responses, so it must stay
 * byte-for-byte what the supplier sent.
 */
const COUNTER = /^(?:0|[1-9]\d{0,19})$/;

/** A parsed DUIS request ID, `originator:target:counter`. */
export interface DuisRequestId {
  /** Canonical `EUI64:EUI64:counter`. */
  readonly requestId: string;
  /** The sender (supplier) EUI-64. */
  readonly originatorId: string;
  /** The target device EUI-64. */
  readonly targetId: string;
  /** The originator counter as a decimal string; compare with compareRequestCounters. */
  readonly counter: string;
}

/**
 * Parse a DUIS request ID `EUI64:EUI64:counter` (sender, target device, uint64 counter). The
 * EUI-64 parts are normalised as by parseEui64; the counter is kept as a string because it does
 * not fit a JavaScript number.
 */
export function parseRequestId(input: unknown, field?: string): DuisRequestId {
  const text = requireText(input, 'INVALID_REQUEST_ID', 'A request ID', field);
  const fail = (why: string): never => {
    throw new InvalidInputError(
      'INVALID_REQUEST_ID',
      `${quote(input)} is not a DUIS request ID: ${why}`,
      field,
    );
  };
  const parts = text.split(':');
  if (parts.length !== 3) return fail('expected EUI64:EUI64:counter');
  const [originatorText, targetText, counter] = parts;
  const originatorId = normaliseEui64(originatorText);
  if (originatorId === null) return fail('the originator is not an EUI-64');
  const targetId = normaliseEui64(targetText);
  if (targetId === null) return fail('the target is not an EUI-64');
  if (!COUNTER.test(counter) || BigInt(counter) > UINT64_MAX) {
    return fail('the counter is not an unsigned 64-bit decimal');
  }
  return { requestId: `${originatorId}:${targetId}:${counter}`, originatorId, targetId, counter };
}

/** Compare two uint64 decimal counters numerically: negative, zero or positive like a sort comparator. */
export function compareRequestCounters(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// Firmware and inventory attributes

const HASH_HEX = /^[0-9a-f]{64}$/i;
/** Base64 of exactly 32 bytes: 43 significant characters and one pad. */
const HASH_BASE64 = /^[A-Za-z0-9+/]{43}=$/;

/**
 * Parse a 32-byte SR11.3 firmware hash. DUIS carries it as xs:hexBinary (64 hex digits, any case);
 * base64 of exactly 32 bytes is accepted too because many tools print SHA-256 digests that way.
 * The two forms cannot be confused (64 against 44 characters). Returns 64 lower-case hex digits.
 */
export function parseFirmwareHash(input: unknown, field?: string): string {
  const text = requireText(input, 'INVALID_FIRMWARE_HASH', 'A firmware hash', field);
  if (HASH_HEX.test(text)) return text.toLowerCase();
  if (HASH_BASE64.test(text)) {
    const bytes = Buffer.from(text, 'base64');
    // Round-tripping rejects non-canonical encodings whose unused trailing bits are set.
    if (bytes.length === 32 && bytes.toString('base64') === text) return bytes.toString('hex');
  }
  throw new InvalidInputError(
    'INVALID_FIRMWARE_HASH',
    `${quote(input)} is not a 32-byte firmware hash (64 hex digits or base64)`,
    field,
  );
}

function parseHexId(
  input: unknown,
  field: string | undefined,
  octets: number,
  reason: string,
  what: string,
): string {
  const text = requireText(input, reason, what, field);
  if (text.length !== octets * 2 || !/^[0-9A-F]+$/i.test(text)) {
    throw new InvalidInputError(reason, `${quote(input)} is not a ${what} (${octets * 2} hex digits)`, field);
  }
  return text.toUpperCase();
}

/** Parse a device manufacturer ID: 2 octets as 4 hex digits (`AB01`), returned upper case. */
export function parseManufacturerId(input: unknown, field?: string): string {
  return parseHexId(input, field, 2, 'INVALID_MANUFACTURER_ID', 'manufacturer ID');
}

/** Parse a device model ID: 4 octets as 8 hex digits (`010A030B`), returned upper case. */
export function parseModelId(input: unknown, field?: string): string {
  return parseHexId(input, field, 4, 'INVALID_MODEL_ID', 'model ID');
}

/**
 * Parse a firmware version: 1 to 8 printable ASCII characters without spaces (DUIS allows any
 * 1-8 character string; in practice it is 4 octets of hex). A version made only of hex digits is
 * upper-cased so `0002012f` and `0002012F` match; anything else is kept verbatim, because its
 * case may be meaningful.
 */
export function parseFirmwareVersion(input: unknown, field?: string): string {
  const text = requireText(input, 'INVALID_FIRMWARE_VERSION', 'A firmware version', field);
  if (!/^[\x21-\x7E]{1,8}$/.test(text)) {
    throw new InvalidInputError(
      'INVALID_FIRMWARE_VERSION',
      `${quote(input)} is not a firmware version (1-8 printable ASCII characters, no spaces)`,
      field,
    );
  }
  return /^[0-9A-F]+$/i.test(text) ? text.toUpperCase() : text;
}

// ---------------------------------------------------------------------------------------------
// Date-times

/**
 * xs:dateTime / RFC 3339 with mandatory seconds and a mandatory offset. Fractions of any length
 * up to nanoseconds are accepted (DUIS examples use `.00`) and truncated to milliseconds.
 */
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

const MIN_INSTANT = Date.UTC(1970, 0, 1);
const END_INSTANT = Date.UTC(3001, 0, 1);

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
}

/**
 * Parse an ISO 8601 date-time that states its offset (`Z` or `±hh:mm`) and names a real calendar
 * date and time. A time without an offset is rejected: for an outage it would be off by an hour
 * half the year. Leap seconds and `24:00:00` are rejected. The instant, in UTC, must fall in the
 * years 1970 to 3000 (3000 is where the DUIS cancellation sentinel lives). A valid Date instance
 * is accepted as is, for callers whose transport already produced one.
 */
export function parseUtcDateTime(input: unknown, field?: string): Date {
  const fail = (why: string): never => {
    throw new InvalidInputError(
      'INVALID_DATETIME',
      `${quote(input)} is not a valid date-time: ${why}`,
      field,
    );
  };
  let instant: number;
  if (input instanceof Date) {
    instant = input.getTime();
    if (Number.isNaN(instant)) return fail('invalid Date');
  } else {
    const text = requireText(input, 'INVALID_DATETIME', 'A date-time', field);
    const m = DATE_TIME.exec(text);
    if (m === null) return fail('expected YYYY-MM-DDThh:mm:ss[.fff] followed by Z or ±hh:mm');
    const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
    if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return fail('no such date');
    if (hour > 23 || minute > 59 || second > 59) return fail('no such time of day');
    const millis = m[7] === undefined ? 0 : Number(m[7].padEnd(3, '0').slice(0, 3));
    let offsetMinutes = 0;
    if (m[8] === undefined) {
      const offsetHours = Number(m[10]);
      const offsetMins = Number(m[11]);
      if (offsetMins > 59 || offsetHours * 60 + offsetMins > 14 * 60) return fail('offset out of range');
      offsetMinutes = (m[9] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMins);
    }
    // Date.UTC maps years 0-99 to 19xx; the range check below rejects those years either way.
    instant = Date.UTC(year, month - 1, day, hour, minute, second, millis) - offsetMinutes * 60_000;
  }
  if (instant < MIN_INSTANT || instant >= END_INSTANT) return fail('year outside 1970-3000');
  return new Date(instant);
}

/** True when an ExecutionDateTime is the DUIS "cancel the pending activation" sentinel. */
export function isCancellationSentinel(date: Date): boolean {
  return date.getTime() === CANCELLATION_SENTINEL.getTime();
}
