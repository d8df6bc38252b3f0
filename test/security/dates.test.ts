import fs from 'node:fs';
import path from 'node:path';
import {
  buildClientSchema,
  getIntrospectionQuery,
  getNamedType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
} from 'graphql';
import type { GraphQLArgument, GraphQLInputField, GraphQLInputType, IntrospectionQuery } from 'graphql';
import { TestClock, connected, startTestApp } from '../support/app';
import type { TestApp } from '../support/app';
import { expectError, rowCounts } from '../support/integration';
import type { Table } from '../support/integration';
import { captureLog, expectNoInternal, wsOnce } from '../support/security';

/**
 * Every date-time a client sends is bounded to a plausible range (INPUT_EARLIEST_DATE, default
 * 2000-01-01; INPUT_MAX_FUTURE_DAYS, default 366, after the service clock's now), on every
 * mutation argument at any depth, over HTTP and WebSocket, and in DUIS documents; DUIS's
 * cancellation date 3000-12-31 only as an SR11.3's ExecutionDateTime. Out of range: BAD_USER_INPUT
 * DATE_OUT_OF_RANGE and nothing written. DUIS documents with a duplicated or missing element are
 * refused without XSD validation too.
 */

const NOW = '2030-01-15T09:05:00Z';
const TABLES: Table[] = [
  'device',
  'comms_hub_link',
  'device_supplier',
  'firmware_activation',
  'alert',
  'alert_decision',
];
const IMPLAUSIBLE = [
  '1970-01-01T00:00:00Z',
  '1999-12-31T23:59:59Z',
  '2031-06-01T00:00:00Z',
  '9999-12-31T00:00:00Z',
  '3000-12-31T00:00:00Z',
];
const SENTINEL = '3000-12-31T00:00:00Z';

let t: TestApp;
let operator: string;
const captured = captureLog();
beforeAll(async () => {
  t = await startTestApp({}, new TestClock(NOW), undefined, captured.log);
  operator = await t.token({ role: 'OPERATOR' });
});
afterAll(() => t?.stop());
const counts = () => rowCounts(t, ...TABLES);

/** A value of this input type that coerces: `target` (a path of field names, [] for this very
 * value, null for none) holds `date`, every other date-time is now. */
function sample(type: GraphQLInputType, target: string[] | null, date: string): unknown {
  const inner = getNullableType(type) as GraphQLInputType;
  if (isListType(inner)) return [sample(inner.ofType, target, date)];
  if (isInputObjectType(inner)) {
    const out: Record<string, unknown> = {};
    for (const field of Object.values(inner.getFields())) {
      if (field.name === target?.[0]) out[field.name] = sample(field.type, target.slice(1), date);
      else if (isNonNullType(field.type) && field.defaultValue === undefined)
        out[field.name] = sample(field.type, null, date);
    }
    return out;
  }
  if (isEnumType(inner)) return inner.getValues()[0].value;
  const scalars: Record<string, unknown> = {
    DateTime: target ? date : NOW,
    EUI64: '00-DB-00-00-00-00-00-01',
    MPAN: '1200000042020',
    Int: 1,
    Float: 1,
    Boolean: true,
    JSONObject: {},
  };
  return scalars[getNamedType(inner).name] ?? 'x';
}

/** Every path from a mutation argument down to a DateTime, through input objects and lists. */
function datePaths(arg: GraphQLArgument | GraphQLInputField, seen = new Set<string>()): string[][] {
  const named = getNamedType(arg.type);
  if (named.name === 'DateTime') return [[]];
  if (!isInputObjectType(named) || seen.has(named.name)) return [];
  const next = new Set(seen).add(named.name);
  return Object.values(named.getFields()).flatMap((f) => datePaths(f, next).map((p) => [f.name, ...p]));
}

