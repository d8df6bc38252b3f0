import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createSchemaValidator } from '../../src/ingest/schema-validator';
import { startTestApp, TestClock } from '../support/app';
import type { TestApp } from '../support/app';
import { ok, rowCounts } from '../support/integration';

/**
 * POST /duis end to end: DCC's sample SR11.3 requests and our own AD1, SR11.3 response, 0x8F36
 * and 0x8F66 documents (all XSD-valid) do what the GraphQL mutations do, checked through GraphQL;
 * every kind of bad document gets its own clear error and writes nothing.
 */

// CI runs with ../shared beside the repository.
const SCHEMA_DIR = path.resolve(__dirname, '../../../shared/reference/duis');
const FIXTURES = path.resolve(__dirname, '../fixtures/duis');
const MAX_BYTES = 64 * 1024;

const sample = (name: string) => fs.readFileSync(path.join(SCHEMA_DIR, name), 'utf8');
const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name), 'utf8');

const IMMEDIATE = sample('CS06_11.3_IMMEDIATE_SUCCESS_REQUEST_DUIS.XML');
const FUTURE = sample('CS06_11.3_FUTURE_DATED_SUCCESS_REQUEST_DUIS.XML');
const CANCEL = sample('CS06_11.3_CANCELLATION_SUCCESS_REQUEST_DUIS.XML');
const AD1 = fixture('ad1-power-outage.xml');
const SR113_RESPONSE = fixture('sr11.3-response-success.xml');
const RESTORED = fixture('supply-restored-8F36.xml');
const OUTCOME_8F66 = fixture('future-dated-8F66.xml');
const CH_ACTIVATION = fixture('ch-firmware-activation.xml');

// The identities DCC's samples use: the token's supplier and the inventory are set up to match them.
const SUPPLIER = '90-B3-D5-1F-30-01-00-00';
const ESME = '00-DB-12-34-56-78-90-A0';
const CH = '00-DB-12-34-56-78-90-C0';
const MPAN = '1200023305967';
const SAMPLE_HASH = 'AA758690730934FF0685AA758690730934FF0685657788990011223344556677';

const ACTIVATION = `query ($id: ID!) { activation(id: $id) {
  id requestId source status executeAt actualExecutedAt outcomeCode resultingFirmwareVersion window { from to anchoredOnActual } } }`;
const ALERT = `query ($id: ID!) { alert(id: $id) {
  id kind alertCode deviceGuid mpan mpanCheckDigitValid distributorId routedBy unroutedReason eventAt restoredAt
  throttledCount duisResponseId outcome pairedAlert { id } } }`;
const INGEST = `mutation ($a: [AlertInput!]!) { ingestAlerts(alerts: $a) { alertId duplicate outcome } }`;

interface Result {
  document: string;
  kind: string;
  activationId?: string;
  alertId?: string | null;
  requestId?: string;
  status?: string;
  duplicate?: boolean;
  outcome?: string | null;
  window?: { from: string; to: string } | null;
  [k: string]: unknown;
}
interface ErrorEntry {
  code: string;
  reason?: string;
  message: string;
  [k: string]: unknown;
}
interface DuisAnswer {
  results?: Result[];
  errors?: ErrorEntry[];
}

