import { parseEui64, parseRequestId } from '../../src/domain/identifiers';
import { DUIS_NS, MMC_NS } from '../../src/ingest/duis-documents';

/**
 * The DUIS and MMC documents a DSP adapter posts to `POST /duis`, built as DCC writes them and
 * valid against DUIS_Schema_V5.4.xsd and MMC_Schema_V5.4.xsd: the supplier's SR11.3, its response,
 * the 0x8F66/0x8F67 outcome alerts, AD1, the 0x8F35/0x8F36 restoration alerts, and the meter's
 * answer to an SR 11.2 read with its GBCS payload. Pure. Used by the tests, docs/DSP-ADAPTER.md
 * and `npm run duis:payload` (test/support/duis-payload-args.ts).
 *
 * IDs follow DCC's format `originator:target:counter`. Where a document starts a conversation
 * (an SR11.3, an alert) the counter is, as in DCC's samples, the epoch milliseconds of when it was
 * sent; a response echoes the counter of its request.
 */

/** Who DCC delivers the alerts to in these documents (the DUIS ResponseID target): a network operator's DCC User ID. */
export const ALERT_RECIPIENT_ID = '90-B3-D5-1F-30-02-00-00';

/** The date `ActivateFirmware/ExecutionDateTime` carries to cancel a pending future-dated activation. */
export const CANCELLATION_DATE = new Date('3000-12-31T00:00:00Z');

/** xs:dateTime as DCC writes it: UTC, and whole seconds without a fraction. */
export function xmlDateTime(at: Date): string {
  const iso = at.toISOString();
  return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso;
}

/** A DUIS request or response ID with DCC's counter: the epoch milliseconds of `at`. */
export function dccId(originator: string, target: string, at: Date): string {
  return `${parseEui64(originator, 'originator')}:${parseEui64(target, 'target')}:${at.getTime()}`;
}

const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';

/** A DUIS or MMC document: the root with its namespace, a Header and a Body, one element a line. */
function xmlDocument(
  root: 'sr:Request' | 'sr:Response' | 'ra:GBCSResponse',
  lines: readonly string[],
): string {
  const ns = root.startsWith('sr:') ? `xmlns:sr="${DUIS_NS}"` : `xmlns:ra="${MMC_NS}"`;
  return [DECLARATION, `<${root} ${ns} schemaVersion="5.4">`, ...lines, `</${root}>`, ''].join('\n');
}

/** `<p:name>text</p:name>` at an indent of `depth` levels. */
function el(depth: number, name: string, text: string): string {
  return `${'  '.repeat(depth)}<${name}>${text}</${name}>`;
}

/** An element holding `children`, at an indent of `depth` levels. */
function block(depth: number, name: string, children: readonly string[], attributes = ''): string[] {
  const pad = '  '.repeat(depth);
  return [`${pad}<${name}${attributes}>`, ...children, `${pad}</${name}>`];
}

// ---------------------------------------------------------------------------------------------
// From the supplier: SR11.3 Activate Firmware (DUIS Request)

export interface ActivateFirmwareRequestInput {
  /** `supplier:ESME:counter`. */
  readonly requestId: string;
  /** SHA-256 of the image, hex. */
  readonly imageHash: string;
  /** Absent: immediate; a date: future-dated; CANCELLATION_DATE: cancel the pending one. */
  readonly executeAt?: Date | null;
}

/** SR11.3 as DCC's CS06 samples write it (CommandVariant 4), unsigned. */
export function activateFirmwareRequest(input: ActivateFirmwareRequestInput): string {
  const id = parseRequestId(input.requestId, 'requestId').requestId;
  return xmlDocument('sr:Request', [
    ...block(1, 'sr:Header', [
      el(2, 'sr:RequestID', id),
      el(2, 'sr:CommandVariant', '4'),
      el(2, 'sr:ServiceReference', '11.3'),
      el(2, 'sr:ServiceReferenceVariant', '11.3'),
    ]),
    ...block(1, 'sr:Body', [
      ...block(2, 'sr:ActivateFirmware', [
        ...(input.executeAt ? [el(3, 'sr:ExecutionDateTime', xmlDateTime(input.executeAt))] : []),
        el(3, 'sr:FirmwareHash', input.imageHash.toUpperCase()),
      ]),
    ]),
  ]);
}