test('every DateTime in every mutation argument, at any depth, is bounded over HTTP; the sentinel only as SR11.3 executeAt', async () => {
  const introspection = (await t.gql<IntrospectionQuery>(getIntrospectionQuery())).body.data!;
  const schema = buildClientSchema(introspection);
  const before = await counts();
  let checked = 0;
  for (const field of Object.values(schema.getMutationType()!.getFields())) {
    for (const arg of field.args) {
      for (const p of datePaths(arg)) {
        const selection = isLeafType(getNamedType(field.type)) ? '' : '{ __typename }';
        const decl = field.args.map((a) => `$${a.name}: ${a.type.toString()}`).join(', ');
        const call = field.args.map((a) => `${a.name}: $${a.name}`).join(', ');
        const query = `mutation (${decl}) { ${field.name}(${call}) ${selection} }`;
        const fieldPath = [arg.name, ...p].join('.');
        for (const date of IMPLAUSIBLE) {
          const variables: Record<string, unknown> = {};
          for (const a of field.args) {
            if (a.name === arg.name) variables[a.name] = sample(a.type, p, date);
            else if (isNonNullType(a.type)) variables[a.name] = sample(a.type, null, date);
          }
          const res = await t.gql(query, variables, operator);
          const sentinelAllowed = date === SENTINEL && fieldPath === 'activation.executeAt';
          const error = res.body.errors?.[0]?.extensions;
          if (sentinelAllowed) {
            expect({ fieldPath, reason: error?.reason }).not.toEqual({
              fieldPath,
              reason: 'DATE_OUT_OF_RANGE',
            });
          } else {
            expect({ mutation: field.name, fieldPath, date, error }).toMatchObject({
              error: { code: 'BAD_USER_INPUT', reason: 'DATE_OUT_OF_RANGE' },
            });
            expect(String(error?.field).replace(/\[\d+\]/g, '')).toBe(fieldPath);
          }
          expectNoInternal(res.body);
          checked++;
        }
      }
    }
  }
  // ingest (4 alert kinds), activations, campaigns, outcomes, inventory, links, suppliers, answers.
  expect(checked).toBeGreaterThanOrEqual(14 * IMPLAUSIBLE.length);
  expect(await counts()).toEqual(before);
});

test('plausible dates pass, at both ends of the range', async () => {
  const link = `mutation ($h: EUI64!, $e: EUI64!, $at: DateTime) { linkCommsHub(commsHubGuid: $h, esmeGuid: $e, effectiveFrom: $at) { effectiveFrom } }`;
  const devices = [
    { guid: '00-DB-00-00-00-00-00-0A', deviceType: 'ESME', mpan: '1200000042020' },
    { guid: '00-DB-00-00-00-00-00-0C', deviceType: 'CHF' },
  ];
  const upsert = await t.gql(
    'mutation ($d: [DeviceInput!]!) { upsertDevices(devices: $d) { inserted } }',
    { d: devices.map((d) => ({ ...d, firmwareEffectiveFrom: '2000-01-01T00:00:00Z' })) },
    operator,
  );
  expect(upsert.body.errors).toBeUndefined();
  const res = await t.gql(
    link,
    { h: devices[1].guid, e: devices[0].guid, at: '2031-01-15T00:00:00Z' },
    operator,
  );
  expect(res.body.errors).toBeUndefined();
});

test('over WebSocket: the same code, nothing written', async () => {
  const before = await counts();
  const client = t.ws(operator);
  await connected(client);
  const outcome = await wsOnce(
    client,
    'mutation ($a: [AlertInput!]!) { ingestAlerts(alerts: $a) { alertId } }',
    {
      a: [
        {
          powerOutage: {
            commsHubGuid: '00-DB-00-00-00-00-00-0C',
            startAt: '1970-01-01T00:00:00Z',
            mpan: '1200000042020',
          },
        },
      ],
    },
  );
  expect(outcome).toMatchObject({ kind: 'result' });
  expectError(outcome as never, 'BAD_USER_INPUT', 'DATE_OUT_OF_RANGE');
  expect(await counts()).toEqual(before);
});

