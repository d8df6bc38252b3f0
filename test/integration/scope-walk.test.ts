import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { buildSchema, getNamedType, isNonNullType, isObjectType } from 'graphql';
import type { GraphQLField, GraphQLObjectType, GraphQLSchema } from 'graphql';
import { connected, startTestApp, subscribe } from '../support/app';
import type { TestApp } from '../support/app';
import { guid, mpan, ok } from '../support/integration';

/**
 * Every read path, generated from schema.graphql: for each role, each root query that returns an
 * entity is asked with every object field below it, three entity hops deep (device { commsHub {
 * activations { device ... } } }, alert { pairedAlert ... }), over HTTP, through `_entities` and
 * in `dnoAlerts` events. Every Device, Alert and FirmwareActivation anywhere in an answer must be
 * one the caller may read (src/services/shared/access.ts). The fixtures cross every boundary: hubs and
 * the meters powering them carry MPANs of different DNOs (an IDNO network inside a host DNO's
 * area), and two suppliers have activations on the same meter. A new field that returns an
 * entity is walked without anyone listing it; the last test fails if one could not be reached.
 */

const SDL = fs.readFileSync(path.join(__dirname, '../../schema.graphql'), 'utf8');
const SCHEMA = buildSchema(SDL, { assumeValidSDL: true });
/** The types whose objects carry a scope, and the key that identifies each. */
const SCOPED: Record<string, string> = { Device: 'guid', Alert: 'id', FirmwareActivation: 'id' };

const SUP_A = '90-B3-D5-1F-30-0A-00-00'; // IS
const SUP_B = '90-B3-D5-1F-30-0B-00-00'; // GS
const ESME12 = guid('B0-00-00-00-00-12', 1); // MPAN of 12, powers CH14
const CH14 = guid('B0-00-00-00-00-14', 2); // MPAN of 14, powered by ESME12
const ESME14 = guid('B0-00-00-00-00-14', 1); // MPAN of 14, powers CH12
const CH12 = guid('B0-00-00-00-00-12', 2); // MPAN of 12, powered by ESME14
const HASH = crypto.createHash('sha256').update('scope-walk-image').digest('hex');

type Role = 'OPERATOR' | 'ED12' | 'ED14' | 'IS' | 'GS' | 'ANON';
const ROLES: Role[] = ['OPERATOR', 'ED12', 'ED14', 'IS', 'GS', 'ANON'];

/** What the database holds, as the operator sees it: the oracle of who may read what. */
interface Truth {
  devices: Map<string, string | null>; // guid -> distributorId
  alerts: Map<string, string | null>; // id -> distributorId
  activations: Map<string, { supplierId: string; deviceGuid: string }>;
}

function mayRead(role: Role, type: string, key: string, truth: Truth): boolean {
  if (role === 'OPERATOR') return true;
  if (role === 'ANON') return false;
  const dno = role === 'ED12' ? '12' : role === 'ED14' ? '14' : undefined;
  const supplier = role === 'IS' ? SUP_A : role === 'GS' ? SUP_B : undefined;
  const own = (a: { supplierId: string; deviceGuid: string } | undefined) => a?.supplierId === supplier;
  switch (type) {
    case 'Device':
      return dno
        ? truth.devices.get(key) === dno
        : [...truth.activations.values()].some((a) => own(a) && a.deviceGuid === key);
    case 'Alert':
      return dno !== undefined && truth.alerts.get(key) === dno;
    case 'FirmwareActivation': {
      const a = truth.activations.get(key);
      return dno ? truth.devices.get(a?.deviceGuid ?? '') === dno : own(a);
    }
    default:
      return true;
  }
}

/** Fields walked so far, as Type.field: the completeness check compares them with the schema. */
const walked = new Set<string>();