// ---------------------------------------------------------------------------------------------
// Activation outcomes: the SR11.3 response and alerts 0x8F66/0x8F67 (MMC GBCSResponse)

/** The MMC header of what a device says to a DCC User: the device is the business originator. */
function mmcHeader(
  device: string,
  user: string,
  counter: string,
  messageCode: string,
  extra: readonly string[] = [],
): string[] {
  return block(1, 'ra:Header', [
    el(2, 'ra:BusinessOriginatorID', device),
    el(2, 'ra:BusinessTargetID', user),
    el(2, 'ra:OriginatorCounter', counter),
    el(2, 'ra:GBCSHexadecimalMessageCode', messageCode),
    ...extra,
  ]);
}

/** The number MMC puts beside an ASN.1 activation status (its position in the enumeration). */
const ACTIVATE_IMAGE_CODES: Readonly<Record<string, number>> = {
  success: 0,
  noImageHeld: 1,
  hashMismatch: 2,
  activationFailure: 3,
};

function activateImageResponseCode(depth: number, status: string): string[] {
  const code = ACTIVATE_IMAGE_CODES[status];
  if (code === undefined) {
    throw new Error(`activation status ${status}: one of ${Object.keys(ACTIVATE_IMAGE_CODES).join(', ')}`);
  }
  return block(
    depth,
    'ra:ActivateImageResponseCode',
    [el(depth + 1, 'ra:ASN1Status', status)],
    ` ResponseCode="${code}"`,
  );
}

export interface ActivateFirmwareResponseInput {
  /** The SR11.3's request ID: the response echoes its counter. */
  readonly requestId: string;
  /** When the meter ran the activation (the response's Timestamp). */
  readonly executedAt: Date;
  /** ASN.1 status; default `success`. */
  readonly outcomeCode?: string;
  /** The firmware the meter now runs, when it says. */
  readonly firmwareVersion?: string | null;
}

/** The ESME's response to an immediate SR11.3, in its parsed (MMC) form. */
export function activateFirmwareResponse(input: ActivateFirmwareResponseInput): string {
  const request = parseRequestId(input.requestId, 'requestId');
  return xmlDocument('ra:GBCSResponse', [
    ...mmcHeader(request.targetId, request.originatorId, request.counter, '0012', [
      el(2, 'ra:ServiceReference', '11.3'),
      el(2, 'ra:ServiceReferenceVariant', '11.3'),
      el(2, 'ra:Timestamp', xmlDateTime(input.executedAt)),
    ]),
    ...block(1, 'ra:Body', [
      ...block(2, 'ra:ResponseMessage', [
        ...block(3, 'ra:SMETSData', [
          ...block(4, 'ra:ActivateFirmwareRsp', [
            ...activateImageResponseCode(5, input.outcomeCode ?? 'success'),
            ...(input.firmwareVersion ? [el(5, 'ra:FirmwareVersion', input.firmwareVersion)] : []),
          ]),
        ]),
      ]),
    ]),
  ]);
}

export interface FirmwareActivationAlertInput {
  /** The future-dated SR11.3's request ID: the alert names it by its counter. */
  readonly requestId: string;
  /** 8F66: actioned; 8F67: not actioned. */
  readonly alertCode: '8F66' | '8F67';
  /** When the meter ran (or failed to run) the activation. */
  readonly executedAt: Date;
  /** When the meter raised the alert; default: executedAt. Its epoch milliseconds are the alert's own counter. */
  readonly raisedAt?: Date;
  /** ASN.1 status; default `success` for 8F66, `activationFailure` for 8F67. */
  readonly outcomeCode?: string;
  /** The firmware the meter now runs (8F66). */
  readonly firmwareVersion?: string | null;
}