describe('POST /duis, without XSD validation', () => {
  const FIXTURES = path.resolve(__dirname, '../fixtures/duis');
  const AD1 = fs.readFileSync(path.join(FIXTURES, 'ad1-power-outage.xml'), 'utf8');
  const SR113 = `<?xml version="1.0" encoding="UTF-8"?>
<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.4">
  <sr:Header>
    <sr:RequestID>90-B3-D5-1F-30-01-00-00:00-DB-00-00-00-00-00-0A:7</sr:RequestID>
    <sr:CommandVariant>4</sr:CommandVariant>
    <sr:ServiceReference>11.3</sr:ServiceReference>
    <sr:ServiceReferenceVariant>11.3</sr:ServiceReferenceVariant>
  </sr:Header>
  <sr:Body>
    <sr:ActivateFirmware>
      <sr:FirmwareHash>AA758690730934FF0685AA758690730934FF0685657788990011223344556677</sr:FirmwareHash>
      <sr:ExecutionDateTime>EXECUTE_AT</sr:ExecutionDateTime>
    </sr:ActivateFirmware>
  </sr:Body>
</sr:Request>`;
  const post = async (body: string, token: string) => {
    const res = await fetch(`${t.url}/duis`, {
      method: 'POST',
      headers: { 'content-type': 'application/xml', authorization: `Bearer ${token}` },
      body,
    });
    return {
      status: res.status,
      body: (await res.json()) as { errors?: { code: string; reason?: string }[] },
    };
  };
  const refused = async (body: string, token: string, reason: string) => {
    const before = await counts();
    const res = await post(body, token);
    expect({ status: res.status, error: res.body.errors?.[0] }).toMatchObject({
      status: 400,
      error: { code: 'BAD_USER_INPUT', reason },
    });
    expect(await counts()).toEqual(before);
  };
  let supplier: string;
  beforeAll(async () => {
    supplier = await t.token({ role: 'IS', supplierId: '90-B3-D5-1F-30-01-00-00' });
  });

  test('an AD1 dated 1970, 3000-12-31 or two years ahead is refused; the same AD1 dated now is taken', async () => {
    for (const date of ['1970-01-01T00:00:00Z', SENTINEL, '2032-01-15T09:00:30Z']) {
      await refused(AD1.replace('2030-01-15T09:00:30.00Z', date), operator, 'DATE_OUT_OF_RANGE');
    }
    expect((await post(AD1, operator)).status).toBe(200);
  });

  test('an SR11.3 dated 1999 or 2040 is refused; 3000-12-31 is a cancellation, not a bad date', async () => {
    for (const date of ['1999-01-01T00:00:00Z', '2040-01-01T00:00:00Z']) {
      await refused(SR113.replace('EXECUTE_AT', date), supplier, 'DATE_OUT_OF_RANGE');
    }
    const cancel = await post(SR113.replace('EXECUTE_AT', SENTINEL), supplier);
    expect(cancel.body.errors?.[0]?.reason).not.toBe('DATE_OUT_OF_RANGE');
    expect(cancel.status).not.toBe(500);
  });

  test('a duplicated element is refused, wherever it is', async () => {
    const twice = (xml: string, line: RegExp) => xml.replace(line, (m) => `${m}\n${m}`);
    await refused(twice(AD1, /<sr:StartDateTime>.*<\/sr:StartDateTime>/), operator, 'DUPLICATE_ELEMENT');
    await refused(
      twice(AD1, /<sr:CommsHubDeviceID>.*<\/sr:CommsHubDeviceID>/),
      operator,
      'DUPLICATE_ELEMENT',
    );
    const future = SR113.replace('EXECUTE_AT', '2030-01-16T00:00:00Z');
    await refused(twice(future, /<sr:RequestID>.*<\/sr:RequestID>/), supplier, 'DUPLICATE_ELEMENT');
    await refused(
      twice(future, /<sr:ExecutionDateTime>.*<\/sr:ExecutionDateTime>/),
      supplier,
      'DUPLICATE_ELEMENT',
    );
    await refused(twice(future, /<sr:FirmwareHash>.*<\/sr:FirmwareHash>/), supplier, 'DUPLICATE_ELEMENT');
  });

  test('a missing element is refused', async () => {
    await refused(AD1.replace(/<sr:StartDateTime>.*<\/sr:StartDateTime>/, ''), operator, 'MISSING_ELEMENT');
    await refused(
      AD1.replace(/<sr:CommsHubDeviceID>.*<\/sr:CommsHubDeviceID>/, ''),
      operator,
      'MISSING_ELEMENT',
    );
    const future = SR113.replace('EXECUTE_AT', '2030-01-16T00:00:00Z');
    await refused(future.replace(/<sr:FirmwareHash>.*<\/sr:FirmwareHash>/, ''), supplier, 'MISSING_ELEMENT');
    await refused(future.replace(/<sr:RequestID>.*<\/sr:RequestID>/, ''), supplier, 'MISSING_ELEMENT');
  });
});

test('none of these was logged at error level', () => {
  expect(captured.errors()).toEqual([]);
});