/** A selection of every field of `type`, entity hops limited by `hops`. */
function selection(type: GraphQLObjectType, hops: number, schema: GraphQLSchema = SCHEMA): string {
  const parts = ['__typename'];
  for (const field of Object.values(type.getFields())) {
    if (field.args.some((a) => isNonNullType(a.type))) continue;
    const named = getNamedType(field.type);
    if (!isObjectType(named)) {
      parts.push(field.name);
      continue;
    }
    const entityHop = named.name in SCOPED;
    if (entityHop && hops === 0) continue;
    walked.add(`${type.name}.${field.name}`);
    const args = field.args.some((a) => a.name === 'first') ? '(first: 3)' : '';
    parts.push(`${field.name}${args} { ${selection(named, entityHop ? hops - 1 : hops, schema)} }`);
  }
  return parts.join(' ');
}

/** Every scoped object anywhere in a JSON answer, with its type and key. */
function scopedObjects(value: unknown, out: { type: string; key: string }[] = []) {
  if (Array.isArray(value)) value.forEach((v) => scopedObjects(v, out));
  else if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    const type = o.__typename;
    if (typeof type === 'string' && type in SCOPED) out.push({ type, key: String(o[SCOPED[type]]) });
    Object.values(o).forEach((v) => scopedObjects(v, out));
  }
  return out;
}

/** The root queries to ask, with the values their required arguments take. */
function rootQueries(truth: Truth): { field: GraphQLField<unknown, unknown>; text: string }[] {
  const out: { field: GraphQLField<unknown, unknown>; text: string }[] = [];
  const keysOf = (type: string) =>
    type === 'Device'
      ? [...truth.devices.keys()]
      : type === 'Alert'
        ? [...truth.alerts.keys()]
        : [...truth.activations.keys()];
  for (const field of Object.values(SCHEMA.getQueryType()!.getFields())) {
    const named = getNamedType(field.type);
    if (!isObjectType(named) || field.name.startsWith('_')) continue;
    walked.add(`Query.${field.name}`);
    const required = field.args.filter((a) => isNonNullType(a.type));
    const body = selection(named, 3);
    if (required.length === 0) {
      const args = field.args.some((a) => a.name === 'first') ? '(first: 20)' : '';
      out.push({ field, text: `{ ${field.name}${args} { ${body} } }` });
      continue;
    }
    // One required key argument (device(guid), alert(id), activation(id), explainAlert(id)):
    // ask for every object of the kind it names, in scope or not.
    const arg = required[0];
    const kind = field.name.toLowerCase().includes('device')
      ? 'Device'
      : field.name.toLowerCase().includes('alert')
        ? 'Alert'
        : field.name.toLowerCase().includes('activation')
          ? 'FirmwareActivation'
          : undefined;
    if (required.length !== 1 || !kind) continue; // suppressionStats(from, to): no entities
    for (const key of keysOf(kind)) {
      out.push({ field, text: `{ ${field.name}(${arg.name}: "${key}") { ${body} } }` });
    }
  }
  return out;
}