const ALERT_DESCRIPTIONS: Readonly<Record<string, string>> = {
  '8F35': 'Supply Outage Restored',
  '8F36': 'Supply Outage Restored (outage of 3 minutes or more)',
  '8F66': 'Future dated execution of instruction actioned',
  '8F67': 'Future dated execution of instruction not actioned',
};

/** A device alert in its parsed (MMC) form, with `payload` inside DeviceAlertContent/Payload. */
function deviceAlert(
  device: string,
  user: string,
  code: string,
  raisedAt: Date,
  payload: readonly string[],
): string {
  return xmlDocument('ra:GBCSResponse', [
    ...mmcHeader(device, user, String(raisedAt.getTime()), code),
    ...block(1, 'ra:Body', [
      ...block(2, 'ra:DeviceAlertMessage', [
        ...block(3, 'ra:DeviceAlertContent', [
          el(4, 'ra:GBCSHexAlertCode', code),
          el(4, 'ra:AlertDescription', ALERT_DESCRIPTIONS[code] ?? code),
          el(4, 'ra:Timestamp', xmlDateTime(raisedAt)),
          ...block(4, 'ra:Payload', payload),
        ]),
      ]),
    ]),
  ]);
}

/** Alert 0x8F66 or 0x8F67: the outcome of a future-dated SR11.3, from the ESME to the supplier. */
export function firmwareActivationAlert(input: FirmwareActivationAlertInput): string {
  const request = parseRequestId(input.requestId, 'requestId');
  const status = input.outcomeCode ?? (input.alertCode === '8F66' ? 'success' : 'activationFailure');
  return deviceAlert(
    request.targetId,
    request.originatorId,
    input.alertCode,
    input.raisedAt ?? input.executedAt,
    [
      ...block(5, 'ra:FutureDatedCommandOutcomeDeviceAlert', [
        ...block(6, 'ra:FirmwareActivationDeviceAlert', [
          el(7, 'ra:ExecutionDateTime', xmlDateTime(input.executedAt)),
          el(7, 'ra:OriginatorCounterFromCommand', request.counter),
          ...activateImageResponseCode(7, status),
          ...(input.firmwareVersion ? [el(7, 'ra:FirmwareVersion', input.firmwareVersion)] : []),
        ]),
      ]),
    ],
  );
}

// ---------------------------------------------------------------------------------------------
// Outages: AD1 (DUIS DCCAlertMessage) and supply restored 0x8F35/0x8F36 (MMC)

export interface PowerOutageAlertInput {
  readonly commsHubGuid: string;
  readonly mpan: string;
  /** StartDateTime: when the hub lost power, by its clock. */
  readonly startAt: Date;
  /** When DCC sent the alert (ResponseDateTime, and the ResponseID counter); default: 3 minutes after the start, when a dark hub raises AD1. */
  readonly raisedAt?: Date;
  readonly recipient?: string;
}

/** DCC alert AD1 (Power Outage Event) as DCC delivers it: a DUIS Response whose body is a DCCAlertMessage. */
export function powerOutageAlert(input: PowerOutageAlertInput): string {
  const ch = parseEui64(input.commsHubGuid, 'commsHubGuid');
  const raisedAt = input.raisedAt ?? new Date(input.startAt.getTime() + 3 * 60_000);
  return xmlDocument('sr:Response', [
    ...block(1, 'sr:Header', [
      el(2, 'sr:ResponseID', dccId(ch, input.recipient ?? ALERT_RECIPIENT_ID, raisedAt)),
      el(2, 'sr:ResponseCode', 'I0'),
      el(2, 'sr:ResponseDateTime', xmlDateTime(raisedAt)),
    ]),
    ...block(1, 'sr:Body', [
      ...block(2, 'sr:DCCAlertMessage', [
        el(3, 'sr:DCCAlertCode', 'AD1'),
        ...block(3, 'sr:DCCAlert', [
          ...block(4, 'sr:PowerOutageEvent', [
            el(5, 'sr:CommsHubDeviceID', ch),
            el(5, 'sr:StartDateTime', xmlDateTime(input.startAt)),
            el(5, 'sr:MPxN', input.mpan),
          ]),
        ]),
      ]),
    ]),
  ]);
}

