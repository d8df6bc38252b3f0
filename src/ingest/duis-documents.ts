import { InvalidInputError } from '../domain/errors';
import { parseEui64, parseRequestId, parseUtcDateTime } from '../domain/identifiers';
import type { ScheduleActivationInput } from '../services/activations/activation.service';
import type { AlertInput } from '../services/ingest/alert-input';
import type { VerificationAnswerInput } from '../services/evidence/verification-requests';
import { GbcsPayloadError, readFirmwareVersionPayload } from './gbcs';
import { path, textAt } from './xml';
import type { XmlElement } from './xml';

/**
 * Maps DUIS and MMC XML documents onto the service inputs the GraphQL mutations use. Pure: no
 * I/O, no authorization (the services enforce both, with the caller's principal).
 *
 *   sr:Request, ServiceReferenceVariant 11.3           -> activations.schedule (immediate, dated, cancel)
 *   sr:Response / DCCAlertMessage AD1 PowerOutageEvent  -> ingest AD1
 *   sr:Response / DCCAlertMessage CommsHubFirmwareActivation -> ingest CH_FIRMWARE_ACTIVATION
 *   sr:Response / ResponseMessage 11.2 (GBCSPayload)     -> verification.recordAnswer
 *   ra:GBCSResponse / ResponseMessage / ReadFirmwareVersionRsp -> verification.recordAnswer
 *   ra:GBCSResponse / ResponseMessage / ActivateFirmwareRsp  -> ACTIVATION_OUTCOME (IMMEDIATE)
 *   ra:GBCSResponse / DeviceAlertMessage SupplyOutageRestoreAlert (0x8F35-0x8F3C) -> SUPPLY_RESTORED
 *   ra:GBCSResponse / DeviceAlertMessage FirmwareActivationDeviceAlert (0x8F66/0x8F67) -> ACTIVATION_OUTCOME
 */

/** The DUIS namespace: targetNamespace of DUIS_Schema_V5.4.xsd. */
export const DUIS_NS = 'http://www.dccinterface.co.uk/ServiceUserGateway';
/** The MMC (parsed GBCS) namespace: targetNamespace of MMC_Schema_V5.4.xsd. */
export const MMC_NS = 'http://www.dccinterface.co.uk/ResponseAndAlert';

export type DocumentType =
  | 'SR11.3_REQUEST'
  | 'DCC_ALERT_AD1'
  | 'DCC_ALERT_CH_FIRMWARE_ACTIVATION'
  | 'SR11.3_RESPONSE'
  | 'SR11.2_RESPONSE'
  | 'DEVICE_ALERT_SUPPLY_RESTORED'
  | 'DEVICE_ALERT_FUTURE_DATED_OUTCOME';

/** What a document asks for, in service terms. */
export type DuisCommand =
  | {
      readonly document: 'SR11.3_REQUEST';
      readonly action: 'SCHEDULE';
      readonly input: ScheduleActivationInput;
    }
  | {
      readonly document: 'SR11.2_RESPONSE';
      readonly action: 'VERIFICATION_ANSWER';
      readonly input: VerificationAnswerInput;
    }
  | { readonly document: DocumentType; readonly action: 'INGEST'; readonly alert: AlertInput };

/**
 * A well-formed document of a kind this service does not act on: HTTP 422, code BAD_USER_INPUT
 * (one of the service's stable codes), with the reason naming what is unsupported.
 */
export class UnsupportedDocumentError extends Error {
  readonly code = 'BAD_USER_INPUT' as const;
  constructor(
    readonly reason: string,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.name = 'UnsupportedDocumentError';
  }
}

/** The root element is not in the DUIS or MMC namespace (HTTP 400). */
export class WrongNamespaceError extends Error {
  constructor(readonly found: { ns: string | null; local: string }) {
    super(
      `root element {${found.ns ?? ''}}${found.local} is not a DUIS document ` +
        `(expected {${DUIS_NS}}Request or Response, or {${MMC_NS}}GBCSResponse)`,
    );
    this.name = 'WrongNamespaceError';
  }
}

