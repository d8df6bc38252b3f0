import { interpretDocument } from '../../src/ingest/duis-documents';
import { renderReadFirmwareVersionRequest } from '../../src/ingest/duis-requests';
import { GbcsPayloadError, readFirmwareVersionPayload } from '../../src/ingest/gbcs';
import { parseXml } from '../../src/ingest/xml';
import { readFirmwareVersionGbcsPayload } from '../support/duis-payloads';

/**
 * The pure halves of active verification over DUIS: the SR 11.2 request rendered for the DSP
 * adapter, and the firmware version read out of the GBCS payload of its response. The payloads
 * are DCC's: ECS52_11.2_SUCCESS_RESPONSE_DUIS.XML and the real readfw-response.xml. (The XSD
 * check of the rendered request runs in test/e2e/verification.test.ts, where libxml2 runs.)
 */

const ECS52_SAMPLE =
  '3QAAAAAAAFURAAAAAN8JAgAAAYKQy3WoCLwzrAD++lU8CJCz1R8wAAACABIAWZCz1R8wAQAAAAABgpDLdDsR2iDLdagAAAEJBAACAAABAQAAwHn7szPJcBk38Caa';
const READFW_REAL =
  '3QAAAAAAAFURAAAAAN8JAgAAAYKse1oHCIhzhFcAL5YeCJCz1R8wAAACABIAWZCz1R8wAQAAAAABgqx7WN8R2iB7WgcAAAEJBAwjAAABAQAAnbt9CWxcgwworYef';
const bytes = (b64: string) => Buffer.from(b64, 'base64');
const b64 = (buf: Buffer) => buf.toString('base64');

describe('SR 11.2 request rendering', () => {
  test('DCC sample shape: namespace, RequestID, CommandVariant 1, 11.2, empty ReadFirmwareVersion', () => {
    const xml = renderReadFirmwareVersionRequest('90-b3-d5-1f-30-00-00-01:00-DB-12-34-56-78-90-A0:42');
    const root = parseXml(xml);
    expect(root).toMatchObject({ ns: 'http://www.dccinterface.co.uk/ServiceUserGateway', local: 'Request' });
    expect(root.attributes.schemaVersion).toBe('5.4');
    const header = root.children.find((c) => c.local === 'Header')!;
    expect(header.children.map((c) => [c.local, c.text])).toEqual([
      ['RequestID', '90-B3-D5-1F-30-00-00-01:00-DB-12-34-56-78-90-A0:42'],
      ['CommandVariant', '1'],
      ['ServiceReference', '11.2'],
      ['ServiceReferenceVariant', '11.2'],
    ]);
    const body = root.children.find((c) => c.local === 'Body')!;
    expect(body.children.map((c) => [c.local, c.children.length])).toEqual([['ReadFirmwareVersion', 0]]);
  });

  test('refuses a request ID that is not sender:device:counter', () => {
    expect(() => renderReadFirmwareVersionRequest('nope')).toThrow(/not a DUIS request ID/);
  });
});

describe('GBCS payload of an SR 11.2 response', () => {
  test.each([
    ['DCC sample', ECS52_SAMPLE, 'BC-33-AC-00-FE-FA-55-3C', '00020000'],
    ['real boxed response', READFW_REAL, '88-73-84-57-00-2F-96-1E', '0C230000'],
  ])('%s: the meter and its active firmware version', (_name, payload, device, version) => {
    expect(readFirmwareVersionPayload(payload)).toEqual({
      deviceGuid: device,
      messageCode: 0x0059,
      firmwareVersion: version,
    });
  });

  const reason = (payload: string): string => {
    try {
      readFirmwareVersionPayload(payload);
    } catch (error) {
      if (error instanceof GbcsPayloadError) return error.reason;
      throw error;
    }
    return 'accepted';
  };

  test('malformed payloads are refused with a reason, never guessed at', () => {
    const sample = bytes(ECS52_SAMPLE);
    expect(reason('not base64!')).toBe('GBCS_PAYLOAD_MALFORMED');
    expect(reason(b64(sample.subarray(0, 40)))).toBe('GBCS_PAYLOAD_MALFORMED');
    const wrongTag = Buffer.from(sample);
    wrongTag[0] = 0xdf;
    expect(reason(b64(wrongTag))).toBe('GBCS_PAYLOAD_MALFORMED');
    // Every truncation fails cleanly (no exception other than GbcsPayloadError).
    for (let n = 0; n < sample.length; n += 3) {
      expect(reason(b64(sample.subarray(0, n)) || 'AAAA')).not.toBe('accepted');
    }
  });

  test('a payload built for a demo meter (test/support/duis-payloads.ts) reads back as built', () => {
    const payload = readFirmwareVersionGbcsPayload({
      deviceGuid: '00-DB-E5-00-00-00-03-01',
      requestId: '90-B3-D5-1F-30-00-00-01:00-DB-E5-00-00-00-03-01:1796638600000',
      firmwareVersion: '00020130',
    });
    expect(readFirmwareVersionPayload(payload)).toEqual({
      deviceGuid: '00-DB-E5-00-00-00-03-01',
      messageCode: 0x0059,
      firmwareVersion: '00020130',
    });
    // Same layout as DCC's sample: the same length for the same counter width and version.
    expect(bytes(payload).length).toBe(bytes(ECS52_SAMPLE).length);
  });

  test('an encrypted payload or a failed read is unsupported, not malformed', () => {
    const sample = bytes(ECS52_SAMPLE);
    const encrypted = Buffer.from(sample);
    encrypted[8] = 0x31; // security control: authenticated and encrypted
    expect(reason(b64(encrypted))).toBe('GBCS_PAYLOAD_ENCRYPTED');
    const failed = Buffer.from(sample);
    failed[failed.indexOf(Buffer.from([0x01, 0x09, 0x04])) + 1] = 0x00; // null-data instead of the version
    expect(reason(b64(failed))).toBe('FIRMWARE_VERSION_NOT_READ');
  });
});

