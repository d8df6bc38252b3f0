import { parseRequestId } from '../domain/identifiers';
import { DUIS_NS } from './duis-documents';

/**
 * DUIS requests this service asks the DSP adapter to send, rendered as DCC's own XML. Pure.
 *
 * Only SR 11.2 Read Firmware Version (active verification, docs/VERIFICATION.md), modelled on
 * DCC's sample ECS52_11.2_SUCCESS_REQUEST_DUIS.XML: the same namespace and schema version, a
 * Header with RequestID, CommandVariant 1 (send to the device through the DCC, the response to
 * the DCC User), ServiceReference and ServiceReferenceVariant 11.2, and an empty
 * Body/ReadFirmwareVersion (no ExecutionDateTime: read now). The document carries no
 * ds:Signature: DUIS signs a request with the DCC User's private key, which the adapter holds
 * and this service never sees; the element is optional in the schema, so the unsigned document
 * validates and the adapter adds the signature before sending.
 */

/** DUIS CommandVariant 1: the command goes to the device through the DCC, the answer comes to the User. */
export const SR_11_2_COMMAND_VARIANT = '1';

/** The SR 11.2 Read Firmware Version request with this DUIS request ID (`sender:device:counter`). */
export function renderReadFirmwareVersionRequest(requestId: string): string {
  // Validated and normalised so the document always satisfies the schema's RequestIDType.
  const id = parseRequestId(requestId, 'requestId').requestId;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<sr:Request xmlns:sr="${DUIS_NS}" schemaVersion="5.4">`,
    '  <sr:Header>',
    `    <sr:RequestID>${id}</sr:RequestID>`,
    `    <sr:CommandVariant>${SR_11_2_COMMAND_VARIANT}</sr:CommandVariant>`,
    '    <sr:ServiceReference>11.2</sr:ServiceReference>',
    '    <sr:ServiceReferenceVariant>11.2</sr:ServiceReferenceVariant>',
    '  </sr:Header>',
    '  <sr:Body>',
    '    <sr:ReadFirmwareVersion/>',
    '  </sr:Body>',
    '</sr:Request>',
    '',
  ].join('\n');
}