describe('every read path obeys the read scope (generated from schema.graphql)', () => {
  let t: TestApp;
  const tokens: Partial<Record<Role, string>> = {};
  const truth: Truth = { devices: new Map(), alerts: new Map(), activations: new Map() };

  beforeAll(async () => {
    t = await startTestApp({ RATE_LIMIT_MUTATIONS_PER_MINUTE: '0', GRAPHQL_MAX_COMPLEXITY: '1000000' });
    tokens.OPERATOR = await t.token({ role: 'OPERATOR' });
    tokens.ED12 = await t.token({ role: 'ED', distributorIds: ['12'] });
    tokens.ED14 = await t.token({ role: 'ED', distributorIds: ['14'] });
    tokens.IS = await t.token({ role: 'IS', supplierId: SUP_A });
    tokens.GS = await t.token({ role: 'GS', supplierId: SUP_B });
    const op = tokens.OPERATOR;
    const device = (g: string, type: string, m: string) => ({
      guid: g,
      deviceType: type,
      importSupplierId: type === 'ESME' ? SUP_B : undefined,
      manufacturer: 'AB01',
      model: '010A030B',
      firmwareVersion: '0002012F',
      mpan: m,
      areaKey: `AZ-${m.slice(0, 2)}`,
    });
    ok(
      (
        await t.gql(
          'mutation ($d: [DeviceInput!]!) { upsertDevices(devices: $d) { inserted } }',
          {
            d: [
              device(ESME12, 'ESME', mpan(12, 1)),
              device(CH14, 'CHF', mpan(14, 2)),
              device(ESME14, 'ESME', mpan(14, 1)),
              device(CH12, 'CHF', mpan(12, 2)),
            ],
          },
          op,
        )
      ).body,
    );
    ok(
      (
        await t.gql(
          `mutation { a: linkCommsHub(commsHubGuid: "${CH14}", esmeGuid: "${ESME12}", effectiveFrom: "2020-01-01T00:00:00Z") { effectiveFrom }
                      b: linkCommsHub(commsHubGuid: "${CH12}", esmeGuid: "${ESME14}", effectiveFrom: "2020-01-01T00:00:00Z") { effectiveFrom } }`,
          {},
          op,
        )
      ).body,
    );
    ok(
      (
        await t.gql(
          `mutation { registerFirmwareImage(image: { manufacturer: "AB01", model: "010A030B", version: "00020130", imageHash: "${HASH}" }) { id } }`,
          {},
          op,
        )
      ).body,
    );
    const schedule = async (token: string, requestId: string, esme: string, days: number) =>
      ok(
        (
          await t.gql(
            'mutation ($a: ScheduleFirmwareActivationInput!) { scheduleFirmwareActivation(activation: $a) { id } }',
            {
              a: {
                requestId,
                esmeGuid: esme,
                imageHash: HASH,
                executeAt: new Date(Date.now() + days * 86_400_000).toISOString(),
              },
            },
            token,
          )
        ).body,
      );
    // Two suppliers on the same meter (ESME12: B, then A after a change of supplier), and B on ESME14.
    await schedule(tokens.GS!, `${SUP_B}:${ESME12}:1`, ESME12, 2);
    await schedule(tokens.GS!, `${SUP_B}:${ESME14}:1`, ESME14, 2);
    ok(
      (
        await t.gql(
          `mutation { registerSupplier(esmeGuid: "${ESME12}", supplierId: "${SUP_A}") { effectiveFrom } }`,
          {},
          op,
        )
      ).body,
    );
    await schedule(tokens.IS!, `${SUP_A}:${ESME12}:1`, ESME12, 3);
    // An outage and its restore behind each crossed hub: alerts of 14 whose meter is 12's, and back.
    const hour = 3_600_000;
    for (const [hub, esme, m] of [
      [CH14, ESME12, mpan(14, 2)],
      [CH12, ESME14, mpan(12, 2)],
    ]) {
      ok(
        (
          await t.gql(
            'mutation ($a: [AlertInput!]!) { ingestAlerts(alerts: $a) { alertId } }',
            {
              a: [
                {
                  powerOutage: {
                    commsHubGuid: hub,
                    startAt: new Date(Date.now() - 2 * hour).toISOString(),
                    mpan: m,
                  },
                },
                {
                  supplyRestored: {
                    esmeGuid: esme,
                    alertCode: '8F36',
                    interruptionAt: new Date(Date.now() - 2 * hour).toISOString(),
                    restorationAt: new Date(Date.now() - hour).toISOString(),
                    mpan: m,
                  },
                },
              ],
            },
            op,
          )
        ).body,
      );
    }
    const all = ok(
      (
        await t.gql<{
          devices: { nodes: { guid: string; distributorId: string | null }[] };
          alerts: { nodes: { id: string; distributorId: string | null }[] };
          activations: { nodes: { id: string; supplierId: string; device: { guid: string } }[] };
        }>(
          `{ devices(first: 100) { nodes { guid distributorId } } alerts(first: 100) { nodes { id distributorId } }
             activations(first: 100) { nodes { id supplierId device { guid } } } }`,
          {},
          op,
        )
      ).body,
    );
    for (const d of all.devices.nodes) truth.devices.set(d.guid, d.distributorId);
    for (const a of all.alerts.nodes) truth.alerts.set(a.id, a.distributorId);
    for (const a of all.activations.nodes)
      truth.activations.set(a.id, { supplierId: a.supplierId, deviceGuid: a.device.guid });
    // The fixtures do cross: an alert of each DNO, activations of both suppliers on one meter.
    expect(new Set(truth.alerts.values())).toEqual(new Set(['12', '14']));
    expect(
      [...truth.activations.values()]
        .filter((a) => a.deviceGuid === ESME12)
        .map((a) => a.supplierId)
        .sort(),
    ).toEqual([SUP_A, SUP_B].sort());
  });
  afterAll(() => t?.stop());

  test('root queries and every nested field, for every role: nothing out of scope', async () => {
    const leaks: string[] = [];
    let seen = 0;
    for (const { text } of rootQueries(truth)) {
      for (const role of ROLES) {
        const res = await t.gql(text, {}, tokens[role]);
        expect(res.status).toBeLessThan(500);
        for (const o of scopedObjects(res.body.data)) {
          seen++;
          if (!mayRead(role, o.type, o.key, truth))
            leaks.push(`${role} read ${o.type} ${o.key} via ${text.slice(0, 60)}`);
        }
      }
    }
    expect(leaks).toEqual([]);
    expect(seen).toBeGreaterThan(50); // the walk did read objects
  });

  test('_entities with every key of every scoped type, for every role: nothing out of scope', async () => {
    const leaks: string[] = [];
    const representations = [
      ...[...truth.devices.keys()].map((g) => ({ __typename: 'Device', guid: g })),
      ...[...truth.alerts.keys()].map((id) => ({ __typename: 'Alert', id })),
      ...[...truth.activations.keys()].map((id) => ({ __typename: 'FirmwareActivation', id })),
    ];
    const fragments = Object.keys(SCOPED)
      .map((type) => `... on ${type} { ${selection(SCHEMA.getType(type) as GraphQLObjectType, 2)} }`)
      .join(' ');
    for (const role of ROLES) {
      const res = await t.gql(
        `query ($r: [_Any!]!) { _entities(representations: $r) { ${fragments} } }`,
        { r: representations },
        tokens[role],
      );
      expect(res.status).toBeLessThan(500);
      for (const o of scopedObjects(res.body.data)) {
        if (!mayRead(role, o.type, o.key, truth)) leaks.push(`${role} read ${o.type} ${o.key} via _entities`);
      }
    }
    expect(leaks).toEqual([]);
  });

  test("dnoAlerts events, with every field, carry only the subscriber's own objects", async () => {
    const dnoAlert = SCHEMA.getType('DnoAlert') as GraphQLObjectType;
    for (const [role, dno] of [
      ['ED12', '12'],
      ['ED14', '14'],
    ] as const) {
      const client = t.ws(tokens[role]);
      await connected(client);
      const sub = subscribe<{ dnoAlerts: unknown }>(
        client,
        `subscription { dnoAlerts(distributorId: "${dno}", after: "0") { ${selection(dnoAlert, 3)} } }`,
      );
      await sub.waitFor(1, 10_000);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const leaks = scopedObjects(sub.events).filter((o) => !mayRead(role, o.type, o.key, truth));
      expect(leaks).toEqual([]);
      expect(scopedObjects(sub.events).length).toBeGreaterThan(0);
      sub.dispose();
    }
  });

  test('the walk reached every object field of the schema that returns an object', () => {
    const expected = new Set<string>();
    for (const type of Object.values(SCHEMA.getTypeMap())) {
      if (!isObjectType(type) || type.name.startsWith('_') || type.name.startsWith('__')) continue;
      if (type === SCHEMA.getMutationType() || type === SCHEMA.getSubscriptionType()) continue;
      for (const field of Object.values(type.getFields())) {
        if (isObjectType(getNamedType(field.type)) && !field.name.startsWith('_'))
          expected.add(`${type.name}.${field.name}`);
      }
    }
    // Reached only from mutation results or subscription events, which the other tests cover.
    const notFromQueries = new Set([
      'ActivationCampaign.activations',
      'DnoAlert.alert',
      'DnoAlert.decision',
      'DnoAlert.pairedWith',
      'DnoAlert.otaInduced',
      'IngestResult.decision',
      'UpsertDevicesResult.devices',
      'InventoryChange.devices',
    ]);
    const missing = [...expected].filter((f) => !walked.has(f) && !notFromQueries.has(f));
    expect(missing).toEqual([]);
  });
});
