/**
 * Reads the firmware version out of the GBCS payload of a DUIS SR 11.2 response. Pure.
 *
 * A DUIS response carries what the meter said as `GBCSPayload`: the meter's own GBCS message,
 * base64. For SR 11.2 (GBCS use case ECS52) that message is authenticated but not encrypted, so
 * it can be read without keys. Its layout, as in DCC's sample ECS52_11.2_SUCCESS_RESPONSE_DUIS.XML:
 *
 *   MAC header      0xDD general-ciphering, five empty fields, key-info absent, length,
 *                   security control (0x11: authenticated, not encrypted), invocation counter
 *   APDU            0xDF general-signing: transaction-id (CRA flag + originator counter),
 *                   originator system title (the meter), recipient system title, date-time,
 *                   other-information (GBCS message code, remote party ID and counter),
 *                   content, signature
 *   content         0xDA DLMS access-response: invoke id, date-time, list of data (the active
 *                   firmware identifier, an octet-string), list of results (get: success)
 *   MAC             12 bytes (not checked here: the DCC checked it before passing it on)
 *
 * Anything else (an encrypted payload, another use case, a failed read) is refused with a
 * reason rather than guessed at; the adapter can then post the parsed MMC form instead.
 */

/** A payload this reader cannot turn into a firmware version: the reason is stable. */
export class GbcsPayloadError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'GbcsPayloadError';
  }
}

export interface GbcsFirmwareVersionRead {
  /** The meter that answered: the originator system title, as an EUI-64. */
  readonly deviceGuid: string;
  /** GBCS message code from other-information (ECS52 read of firmware version). */
  readonly messageCode: number | null;
  /** The active firmware identifier: an octet-string as upper-case hex, a visible-string as text. */
  readonly firmwareVersion: string;
}

const MAC_BYTES = 12;
const GENERAL_CIPHERING = 0xdd;
const GENERAL_SIGNING = 0xdf;
const ACCESS_RESPONSE = 0xda;
const ENCRYPTED = 0x20;
const DATA_OCTET_STRING = 0x09;
const DATA_VISIBLE_STRING = 0x0a;

/** Sequential reads over the payload; every overrun is a malformed payload. */
class Reader {
  private at = 0;
  private readonly end: number;
  constructor(private readonly bytes: Uint8Array) {
    this.end = bytes.length;
  }

  get remaining(): number {
    return this.end - this.at;
  }

  u8(what: string): number {
    if (this.at >= this.end) throw malformed(`the payload ends before ${what}`);
    return this.bytes[this.at++];
  }

  expect(tag: number, what: string): void {
    const found = this.u8(what);
    if (found !== tag) throw malformed(`expected ${what} (0x${hex(tag)}), found 0x${hex(found)}`);
  }

  /** An A-XDR length: one byte below 0x80, else 0x8n followed by n big-endian bytes. */
  length(what: string): number {
    const first = this.u8(what);
    if (first < 0x80) return first;
    const n = first & 0x7f;
    if (n === 0 || n > 3) throw malformed(`${what} has an unusable length`);
    let value = 0;
    for (let i = 0; i < n; i++) value = value * 256 + this.u8(what);
    return value;
  }

  take(n: number, what: string): Uint8Array {
    if (n > this.remaining) throw malformed(`${what} runs past the end of the payload`);
    const out = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }

  /** A length-prefixed octet string. */
  octets(what: string): Uint8Array {
    return this.take(this.length(what), what);
  }
}

/** Decodes a base64 GBCS payload of an SR 11.2 response; throws GbcsPayloadError. */
export function readFirmwareVersionPayload(base64: string): GbcsFirmwareVersionRead {
  const text = base64.replace(/\s+/g, '');
  if (text.length === 0 || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
    throw malformed('GBCSPayload is not base64');
  }
  const bytes = Uint8Array.from(Buffer.from(text, 'base64'));

  const mac = new Reader(bytes);
  mac.expect(GENERAL_CIPHERING, 'the GBCS MAC header (general-ciphering)');
  for (const field of ['transaction-id', 'originator', 'recipient', 'date-time', 'other-information']) {
    mac.octets(`MAC header ${field}`);
  }
  if (mac.u8('MAC header key-info') !== 0) throw malformed('the MAC header carries key information');
  const protectedLength = mac.length('the protected content length');
  if (protectedLength !== mac.remaining || protectedLength < 5 + MAC_BYTES) {
    throw malformed('the protected content length does not match the payload');
  }
  const securityControl = mac.u8('the security control byte');
  if (securityControl & ENCRYPTED) {
    throw new GbcsPayloadError(
      'GBCS_PAYLOAD_ENCRYPTED',
      'the GBCS payload is encrypted; post the parsed MMC form (ReadFirmwareVersionRsp) instead',
    );
  }
  mac.take(4, 'the invocation counter');

  // The APDU runs from after the security header (control byte and counter) to the MAC.
  const start = bytes.length - protectedLength + 5;
  const signing = new Reader(bytes.subarray(start, bytes.length - MAC_BYTES));
  signing.expect(GENERAL_SIGNING, 'a general-signing APDU');
  signing.octets('the transaction-id');
  const originator = signing.octets('the originator system title');
  if (originator.length !== 8) throw malformed('the originator system title is not 8 bytes');
  signing.octets('the recipient system title');
  signing.octets('the date-time');
  const other = signing.octets('other-information');
  const messageCode = other.length >= 2 ? other[0] * 256 + other[1] : null;
  const content = new Reader(signing.octets('the content'));

  content.expect(ACCESS_RESPONSE, 'a DLMS access-response');
  content.take(4, 'the invoke id');
  content.octets('the access-response date-time');
  if (content.u8('the access-request-specification flag') !== 0) {
    throw malformed('the access-response carries a request specification');
  }
  const items = content.length('the list of data');
  if (items < 1) throw malformed('the access-response holds no data');
  const tag = content.u8('the firmware version data');
  if (tag !== DATA_OCTET_STRING && tag !== DATA_VISIBLE_STRING) {
    throw new GbcsPayloadError(
      'FIRMWARE_VERSION_NOT_READ',
      `the first data item is not a firmware version (DLMS type 0x${hex(tag)}): the read failed or is not SR 11.2`,
    );
  }
  const value = content.octets('the firmware version');
  if (value.length === 0) throw malformed('the firmware version is empty');
  const firmwareVersion =
    tag === DATA_OCTET_STRING ? Array.from(value, hex).join('') : Buffer.from(value).toString('latin1');
  return { deviceGuid: Array.from(originator, hex).join('-'), messageCode, firmwareVersion };
}

function hex(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, '0');
}

function malformed(message: string): GbcsPayloadError {
  return new GbcsPayloadError('GBCS_PAYLOAD_MALFORMED', message);
}