describe('DUIS documents: SR 11.2 answers', () => {
  const response = (requestId: string, payload = ECS52_SAMPLE) =>
    parseXml(`<sr:Response xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.1">
      <sr:Header><sr:RequestID>${requestId}</sr:RequestID><sr:ResponseID>x</sr:ResponseID><sr:ResponseCode>I0</sr:ResponseCode>
        <sr:ResponseDateTime>2022-08-12T06:43:49.844Z</sr:ResponseDateTime></sr:Header>
      <sr:Body><sr:ResponseMessage><sr:ServiceReference>11.2</sr:ServiceReference>
        <sr:ServiceReferenceVariant>11.2</sr:ServiceReferenceVariant><sr:GBCSPayload>${payload}</sr:GBCSPayload>
      </sr:ResponseMessage></sr:Body></sr:Response>`);

  test('a DUIS response: RequestID, ResponseDateTime and the payload’s version', () => {
    expect(interpretDocument(response('90-B3-D5-1F-30-01-00-00:BC-33-AC-00-FE-FA-55-3C:7'))).toEqual({
      document: 'SR11.2_RESPONSE',
      action: 'VERIFICATION_ANSWER',
      input: {
        requestId: '90-B3-D5-1F-30-01-00-00:BC-33-AC-00-FE-FA-55-3C:7',
        answeredAt: new Date('2022-08-12T06:43:49.844Z'),
        firmwareVersion: '00020000',
      },
    });
  });

  test('a payload from another meter than the one asked is refused', () => {
    expect(() => interpretDocument(response('90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:7'))).toThrow(
      expect.objectContaining({ reason: 'DEVICE_MISMATCH' }),
    );
  });

  test('the parsed MMC form (ReadFirmwareVersionRsp)', () => {
    const mmc = parseXml(`<ra:GBCSResponse xmlns:ra="http://www.dccinterface.co.uk/ResponseAndAlert">
      <ra:Header><ra:BusinessOriginatorID>00-DB-12-34-56-78-90-A0</ra:BusinessOriginatorID>
        <ra:BusinessTargetID>90-B3-D5-1F-30-00-00-02</ra:BusinessTargetID>
        <ra:OriginatorCounter>5</ra:OriginatorCounter>
        <ra:SupplementaryRemotePartyID>90-B3-D5-1F-30-00-00-01</ra:SupplementaryRemotePartyID>
        <ra:SupplementaryRemotePartyCounter>42</ra:SupplementaryRemotePartyCounter>
        <ra:Timestamp>2030-01-10T08:05:00Z</ra:Timestamp></ra:Header>
      <ra:Body><ra:ResponseMessage><ra:SMETSData><ra:ReadFirmwareVersionRsp>
        <ra:FirmwareVersion>00020130</ra:FirmwareVersion></ra:ReadFirmwareVersionRsp></ra:SMETSData></ra:ResponseMessage></ra:Body>
    </ra:GBCSResponse>`);
    expect(interpretDocument(mmc)).toEqual({
      document: 'SR11.2_RESPONSE',
      action: 'VERIFICATION_ANSWER',
      input: {
        requestId: '90-B3-D5-1F-30-00-00-01:00-DB-12-34-56-78-90-A0:42',
        answeredAt: new Date('2030-01-10T08:05:00Z'),
        firmwareVersion: '00020130',
      },
    });
  });
});