/** Which XSD a root element belongs to; throws for a root outside both namespaces. */
export function schemaOf(root: XmlElement): 'DUIS' | 'MMC' {
  if (root.ns === DUIS_NS) return 'DUIS';
  if (root.ns === MMC_NS) return 'MMC';
  throw new WrongNamespaceError(root);
}

/** Maps a parsed, namespace-checked document to a service command, or throws. */
export function interpretDocument(root: XmlElement): DuisCommand {
  const kind = schemaOf(root);
  if (kind === 'DUIS' && root.local === 'Request') return fromRequest(root);
  if (kind === 'DUIS' && root.local === 'Response') return fromResponse(root);
  if (kind === 'MMC' && root.local === 'GBCSResponse') return fromGbcsResponse(root);
  throw new UnsupportedDocumentError(
    'UNSUPPORTED_ROOT_ELEMENT',
    `${kind} root element ${root.local} is not supported (Request, Response or GBCSResponse)`,
    { rootElement: root.local },
  );
}

// ---------------------------------------------------------------------------------------------
// DUIS Request: SR11.3 Activate Firmware

function fromRequest(root: XmlElement): DuisCommand {
  const variant = textAt(root, DUIS_NS, 'Header', 'ServiceReferenceVariant');
  const activate = path(root, DUIS_NS, 'Body', 'ActivateFirmware');
  if (variant !== '11.3' || !activate) {
    throw new UnsupportedDocumentError(
      'UNSUPPORTED_SERVICE_REFERENCE',
      `service request ${variant ?? '(none)'} is not supported; only SR11.3 Activate Firmware is`,
      { serviceReferenceVariant: variant ?? null },
    );
  }
  const requestId = required(root, DUIS_NS, 'Header/RequestID');
  // DUIS RequestID is BusinessOriginatorID:BusinessTargetID:OriginatorCounter; the target is the ESME.
  const request = parseRequestId(requestId, 'Header/RequestID');
  const executeAt = textAt(activate, DUIS_NS, 'ExecutionDateTime');
  return {
    document: 'SR11.3_REQUEST',
    action: 'SCHEDULE',
    input: {
      requestId: request.requestId,
      esmeGuid: request.targetId,
      imageHash: required(activate, DUIS_NS, 'FirmwareHash', 'Body/ActivateFirmware/FirmwareHash'),
      executeAt: executeAt ? parseUtcDateTime(executeAt, 'Body/ActivateFirmware/ExecutionDateTime') : null,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// DUIS Response: DCC alerts

function fromResponse(root: XmlElement): DuisCommand {
  const responseMessage = path(root, DUIS_NS, 'Body', 'ResponseMessage');
  if (responseMessage && textAt(responseMessage, DUIS_NS, 'ServiceReferenceVariant') === '11.2') {
    return fromReadFirmwareVersionResponse(root, responseMessage);
  }
  const dccAlert = path(root, DUIS_NS, 'Body', 'DCCAlertMessage');
  if (!dccAlert) {
    const body = path(root, DUIS_NS, 'Body');
    const message = body?.children[0]?.local ?? '(none)';
    throw new UnsupportedDocumentError(
      'GBCS_PAYLOAD_NOT_PARSED',
      `a DUIS Response with ${message} carries its device data as a binary GBCSPayload; post the ` +
        `parsed form (MMC ra:GBCSResponse) instead. Only DCCAlertMessage (AD1, CommsHubFirmwareActivation) ` +
        `and the SR 11.2 ResponseMessage are read from a DUIS Response`,
      { bodyElement: message },
    );
  }
  const code = textAt(dccAlert, DUIS_NS, 'DCCAlertCode');
  const outage = path(dccAlert, DUIS_NS, 'DCCAlert', 'PowerOutageEvent');
  const chActivation = path(dccAlert, DUIS_NS, 'DCCAlert', 'CommsHubFirmwareActivation');
  const responseId = textAt(root, DUIS_NS, 'Header', 'ResponseID');
  if (code === 'AD1' && outage) {
    const count = textAt(dccAlert, DUIS_NS, 'ThrottledAlertCount');
    return {
      document: 'DCC_ALERT_AD1',
      action: 'INGEST',
      alert: {
        kind: 'AD1',
        commsHubGuid: required(outage, DUIS_NS, 'CommsHubDeviceID', 'PowerOutageEvent/CommsHubDeviceID'),
        startAt: dateTime(outage, DUIS_NS, 'StartDateTime', 'PowerOutageEvent/StartDateTime'),
        mpan: required(outage, DUIS_NS, 'MPxN', 'PowerOutageEvent/MPxN'),
        duisResponseId: responseId ?? null,
        throttledCount: count === undefined ? null : integer(count, 'DCCAlertMessage/ThrottledAlertCount'),
        throttledSequenceId: textAt(dccAlert, DUIS_NS, 'ThrottledAlertSequenceId') ?? null,
      },
    };
  }
  if (chActivation) {
    return {
      document: 'DCC_ALERT_CH_FIRMWARE_ACTIVATION',
      action: 'INGEST',
      alert: {
        kind: 'CH_FIRMWARE_ACTIVATION',
        commsHubGuid: required(chActivation, DUIS_NS, 'DeviceID', 'CommsHubFirmwareActivation/DeviceID'),
        firmwareVersion: required(
          chActivation,
          DUIS_NS,
          'FirmwareVersion',
          'CommsHubFirmwareActivation/FirmwareVersion',
        ),
        // The payload has no time of its own: the alert's ResponseDateTime is when DCC saw it.
        activatedAt: dateTime(
          path(root, DUIS_NS, 'Header'),
          DUIS_NS,
          'ResponseDateTime',
          'Header/ResponseDateTime',
        ),
      },
    };
  }
  const payload = path(dccAlert, DUIS_NS, 'DCCAlert')?.children[0]?.local ?? '(none)';
  throw new UnsupportedDocumentError(
    'UNSUPPORTED_ALERT',
    `DCC alert ${code ?? '(no code)'} with ${payload} is not supported (AD1 PowerOutageEvent, CommsHubFirmwareActivation)`,
    { dccAlertCode: code ?? null, payload },
  );
}

/**
 * The meter's answer to an SR 11.2 Read Firmware Version this service asked for (active
 * verification): the Header's RequestID names the request, ResponseDateTime is when the answer
 * came, and the firmware version is read from the GBCS payload (src/ingest/gbcs.ts). The payload
 * must come from the device the request was sent to.
 */
function fromReadFirmwareVersionResponse(root: XmlElement, message: XmlElement): DuisCommand {
  const request = parseRequestId(required(root, DUIS_NS, 'Header/RequestID'), 'Header/RequestID');
  const answeredAt = dateTime(
    path(root, DUIS_NS, 'Header'),
    DUIS_NS,
    'ResponseDateTime',
    'Header/ResponseDateTime',
  );
  const payload = required(message, DUIS_NS, 'GBCSPayload', 'ResponseMessage/GBCSPayload');
  let read;
  try {
    read = readFirmwareVersionPayload(payload);
  } catch (error) {
    if (!(error instanceof GbcsPayloadError)) throw error;
    if (error.reason === 'GBCS_PAYLOAD_MALFORMED') {
      throw new InvalidInputError(error.reason, error.message, 'ResponseMessage/GBCSPayload');
    }
    throw new UnsupportedDocumentError(error.reason, error.message);
  }
  if (read.deviceGuid !== request.targetId) {
    throw new InvalidInputError(
      'DEVICE_MISMATCH',
      `the GBCS payload comes from ${read.deviceGuid}, but request ${request.requestId} went to ${request.targetId}`,
      'ResponseMessage/GBCSPayload',
    );
  }
  return {
    document: 'SR11.2_RESPONSE',
    action: 'VERIFICATION_ANSWER',
    input: { requestId: request.requestId, answeredAt, firmwareVersion: read.firmwareVersion },
  };
}

// ---------------------------------------------------------------------------------------------
// MMC GBCSResponse: parsed device responses and alerts

function fromGbcsResponse(root: XmlElement): DuisCommand {
  const header = path(root, MMC_NS, 'Header');
  const device = parseEui64(required(header, MMC_NS, 'BusinessOriginatorID', 'Header/BusinessOriginatorID'));
  const target = required(header, MMC_NS, 'BusinessTargetID', 'Header/BusinessTargetID');
  // GBCS 4.3.1.4: when the DSP originated the command for a service user, the user is the
  // supplementary remote party; otherwise the business target is the user (the supplier).
  const user = textAt(header, MMC_NS, 'SupplementaryRemotePartyID') ?? target;

  const activateRsp = path(root, MMC_NS, 'Body', 'ResponseMessage', 'SMETSData', 'ActivateFirmwareRsp');
  if (activateRsp) {
    const status = textAt(activateRsp, MMC_NS, 'ActivateImageResponseCode', 'ASN1Status');
    if (!status) {
      throw new UnsupportedDocumentError(
        'NO_ACTIVATION_OUTCOME',
        'this SR11.3 response has no ActivateImageResponseCode: it acknowledges a future-dated ' +
          'activation, whose outcome arrives later as alert 0x8F66/0x8F67',
      );
    }
    // A response echoes the command's originator counter (or the supplementary counter when the
    // DSP sent the command): with the user and the ESME it rebuilds the DUIS request ID.
    const counter =
      textAt(header, MMC_NS, 'SupplementaryRemotePartyCounter') ??
      required(header, MMC_NS, 'OriginatorCounter', 'Header/OriginatorCounter');
    return {
      document: 'SR11.3_RESPONSE',
      action: 'INGEST',
      alert: {
        kind: 'ACTIVATION_OUTCOME',
        esmeGuid: device,
        alertCode: 'IMMEDIATE',
        requestId: `${user}:${device}:${counter}`,
        outcomeCode: status,
        executedAt: dateTime(header, MMC_NS, 'Timestamp', 'Header/Timestamp'),
        firmwareVersion: textAt(activateRsp, MMC_NS, 'FirmwareVersion') ?? null,
      },
    };
  }

  const readRsp = path(root, MMC_NS, 'Body', 'ResponseMessage', 'SMETSData', 'ReadFirmwareVersionRsp');
  if (readRsp) {
    // The answer to a verification request (SR 11.2), parsed: the same request ID rebuilt as
    // for SR 11.3 above; the header's Timestamp is when the meter answered.
    const counter =
      textAt(header, MMC_NS, 'SupplementaryRemotePartyCounter') ??
      required(header, MMC_NS, 'OriginatorCounter', 'Header/OriginatorCounter');
    return {
      document: 'SR11.2_RESPONSE',
      action: 'VERIFICATION_ANSWER',
      input: {
        requestId: parseRequestId(`${user}:${device}:${counter}`, 'Header').requestId,
        answeredAt: dateTime(header, MMC_NS, 'Timestamp', 'Header/Timestamp'),
        firmwareVersion: textAt(readRsp, MMC_NS, 'FirmwareVersion') ?? null,
      },
    };
  }

  const content = path(root, MMC_NS, 'Body', 'DeviceAlertMessage', 'DeviceAlertContent');
  const code = textAt(content, MMC_NS, 'GBCSHexAlertCode')?.toUpperCase();
  const restore = path(content, MMC_NS, 'Payload', 'SupplyOutageRestoreAlert');
  const activation = path(
    content,
    MMC_NS,
    'Payload',
    'FutureDatedCommandOutcomeDeviceAlert',
    'FirmwareActivationDeviceAlert',
  );
  if (content && restore) {
    return {
      document: 'DEVICE_ALERT_SUPPLY_RESTORED',
      action: 'INGEST',
      alert: {
        kind: 'SUPPLY_RESTORED',
        esmeGuid: device,
        alertCode: alertCode(code, 'SupplyOutageRestoreAlert'),
        interruptionAt: dateTime(
          restore,
          MMC_NS,
          'interruptionValue',
          'SupplyOutageRestoreAlert/interruptionValue',
        ),
        restorationAt: dateTime(
          restore,
          MMC_NS,
          'restorationValue',
          'SupplyOutageRestoreAlert/restorationValue',
        ),
        // An MMC alert carries no MPxN: the ESME's MPAN in the inventory routes it.
        mpan: null,
      },
    };
  }
  if (content && activation) {
    const alert = alertCode(code, 'FirmwareActivationDeviceAlert');
    const counter = required(
      activation,
      MMC_NS,
      'OriginatorCounterFromCommand',
      'FirmwareActivationDeviceAlert/OriginatorCounterFromCommand',
    );
    const status = textAt(activation, MMC_NS, 'ActivateImageResponseCode', 'ASN1Status');
    const executed = textAt(activation, MMC_NS, 'ExecutionDateTime');
    return {
      document: 'DEVICE_ALERT_FUTURE_DATED_OUTCOME',
      action: 'INGEST',
      alert: {
        kind: 'ACTIVATION_OUTCOME',
        esmeGuid: device,
        alertCode: alert,
        // The alert names the command by its originator counter only; its recipient (the user
        // who sent the SR11.3) and the ESME complete the DUIS request ID.
        requestId: `${user}:${device}:${counter}`,
        // Without a response code, 0x8F66 (actioned) means it ran and 0x8F67 (not actioned) that it did not.
        outcomeCode: status ?? (alert === '8F66' ? 'success' : 'activationFailure'),
        executedAt: executed
          ? parseUtcDateTime(executed, 'FirmwareActivationDeviceAlert/ExecutionDateTime')
          : dateTime(content, MMC_NS, 'Timestamp', 'DeviceAlertContent/Timestamp'),
        firmwareVersion: textAt(activation, MMC_NS, 'FirmwareVersion') ?? null,
      },
    };
  }
  if (path(root, MMC_NS, 'Body', 'ResponseMessage')) {
    const variant = textAt(header, MMC_NS, 'ServiceReferenceVariant');
    throw new UnsupportedDocumentError(
      'UNSUPPORTED_SERVICE_REFERENCE',
      `the response to service request ${variant ?? '(unknown)'} is not supported; only SR11.3 ` +
        '(ActivateFirmwareRsp) and SR11.2 (ReadFirmwareVersionRsp) are',
      { serviceReferenceVariant: variant ?? null },
    );
  }
  const payload = path(content, MMC_NS, 'Payload')?.children[0]?.local ?? '(none)';
  throw new UnsupportedDocumentError(
    'UNSUPPORTED_ALERT',
    `device alert ${code ?? '(no code)'} with payload ${payload} is not supported ` +
      '(SupplyOutageRestoreAlert 0x8F35-0x8F3C, FirmwareActivationDeviceAlert 0x8F66/0x8F67)',
    { alertCode: code ?? null, payload },
  );
}

// ---------------------------------------------------------------------------------------------
// Field readers: a missing or malformed field is bad input naming its element path.

function required(parent: XmlElement | undefined, ns: string, localPath: string, field = localPath): string {
  const value = textAt(parent, ns, ...localPath.split('/'));
  if (value === undefined) {
    throw new InvalidInputError('MISSING_ELEMENT', `the document has no ${field}`, field);
  }
  return value;
}

function dateTime(parent: XmlElement | undefined, ns: string, local: string, field: string): Date {
  return parseUtcDateTime(required(parent, ns, local, field), field);
}

function integer(text: string, field: string): number {
  if (!/^[0-9]{1,10}$/.test(text)) {
    throw new InvalidInputError('INVALID_INTEGER', `${field} is not an unsigned integer`, field);
  }
  return Number(text);
}

function alertCode(code: string | undefined, payload: string): string {
  if (!code) {
    throw new InvalidInputError(
      'MISSING_ELEMENT',
      `a ${payload} needs DeviceAlertContent/GBCSHexAlertCode to say which alert it is`,
      'DeviceAlertContent/GBCSHexAlertCode',
    );
  }
  return code;
}