export interface SupplyRestoredAlertInput {
  readonly esmeGuid: string;
  readonly interruptionAt: Date;
  readonly restorationAt: Date;
  /** 8F35 (outage under 3 minutes) or 8F36 (3 minutes or more, the default). */
  readonly alertCode?: '8F35' | '8F36';
  readonly recipient?: string;
}

/** The ESME's supply-restored alert, raised at the restoration, in its parsed (MMC) form. */
export function supplyRestoredAlert(input: SupplyRestoredAlertInput): string {
  const esme = parseEui64(input.esmeGuid, 'esmeGuid');
  return deviceAlert(
    esme,
    input.recipient ?? ALERT_RECIPIENT_ID,
    input.alertCode ?? '8F36',
    input.restorationAt,
    [
      ...block(5, 'ra:SupplyOutageRestoreAlert', [
        el(6, 'ra:interruptionValue', xmlDateTime(input.interruptionAt)),
        el(6, 'ra:restorationValue', xmlDateTime(input.restorationAt)),
      ]),
    ],
  );
}

// ---------------------------------------------------------------------------------------------
// The meter's answer to SR 11.2 Read Firmware Version

export interface ReadFirmwareVersionAnswerInput {
  /** The verification request's ID, as the service issued it (`sender:ESME:counter`). */
  readonly requestId: string;
  /** When the meter answered. */
  readonly answeredAt: Date;
  /** The firmware the meter reports. */
  readonly firmwareVersion: string;
}

/**
 * The DUIS response, shaped as DCC's ECS52_11.2_SUCCESS_RESPONSE_DUIS.XML (without its signature):
 * the firmware version travels inside the meter's GBCS message (readFirmwareVersionGbcsPayload).
 */
export function readFirmwareVersionResponse(input: ReadFirmwareVersionAnswerInput): string {
  const request = parseRequestId(input.requestId, 'requestId');
  const payload = readFirmwareVersionGbcsPayload({
    deviceGuid: request.targetId,
    requestId: request.requestId,
    firmwareVersion: input.firmwareVersion,
  });
  return xmlDocument('sr:Response', [
    ...block(1, 'sr:Header', [
      el(2, 'sr:RequestID', request.requestId),
      el(2, 'sr:ResponseID', `${request.targetId}:${request.originatorId}:${request.counter}`),
      el(2, 'sr:ResponseCode', 'I0'),
      el(2, 'sr:ResponseDateTime', xmlDateTime(input.answeredAt)),
    ]),
    ...block(1, 'sr:Body', [
      ...block(2, 'sr:ResponseMessage', [
        el(3, 'sr:ServiceReference', '11.2'),
        el(3, 'sr:ServiceReferenceVariant', '11.2'),
        el(3, 'sr:GBCSPayload', payload),
      ]),
    ]),
  ]);
}

/** The same answer in its parsed (MMC) form: ReadFirmwareVersionRsp with the version as text. */
export function readFirmwareVersionResponseMmc(input: ReadFirmwareVersionAnswerInput): string {
  const request = parseRequestId(input.requestId, 'requestId');
  return xmlDocument('ra:GBCSResponse', [
    ...mmcHeader(request.targetId, request.originatorId, request.counter, '0059', [
      el(2, 'ra:ServiceReference', '11.2'),
      el(2, 'ra:ServiceReferenceVariant', '11.2'),
      el(2, 'ra:Timestamp', xmlDateTime(input.answeredAt)),
    ]),
    ...block(1, 'ra:Body', [
      ...block(2, 'ra:ResponseMessage', [
        ...block(3, 'ra:SMETSData', [
          ...block(4, 'ra:ReadFirmwareVersionRsp', [el(5, 'ra:FirmwareVersion', input.firmwareVersion)]),
        ]),
      ]),
    ]),
  ]);
}