describe('POST /duis', () => {
  const clock = new TestClock('2030-01-10T08:00:00Z');
  let t: TestApp;
  let operator: string;
  let supplier: string;
  const ids: Record<string, string> = {};

  const post = async (
    body: string | Buffer,
    token?: string,
    contentType = 'application/xml',
  ): Promise<{ status: number; body: DuisAnswer }> => {
    const res = await fetch(`${t.url}/duis`, {
      method: 'POST',
      headers: { 'content-type': contentType, ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: typeof body === 'string' ? body : Uint8Array.from(body),
    });
    return { status: res.status, body: (await res.json()) as DuisAnswer };
  };
  const accepted = async (body: string, token: string): Promise<Result> => {
    const res = await post(body, token);
    expect({ status: res.status, errors: res.body.errors }).toEqual({ status: 200, errors: undefined });
    expect(res.body.results).toHaveLength(1);
    return res.body.results![0];
  };
  const activation = async (id: string) =>
    ok((await t.gql<{ activation: Record<string, unknown> }>(ACTIVATION, { id }, operator)).body).activation;
  const alert = async (id: string) =>
    ok((await t.gql<{ alert: Record<string, unknown> }>(ALERT, { id }, operator)).body).alert;
  const counts = () => rowCounts(t, 'alert', 'firmware_activation');

  beforeAll(async () => {
    t = await startTestApp(
      { DUIS_SCHEMA_DIR: SCHEMA_DIR, DUIS_MAX_BYTES: String(MAX_BYTES), SCHEDULER_POLL_MS: '100' },
      clock,
    );
    const ttlSeconds = 30 * 24 * 3600;
    operator = await t.token({ role: 'OPERATOR', ttlSeconds });
    supplier = await t.token({ role: 'IS', supplierId: SUPPLIER, ttlSeconds });
    const seeded = [
      {
        guid: ESME,
        deviceType: 'ESME',
        model: '010A030B',
        mpan: MPAN,
        firmwareVersion: '0002012F',
        importSupplierId: SUPPLIER,
      },
      { guid: CH, deviceType: 'CHF', model: '0C0C0C0C', firmwareVersion: '00010001' },
    ].map((d) => ({
      ...d,
      manufacturer: 'AB01',
      firmwareEffectiveFrom: '2029-01-01T00:00:00Z',
      areaKey: 'DUIS-1',
    }));
    ok(
      (
        await t.gql(
          `mutation ($d: [DeviceInput!]!) { upsertDevices(devices: $d) { inserted } }`,
          { d: seeded },
          operator,
        )
      ).body,
    );
    ok(
      (
        await t.gql(
          `mutation { linkCommsHub(commsHubGuid: "${CH}", esmeGuid: "${ESME}", effectiveFrom: "2029-01-01T00:00:00Z") { esmeGuid } }`,
          {},
          operator,
        )
      ).body,
    );
    // The image whose hash DCC's samples activate, and a rule covering the model.
    ok(
      (
        await t.gql(
          `mutation ($i: FirmwareImageInput!) { registerFirmwareImage(image: $i) { id } }`,
          { i: { manufacturer: 'AB01', model: '010A030B', version: '00020130', imageHash: SAMPLE_HASH } },
          operator,
        )
      ).body,
    );
    ok(
      (
        await t.gql(
          `mutation ($r: AffectedFirmwareRuleInput!) { upsertAffectedFirmwareRule(rule: $r) { id } }`,
          {
            r: {
              name: 'DUIS test model',
              manufacturer: 'AB01',
              model: '010A030B',
              affectedFirmwareVersions: ['0002012F', '00020130'],
              windowMinutes: 30,
              skewMinutes: 2,
            },
          },
          operator,
        )
      ).body,
    );
  });
  afterAll(() => t?.stop());

  test('the fixtures and DCC samples validate against the XSDs', async () => {
    const validator = createSchemaValidator(SCHEMA_DIR);
    const documents: [string, string, 'DUIS' | 'MMC'][] = [
      ['immediate', IMMEDIATE, 'DUIS'],
      ['future', FUTURE, 'DUIS'],
      ['cancel', CANCEL, 'DUIS'],
      ['AD1', AD1, 'DUIS'],
      ['CH activation', CH_ACTIVATION, 'DUIS'],
      ['SR11.3 response', SR113_RESPONSE, 'MMC'],
      ['8F36', RESTORED, 'MMC'],
      ['8F66', OUTCOME_8F66, 'MMC'],
    ];
    for (const [name, xml, kind] of documents) {
      expect([name, await validator.validate(xml, kind)]).toEqual([name, { valid: true, violations: [] }]);
    }
  });

  test('SR11.3 immediate (DCC sample) schedules like scheduleFirmwareActivation; a re-post is the same activation', async () => {
    const before = await counts();
    const r = await accepted(IMMEDIATE, supplier);
    expect(r).toMatchObject({
      document: 'SR11.3_REQUEST',
      kind: 'ACTIVATION',
      requestId: `${SUPPLIER}:${ESME}:1000`,
      deviceGuid: ESME,
      status: 'SCHEDULED',
      executeAt: null,
    });
    ids.immediate = r.activationId!;
    const seen = await activation(ids.immediate);
    expect(seen).toMatchObject({
      requestId: `${SUPPLIER}:${ESME}:1000`,
      source: 'SR11.3',
      status: 'SCHEDULED',
    });
    expect(seen.window).toMatchObject({ from: r.window!.from, to: r.window!.to, anchoredOnActual: false });

    const again = await accepted(IMMEDIATE, supplier);
    expect(again.activationId).toBe(ids.immediate);
    expect(await counts()).toEqual({ ...before, firmware_activation: before.firmware_activation + 1 });
  });

  test("the SR11.3 response (MMC ActivateFirmwareRsp) records the outcome; a supplier's own is a claim", async () => {
    clock.set('2030-01-10T08:01:00Z');
    // The supplier's copy is its word: recorded as a claim, the activation as it was.
    const claimed = await accepted(SR113_RESPONSE, supplier);
    expect(claimed).toMatchObject({
      document: 'SR11.3_RESPONSE',
      kind: 'ACTIVATION_OUTCOME',
      claim: true,
      activationId: ids.immediate,
      status: 'SCHEDULED',
      outcomeCode: null,
    });
    const { activation: withClaims } = ok(
      (
        await t.gql<{ activation: { status: string; claims: Record<string, unknown>[] } }>(
          `query ($id: ID!) { activation(id: $id) { status claims { supplierId outcomeCode executedAt firmwareVersion } } }`,
          { id: ids.immediate },
          supplier,
        )
      ).body,
    );
    expect(withClaims).toEqual({
      status: 'SCHEDULED',
      claims: [
        {
          supplierId: SUPPLIER,
          outcomeCode: 'success',
          executedAt: '2030-01-10T08:00:20.000Z',
          firmwareVersion: '00020130',
        },
      ],
    });
    // DCC's copy, through the operator, is the evidence.
    const r = await accepted(SR113_RESPONSE, operator);
    expect(r).toMatchObject({
      document: 'SR11.3_RESPONSE',
      kind: 'ACTIVATION_OUTCOME',
      activationId: ids.immediate,
      reason: null,
    });
    expect(await activation(ids.immediate)).toMatchObject({
      status: 'SUCCEEDED',
      outcomeCode: 'success',
      resultingFirmwareVersion: '00020130',
      actualExecutedAt: '2030-01-10T08:00:20.000Z',
      window: { anchoredOnActual: true },
    });
    // The same outcome again (at-least-once delivery) changes nothing.
    expect((await accepted(SR113_RESPONSE, operator)).activationId).toBe(ids.immediate);
  });

  test('SR11.3 future-dated and the 3000-12-31 cancellation (DCC samples)', async () => {
    const r = await accepted(FUTURE, supplier);
    expect(r).toMatchObject({
      requestId: `${SUPPLIER}:${ESME}:1001`,
      status: 'SCHEDULED',
      executeAt: '2030-01-15T09:00:00.000Z',
    });
    ids.future = r.activationId!;
    const seen = await activation(ids.future);
    expect(seen).toMatchObject({ status: 'SCHEDULED', executeAt: '2030-01-15T09:00:00.000Z' });
    expect(seen.window).toMatchObject({ from: r.window!.from, to: r.window!.to });
    expect(Date.parse(r.window!.from)).toBeLessThanOrEqual(Date.parse('2030-01-15T09:00:00Z'));

    const before = await counts();
    const cancelled = await accepted(CANCEL, supplier);
    expect(cancelled).toMatchObject({ activationId: ids.future, status: 'CANCELLED', window: null });
    expect(await activation(ids.future)).toMatchObject({ status: 'CANCELLED', window: null });
    // No activation in the year 3000: the sentinel only cancels.
    expect(await counts()).toEqual(before);
    // DUIS retries are safe: the same cancel again (same request ID) gets the same answer.
    expect(await accepted(CANCEL, supplier)).toEqual(cancelled);
    expect(await counts()).toEqual(before);
  });

  test('0x8F66 (MMC FirmwareActivationDeviceAlert) resolves the activation by ESME and counter', async () => {
    // DCC's future-dated sample with its originator counter moved on (the only field changed).
    const r = await accepted(FUTURE.replace(`:${ESME}:1001<`, `:${ESME}:1003<`), supplier);
    expect(r).toMatchObject({ requestId: `${SUPPLIER}:${ESME}:1003`, status: 'SCHEDULED' });
    ids.dated = r.activationId!;

    clock.set('2030-01-15T09:01:00Z');
    const outcome = await accepted(OUTCOME_8F66, operator);
    expect(outcome).toMatchObject({
      document: 'DEVICE_ALERT_FUTURE_DATED_OUTCOME',
      kind: 'ACTIVATION_OUTCOME',
      activationId: ids.dated,
      alertId: null,
    });
    expect(await activation(ids.dated)).toMatchObject({
      status: 'SUCCEEDED',
      actualExecutedAt: '2030-01-15T09:00:02.000Z',
      resultingFirmwareVersion: '00020130',
      window: { anchoredOnActual: true },
    });
  });

  test('AD1 (DCCAlertMessage PowerOutageEvent) is ingested like ingestAlerts; re-posts are duplicates', async () => {
    clock.set('2030-01-15T09:04:30Z');
    const before = await counts();
    const r = await accepted(AD1, operator);
    expect(r).toMatchObject({ document: 'DCC_ALERT_AD1', kind: 'AD1', duplicate: false });
    ids.ad1 = r.alertId!;
    const seen = await alert(ids.ad1);
    expect(seen).toMatchObject({
      kind: 'AD1',
      alertCode: 'AD1',
      deviceGuid: CH,
      mpan: MPAN,
      distributorId: '12',
      eventAt: '2030-01-15T09:00:30.000Z',
      throttledCount: 2,
      duisResponseId: `${CH}:90-B3-D5-1F-30-02-00-00:1736931630000`,
      outcome: r.outcome,
    });
    expect(r.outcome).toBeTruthy();

    const again = await accepted(AD1, operator);
    expect(again).toMatchObject({ alertId: ids.ad1, duplicate: true });
    // The same alert through GraphQL is the same alert.
    const viaGraphql = ok(
      (
        await t.gql<{ ingestAlerts: { alertId: string; duplicate: boolean }[] }>(
          INGEST,
          { a: [{ powerOutage: { commsHubGuid: CH, startAt: '2030-01-15T09:00:30Z', mpan: MPAN } }] },
          operator,
        )
      ).body,
    ).ingestAlerts;
    expect(viaGraphql).toEqual([expect.objectContaining({ alertId: ids.ad1, duplicate: true })]);
    expect((await counts()).alert).toBe(before.alert + 1);
  });

  test("an AD1 whose MPAN fails the check digit is routed by the hub's ESME, and flagged", async () => {
    clock.set('2030-01-15T09:04:40Z');
    const badCheck = `${MPAN.slice(0, 12)}${(Number(MPAN[12]) + 1) % 10}`;
    const xml = AD1.replace(`<sr:MPxN>${MPAN}`, `<sr:MPxN>${badCheck}`)
      .replace('2030-01-15T09:00:30', '2030-01-15T08:30:30')
      .replace(':1736931630000<', ':1736929830000<');
    expect(xml).toContain(badCheck);
    const r = await accepted(xml, operator);
    expect(r).toMatchObject({ document: 'DCC_ALERT_AD1', kind: 'AD1', duplicate: false });
    expect(await alert(r.alertId!)).toMatchObject({
      mpan: badCheck,
      mpanCheckDigitValid: false,
      distributorId: '12',
      routedBy: 'COMMS_HUB_LINK',
      unroutedReason: null,
    });
  });

  test('0x8F36 (MMC SupplyOutageRestoreAlert) is a supply-restored alert routed by the inventory MPAN', async () => {
    clock.set('2030-01-15T09:05:00Z');
    const r = await accepted(RESTORED, operator);
    expect(r).toMatchObject({
      document: 'DEVICE_ALERT_SUPPLY_RESTORED',
      kind: 'SUPPLY_RESTORED',
      duplicate: false,
    });
    expect(await alert(r.alertId!)).toMatchObject({
      kind: 'SUPPLY_RESTORED',
      alertCode: '8F36',
      deviceGuid: ESME,
      mpan: MPAN,
      distributorId: '12',
      eventAt: '2030-01-15T09:00:28.000Z',
      restoredAt: '2030-01-15T09:04:10.000Z',
      pairedAlert: { id: ids.ad1 },
    });
    expect(await accepted(RESTORED, operator)).toMatchObject({ alertId: r.alertId, duplicate: true });
  });

  test('CommsHubFirmwareActivation (DCC alert payload) records the CH activation', async () => {
    const r = await accepted(CH_ACTIVATION, operator);
    expect(r).toMatchObject({ document: 'DCC_ALERT_CH_FIRMWARE_ACTIVATION', kind: 'CH_FIRMWARE_ACTIVATION' });
    expect(await activation(r.activationId!)).toMatchObject({
      source: 'CH_FIRMWARE_ACTIVATION',
      status: 'SUCCEEDED',
      actualExecutedAt: '2030-01-15T08:50:00.000Z',
      resultingFirmwareVersion: '00010002',
    });
  });

  describe('bad documents get a clear error and write nothing', () => {
    // A fresh alert each time, so that a wrongly accepted document would show as a new row.
    const freshAd1 = AD1.replace('09:00:30.00Z', '09:30:30.00Z').replace(
      ':1736931630000<',
      ':1736933430000<',
    );
    const cases: [string, () => string | Buffer, number, string, string][] = [
      [
        'not well-formed',
        () => freshAd1.replace('</sr:Header>', ''),
        400,
        'BAD_USER_INPUT',
        'NOT_WELL_FORMED',
      ],
      [
        'undeclared prefix',
        () => freshAd1.replace('<sr:Body>', '<x:Body>').replace('</sr:Body>', '</x:Body>'),
        400,
        'BAD_USER_INPUT',
        'NOT_WELL_FORMED',
      ],
      [
        'wrong namespace',
        () =>
          freshAd1.replace(
            'xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway"',
            'xmlns:sr="urn:example:not-duis"',
          ),
        400,
        'BAD_USER_INPUT',
        'WRONG_NAMESPACE',
      ],
      [
        'schema failure',
        () => freshAd1.replace('<sr:MPxN>', '<sr:Unexpected>1</sr:Unexpected><sr:MPxN>'),
        400,
        'BAD_USER_INPUT',
        'SCHEMA_INVALID',
      ],
      [
        'XXE (external entity)',
        () =>
          freshAd1
            .replace(
              '<sr:Response',
              '<!DOCTYPE sr:Response [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<sr:Response',
            )
            .replace(MPAN, '&xxe;'),
        400,
        'BAD_USER_INPUT',
        'DOCTYPE_NOT_ALLOWED',
      ],
      [
        'entity expansion (billion laughs)',
        () =>
          freshAd1.replace(
            '<sr:Response',
            '<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n<sr:Response',
          ),
        400,
        'BAD_USER_INPUT',
        'DOCTYPE_NOT_ALLOWED',
      ],
      [
        'invalid UTF-8',
        () => {
          const [head, tail] = freshAd1.split('<sr:Header>');
          return Buffer.concat([
            Buffer.from(`${head}<!-- `),
            Buffer.from([0xc3, 0x28, 0xff]),
            Buffer.from(` --><sr:Header>${tail}`),
          ]);
        },
        400,
        'BAD_USER_INPUT',
        'INVALID_ENCODING',
      ],
      [
        'unsupported service reference (SR11.2 request)',
        () => sample('ECS52_11.2_SUCCESS_REQUEST_DUIS.XML'),
        422,
        'BAD_USER_INPUT',
        'UNSUPPORTED_SERVICE_REFERENCE',
      ],
      [
        'unsupported DCC alert code',
        () => freshAd1.replace('<sr:DCCAlertCode>AD1<', '<sr:DCCAlertCode>N1<'),
        422,
        'BAD_USER_INPUT',
        'UNSUPPORTED_ALERT',
      ],
      [
        'device response as binary GBCS (SR4.1.1 response)',
        () =>
          sample('ECS52_11.2_SUCCESS_RESPONSE_DUIS.XML').replace(
            /ServiceReferenceVariant>11\.2</g,
            'ServiceReferenceVariant>4.1.1<',
          ),
        422,
        'BAD_USER_INPUT',
        'GBCS_PAYLOAD_NOT_PARSED',
      ],
      [
        'oversized body',
        () => freshAd1.replace('<sr:Header>', `<!-- ${'x'.repeat(MAX_BYTES)} --><sr:Header>`),
        413,
        'BAD_USER_INPUT',
        'BODY_TOO_LARGE',
      ],
    ];
    test.each(cases)('%s', async (_name, body, status, code, reason) => {
      const before = await counts();
      const res = await post(body(), operator);
      expect(res.status).toBe(status);
      expect(res.body.results).toBeUndefined();
      expect(res.body.errors).toEqual([
        expect.objectContaining({ code, reason, message: expect.any(String) }),
      ]);
      expect(await counts()).toEqual(before);
    });

    test('an SR11.2 response to a request this service never sent is NOT_FOUND and writes nothing', async () => {
      const before = await counts();
      const res = await post(sample('ECS52_11.2_SUCCESS_RESPONSE_DUIS.XML'), operator);
      expect(res.status).toBe(404);
      expect(res.body.errors).toEqual([expect.objectContaining({ code: 'NOT_FOUND' })]);
      expect(await counts()).toEqual(before);
      // A supplier may not answer verification requests at all.
      const denied = await post(sample('ECS52_11.2_SUCCESS_RESPONSE_DUIS.XML'), supplier);
      expect(denied.status).toBe(403);
      expect(denied.body.errors).toEqual([expect.objectContaining({ code: 'FORBIDDEN' })]);
    });

    test('a schema failure names the line and the validator message', async () => {
      const res = await post(
        freshAd1.replace('<sr:MPxN>', '<sr:Unexpected>1</sr:Unexpected><sr:MPxN>'),
        operator,
      );
      const [error] = res.body.errors!;
      const line = freshAd1.split('\n').findIndex((l) => l.includes('<sr:MPxN>')) + 1;
      expect(error).toMatchObject({
        schema: 'DUIS',
        violations: [
          {
            line,
            message: expect.stringContaining(
              "Element '{http://www.dccinterface.co.uk/ServiceUserGateway}Unexpected'",
            ),
          },
        ],
      });
    });

    test('a body that is not XML by its Content-Type is refused (415)', async () => {
      const res = await post(freshAd1, operator, 'application/json');
      expect(res.status).toBe(415);
      expect(res.body.errors![0]).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'UNSUPPORTED_MEDIA_TYPE' });
    });
  });

  describe('authentication and roles are those of the GraphQL mutations', () => {
    const freshAd1 = AD1.replace('09:00:30.00Z', '09:40:30.00Z').replace(
      ':1736931630000<',
      ':1736934030000<',
    );
    let before: Record<string, number>;
    beforeEach(async () => {
      before = await counts();
    });
    afterEach(async () => {
      expect(await counts()).toEqual(before);
    });

    test('no token: 401', async () => {
      const res = await post(freshAd1);
      expect(res.status).toBe(401);
      expect(res.body.errors![0]).toMatchObject({ code: 'UNAUTHENTICATED' });
    });

    test('a bad token: 401', async () => {
      const res = await post(freshAd1, `${operator.slice(0, -4)}AAAA`);
      expect(res.status).toBe(401);
      expect(res.body.errors![0]).toMatchObject({ code: 'UNAUTHENTICATED' });
    });

    test('a distributor or a supplier may not ingest alerts: 403', async () => {
      for (const token of [
        await t.token({ role: 'ED', distributorIds: ['12'], ttlSeconds: 3600 }),
        supplier,
      ]) {
        const res = await post(freshAd1, token);
        expect(res.status).toBe(403);
        expect(res.body.errors![0]).toMatchObject({ code: 'FORBIDDEN' });
      }
    });

    test('an operator may not send SR11.3, and a supplier only under its own originator ID: 403', async () => {
      const request = IMMEDIATE.replace(`:${ESME}:1000<`, `:${ESME}:1010<`);
      const asOperator = await post(request, operator);
      expect(asOperator.status).toBe(403);
      const other = await t.token({ role: 'IS', supplierId: '90-B3-D5-1F-30-09-00-00', ttlSeconds: 3600 });
      const asOther = await post(request, other);
      expect(asOther.status).toBe(403);
      expect(asOther.body.errors![0]).toMatchObject({ code: 'FORBIDDEN', reason: 'NOT_YOUR_REQUEST_ID' });
    });
  });

  test('service errors keep their GraphQL codes (CONFLICT); an outcome of an unknown request is refused alone', async () => {
    // An alert document goes through ingestAlerts: an outcome nobody can apply is reported in
    // its result, as in a batch, and nothing is written for it.
    const before = await counts();
    const unknown = await post(OUTCOME_8F66.replace('>1003<', '>1999<'), operator);
    expect(unknown.status).toBe(200);
    expect(unknown.body.results).toEqual([
      expect.objectContaining({ activationId: null, reason: 'UNKNOWN_ACTIVATION' }),
    ]);
    expect(await counts()).toEqual(before);
    // A new cancel (its own request ID; the sample's own was used above) with nothing pending.
    const nothingToCancel = await post(CANCEL.replace(`:${ESME}:1002<`, `:${ESME}:1098<`), supplier);
    expect(nothingToCancel.status).toBe(409);
    expect(nothingToCancel.body.errors![0]).toMatchObject({
      code: 'CONFLICT',
      reason: 'NO_PENDING_ACTIVATION',
    });
  });

  test('an SR11.3 whose FirmwareHash matches no registered image is refused without a row', async () => {
    const before = await counts();
    const other = crypto.createHash('sha256').update('no such image').digest('hex').toUpperCase();
    const res = await post(IMMEDIATE.replace(SAMPLE_HASH, other).replace(':1000<', ':1020<'), supplier);
    expect(res.status).toBe(400);
    expect(res.body.errors![0]).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'UNKNOWN_FIRMWARE_IMAGE' });
    expect(await counts()).toEqual(before);
  });
});