// ---------------------------------------------------------------------------------------------
// The GBCS message inside a DUIS SR 11.2 response (use case ECS52)

/** The recipient system title in DCC's sample ECS52 response. */
const SAMPLE_RECIPIENT_TITLE = '90-B3-D5-1F-30-00-00-02';
const GBCS_MESSAGE_CODE_ECS52 = [0x00, 0x59];
/** Security control: authenticated, not encrypted. */
const AUTHENTICATED_ONLY = 0x11;
const MAC_BYTES = 12;

export interface GbcsPayloadInput {
  /** The meter that answers: the originator system title. */
  readonly deviceGuid: string;
  /** The request answered: its sender is the remote party, its counter the transaction's. */
  readonly requestId: string;
  /** Eight hex digits become a 4-byte octet-string, as meters report it; anything else a visible-string. */
  readonly firmwareVersion: string;
}

/**
 * The base64 GBCS payload of an SR 11.2 response, laid out as in DCC's sample (the layout
 * src/ingest/gbcs.ts reads): MAC header, general-signing APDU with the DLMS access-response that
 * carries the active firmware identifier, and a 12-byte MAC. The MAC is zeros: only the DCC and
 * the meter hold the key that makes a real one, and the service does not check it (the DCC
 * checked it before passing the message on).
 */
export function readFirmwareVersionGbcsPayload(input: GbcsPayloadInput): string {
  const request = parseRequestId(input.requestId, 'requestId');
  const counter = uint64(request.counter);
  const version = /^([0-9A-F]{2})+$/i.test(input.firmwareVersion)
    ? [0x09, ...octets(Buffer.from(input.firmwareVersion, 'hex'))]
    : [0x0a, ...octets(Buffer.from(input.firmwareVersion, 'latin1'))];
  const content = [
    0xda, // DLMS access-response
    ...counter.subarray(4), // invoke id
    ...octets([]), // date-time: absent
    0x00, // no access-request-specification
    0x01, // one data item: the active firmware identifier
    ...version,
    0x01, // one result
    0x01, // get
    0x00, // success
  ];
  const apdu = [
    0xdf, // general-signing
    ...octets([0x02, ...counter]), // transaction-id: response flag and the request's counter
    ...octets(eui64Bytes(input.deviceGuid)),
    ...octets(eui64Bytes(SAMPLE_RECIPIENT_TITLE)),
    ...octets([]), // date-time: absent
    ...octets([...GBCS_MESSAGE_CODE_ECS52, ...eui64Bytes(request.originatorId), ...counter]),
    ...octets(content),
    ...octets([]), // signature: absent
  ];
  const protectedPart = [AUTHENTICATED_ONLY, 0, 0, 0, 0, ...apdu, ...new Array<number>(MAC_BYTES).fill(0)];
  // General-ciphering with five empty fields and no key information, then the protected part.
  const message = [0xdd, 0, 0, 0, 0, 0, 0, ...axdrLength(protectedPart.length), ...protectedPart];
  return Buffer.from(message).toString('base64');
}

function eui64Bytes(guid: string): number[] {
  return parseEui64(guid, 'deviceGuid')
    .split('-')
    .map((octet) => parseInt(octet, 16));
}

function uint64(decimal: string): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(BigInt(decimal));
  return out;
}

/** An A-XDR length: one byte below 0x80, else 0x81/0x82 and the length in one or two bytes. */
function axdrLength(n: number): number[] {
  if (n < 0x80) return [n];
  if (n < 0x100) return [0x81, n];
  return [0x82, n >> 8, n & 0xff];
}

function octets(bytes: ArrayLike<number>): number[] {
  return [...axdrLength(bytes.length), ...Array.from(bytes)];
}
