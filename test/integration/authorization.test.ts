import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { buildSchema } from 'graphql';
import type { Client as WsClient } from 'graphql-ws';
import { SignJWT } from 'jose';
import { TEST_SECRET, connected, startTestApp, subscribe } from '../support/app';
import type { GqlBody, TestApp } from '../support/app';
import { expectError, guid, mpan, ok } from '../support/integration';

/**
 * Who may do what: every query, mutation and subscription of the schema, called by every role
 * (OPERATOR, ED for distributor 12, IS supplier A, GS supplier B, anonymous), from ONE list, so a
 * new operation without a row fails the completeness test. Then the scoped reads in detail:
 * another DNO's alerts, devices, cursors and stream, another supplier's activations, federation
 * references outside the caller's scope, and the WebSocket handshake (no token, expired token,
 * a token that expires while connected).
 */

type Role = 'OPERATOR' | 'ED' | 'IS' | 'GS' | 'ANON';
const ROLES: Role[] = ['OPERATOR', 'ED', 'IS', 'GS', 'ANON'];

/**
 * ok: succeeds. allowed: gets past authorization (succeeds, or fails for a reason of its input
 * or state: BAD_USER_INPUT, NOT_FOUND, CONFLICT). null: succeeds with null (out of scope).
 * An error code: fails with it. 4401: the WebSocket connection itself is refused.
 */
type Expect = 'ok' | 'allowed' | 'null' | 'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND' | '4401';

interface Operation {
  readonly type: 'query' | 'mutation' | 'subscription';
  readonly name: string;
  /** The operation text and variables for a role (fixtures are ready by then). */
  readonly request: (role: Role) => { query: string; variables?: Record<string, unknown> };
  readonly expect: Record<Role, Expect>;
}

const SUP_A = '90-B3-D5-1F-30-0A-00-00'; // IS
const SUP_B = '90-B3-D5-1F-30-0B-00-00'; // GS
const ESME12 = guid('A0-00-00-00-00-12', 1);
const CH12 = guid('A0-00-00-00-00-12', 2);
const ESME14 = guid('A0-00-00-00-00-14', 1);
const CH14 = guid('A0-00-00-00-00-14', 2);
const MPAN12 = mpan(12, 4242);
const MPAN14 = mpan(14, 4242);
const HASH = crypto.createHash('sha256').update('authorization-matrix-image').digest('hex');
/** A campaign a month ahead of the server's (wall) clock: within the plausible range of input dates. */
const CAMPAIGN_FROM = new Date(Date.now() + 30 * 24 * 3600_000).toISOString();
const CAMPAIGN_TO = new Date(Date.now() + 31 * 24 * 3600_000).toISOString();

/** Fixture IDs, filled in by beforeAll. */
const F = {
  activationA: '', // IS (supplier A) on ESME12 (DNO 12)
  requestA: `${SUP_A}:${ESME12}:1`,
  activationB: '', // GS (supplier B) on ESME14 (DNO 14)
  requestB: `${SUP_B}:${ESME14}:1`,
  alert12: '',
  alert14: '',
  imageId: '',
};

const same = (e: Expect): Record<Role, Expect> => ({ OPERATOR: e, ED: e, IS: e, GS: e, ANON: e });
const opEd: Record<Role, Expect> = {
  OPERATOR: 'ok',
  ED: 'ok',
  IS: 'FORBIDDEN',
  GS: 'FORBIDDEN',
  ANON: 'UNAUTHENTICATED',
};
const operatorOnly = (allowed: Expect = 'ok'): Record<Role, Expect> => ({
  OPERATOR: allowed,
  ED: 'FORBIDDEN',
  IS: 'FORBIDDEN',
  GS: 'FORBIDDEN',
  ANON: 'UNAUTHENTICATED',
});
const suppliersOnly: Record<Role, Expect> = {
  OPERATOR: 'FORBIDDEN',
  ED: 'FORBIDDEN',
  IS: 'allowed',
  GS: 'allowed',
  ANON: 'UNAUTHENTICATED',
};
const anyUser: Record<Role, Expect> = { ...same('ok'), ANON: 'UNAUTHENTICATED' };

let counter = 100;
const q = (query: string, variables?: Record<string, unknown>) => () => ({ query, variables });

/** THE list: one row per root field of the schema. */
const OPERATIONS: Operation[] = [
  // --- queries ---
  {
    type: 'query',
    name: 'networkOperators',
    request: q('{ networkOperators { distributorId } }'),
    expect: same('ok'),
  },
  {
    type: 'query',
    name: 'device',
    request: () => ({ query: `{ device(guid: "${ESME12}") { guid } }` }),
    expect: opEd,
  },
  { type: 'query', name: 'devices', request: q('{ devices { nodes { guid } } }'), expect: opEd },
  { type: 'query', name: 'firmwareImages', request: q('{ firmwareImages { id } }'), expect: anyUser },
  {
    type: 'query',
    name: 'affectedFirmwareRules',
    request: q('{ affectedFirmwareRules { id } }'),
    expect: anyUser,
  },
  { type: 'query', name: 'activations', request: q('{ activations { nodes { id } } }'), expect: anyUser },
  {
    type: 'query',
    name: 'activation',
    request: () => ({ query: `{ activation(id: "${F.activationA}") { id } }` }),
    // Supplier A's activation on a DNO-12 MPAN: supplier B may not see it.
    expect: { OPERATOR: 'ok', ED: 'ok', IS: 'ok', GS: 'null', ANON: 'UNAUTHENTICATED' },
  },
  { type: 'query', name: 'alerts', request: q('{ alerts { nodes { id } } }'), expect: opEd },
  {
    type: 'query',
    name: 'alert',
    request: () => ({ query: `{ alert(id: "${F.alert12}") { id } }` }),
    expect: opEd,
  },
  {
    type: 'query',
    name: 'node',
    // The alert's global ID: node(id:) reads it as alert(id:) does.
    request: () => ({
      query: `{ node(id: "${Buffer.from(`Alert:${F.alert12}`).toString('base64url')}") { nodeId } }`,
    }),
    expect: opEd,
  },
  {
    type: 'query',
    name: 'explainAlert',
    request: () => ({ query: `{ explainAlert(id: "${F.alert12}") { lines } }` }),
    expect: opEd,
  },
  {
    type: 'query',
    name: 'suppressionStats',
    request: q('{ suppressionStats(from: "2000-01-01T00:00:00Z", to: "2999-01-01T00:00:00Z") { count } }'),
    expect: opEd,
  },
  {
    type: 'query',
    name: 'dnoDeliveryStatus',
    request: q('{ dnoDeliveryStatus(distributorId: "12") { lag } }'),
    expect: opEd,
  },
  {
    type: 'query',
    name: 'deliveryPreference',
    request: q('{ deliveryPreference(distributorId: "12") }'),
    expect: opEd,
  },
  {
    type: 'query',
    name: '_entities',
    request: () => ({
      query: 'query ($r: [_Any!]!) { _entities(representations: $r) { ... on Device { guid } } }',
      variables: { r: [{ __typename: 'Device', guid: ESME12 }] },
    }),
    expect: opEd,
  },
  { type: 'query', name: '_service', request: q('{ _service { sdl } }'), expect: same('ok') },
  {
    type: 'query',
    name: 'verificationRequests',
    request: q('{ verificationRequests(after: "0", first: 10) { sequence requestId duisRequest } }'),
    expect: operatorOnly(),
  },
  {
    type: 'query',
    name: 'operatorStatus',
    request: q('{ operatorStatus(windowMinutes: 60) { total { heldNow } distributors { distributorId } } }'),
    expect: operatorOnly(),
  },
  {
    type: 'query',
    name: 'dnoDeliveryStatuses',
    request: q('{ dnoDeliveryStatuses { distributorId lag secondsSinceAcknowledgement } }'),
    expect: operatorOnly(),
  },
  // --- mutations ---
  {
    type: 'mutation',
    name: 'scheduleFirmwareActivation',
    request: (role) => {
      const [sup, esme] = role === 'GS' ? [SUP_B, ESME14] : [SUP_A, ESME12];
      return {
        query: `mutation ($a: ScheduleFirmwareActivationInput!) { scheduleFirmwareActivation(activation: $a) { id } }`,
        variables: { a: { requestId: `${sup}:${esme}:${counter++}`, esmeGuid: esme, imageHash: HASH } },
      };
    },
    expect: suppliersOnly,
  },
  {
    type: 'mutation',
    name: 'scheduleActivationCampaign',
    request: q(
      `mutation { scheduleActivationCampaign(campaign: { esmeGuids: [], imageHash: "${HASH}", from: "${CAMPAIGN_FROM}",
         to: "${CAMPAIGN_TO}", maxPerAreaPerHour: 1, firstCounter: "900" }) { campaignId } }`,
    ),
    expect: suppliersOnly,
  },
  {
    type: 'mutation',
    name: 'cancelFirmwareActivation',
    // Supplier A's activation: supplier B is told it does not exist.
    request: () => ({ query: `mutation { cancelFirmwareActivation(id: "${F.activationA}") { id status } }` }),
    expect: { OPERATOR: 'allowed', ED: 'FORBIDDEN', IS: 'allowed', GS: 'NOT_FOUND', ANON: 'UNAUTHENTICATED' },
  },
  {
    type: 'mutation',
    name: 'recordActivationOutcome',
    // Supplier B's activation: B's outcome is recorded as its claim; supplier A is told it does not exist.
    request: () => ({
      query: `mutation ($o: ActivationOutcomeInput!) { recordActivationOutcome(outcome: $o) { id status } }`,
      variables: {
        o: { requestId: F.requestB, outcomeCode: 'success', executedAt: new Date().toISOString() },
      },
    }),
    expect: { OPERATOR: 'allowed', ED: 'FORBIDDEN', IS: 'NOT_FOUND', GS: 'allowed', ANON: 'UNAUTHENTICATED' },
  },
  {
    type: 'mutation',
    name: 'ingestAlerts',
    request: () => ({
      query: `mutation ($a: [AlertInput!]!) { ingestAlerts(alerts: $a) { alertId } }`,
      variables: {
        a: [
          {
            powerOutage: {
              commsHubGuid: CH12,
              startAt: new Date(Date.now() - 60_000).toISOString(),
              mpan: MPAN12,
            },
          },
        ],
      },
    }),
    expect: operatorOnly(),
  },
  {
    type: 'mutation',
    name: 'acknowledgeDnoAlerts',
    request: q('mutation { acknowledgeDnoAlerts(distributorId: "12", upTo: "0") { lag } }'),
    expect: opEd,
  },
  {
    type: 'mutation',
    name: 'setDeliveryPreference',
    request: q('mutation { setDeliveryPreference(distributorId: "12", preference: FILTER) { preference } }'),
    expect: opEd,
  },
  {
    type: 'mutation',
    name: 'upsertDevices',
    request: q(
      `mutation { upsertDevices(devices: [{ guid: "${guid('A0-00-00-00-00-99', 1)}", deviceType: IHD }]) { inserted updated } }`,
    ),
    expect: operatorOnly(),
  },
  {
    type: 'mutation',
    name: 'linkCommsHub',
    request: q(`mutation { linkCommsHub(commsHubGuid: "${CH12}", esmeGuid: "${ESME12}") { effectiveFrom } }`),
    expect: operatorOnly('allowed'),
  },
  {
    type: 'mutation',
    name: 'registerSupplier',
    request: q(
      `mutation { registerSupplier(esmeGuid: "${ESME12}", supplierId: "${SUP_A}") { effectiveFrom } }`,
    ),
    expect: operatorOnly('allowed'),
  },
  {
    type: 'mutation',
    name: 'linkCommsHubs',
    request: q(
      `mutation { linkCommsHubs(links: [{ commsHubGuid: "${CH12}", esmeGuid: "${ESME12}" }]) { effectiveFrom } }`,
    ),
    expect: operatorOnly('allowed'),
  },
  {
    type: 'mutation',
    name: 'registerFirmwareImage',
    request: q(
      `mutation { registerFirmwareImage(image: { manufacturer: "AB01", model: "010A030B", version: "00020130", imageHash: "${HASH}" }) { id } }`,
    ),
    expect: operatorOnly(),
  },
  {
    type: 'mutation',
    name: 'upsertAffectedFirmwareRule',
    request: q(
      `mutation { upsertAffectedFirmwareRule(rule: { name: "matrix", manufacturer: "AB01", model: "0F0F0F0F",
         affectedFirmwareVersions: ["0001"], enabled: false }) { id } }`,
    ),
    expect: operatorOnly(),
  },
  {
    type: 'mutation',
    name: 'recordVerificationAnswer',
    // No request was ever made: an operator gets past authorization and is told it does not exist.
    request: q(
      `mutation { recordVerificationAnswer(input: { requestId: "90-B3-D5-1F-30-00-00-01:${ESME12}:1",
         answeredAt: "2026-01-01T00:00:00Z", firmwareVersion: "00020130" }) { status } }`,
    ),
    expect: operatorOnly('allowed'),
  },
  // --- subscriptions (WebSocket) ---
  {
    type: 'subscription',
    name: 'dnoAlerts',
    request: q('subscription { dnoAlerts(distributorId: "12", after: "0") { sequence } }'),
    expect: { OPERATOR: 'ok', ED: 'ok', IS: 'FORBIDDEN', GS: 'FORBIDDEN', ANON: '4401' },
  },
  {
    type: 'subscription',
    name: 'inventoryChanged',
    request: q('subscription { inventoryChanged { count } }'),
    expect: { OPERATOR: 'ok', ED: 'FORBIDDEN', IS: 'FORBIDDEN', GS: 'FORBIDDEN', ANON: '4401' },
  },
  {
    type: 'subscription',
    name: 'verificationRequests',
    request: q('subscription { verificationRequests(after: "0") { sequence } }'),
    expect: { OPERATOR: 'ok', ED: 'FORBIDDEN', IS: 'FORBIDDEN', GS: 'FORBIDDEN', ANON: '4401' },
  },
];

/** Every table a write could touch. */
const TABLES = [
  'device',
  'device_firmware',
  'comms_hub_link',
  'firmware_image',
  'affected_firmware_rule',
  'affected_firmware_rule_change',
  'firmware_activation',
  'activation_outcome_claim',
  'alert',
  'alert_decision',
  'dno_outbox',
  'dno_delivery_position',
  'delivery_preference',
  'verification_request',
];

async function snapshot(t: TestApp): Promise<string> {
  // Counts plus the activations' and preferences' state: a denied cancel or outcome changes no row count.
  const counts = await Promise.all(
    TABLES.map(async (table) => {
      const [row] = (await t.app.dataSource.query(`SELECT count(*)::int AS n FROM ${table}`)) as {
        n: number;
      }[];
      return `${table}=${row.n}`;
    }),
  );
  const states = (await t.app.dataSource.query(
    `SELECT string_agg(id::text || status, ',' ORDER BY id) AS s FROM firmware_activation`,
  )) as { s: string | null }[];
  const prefs = (await t.app.dataSource.query(
    `SELECT string_agg(distributor_id || preference, ',' ORDER BY distributor_id) AS s FROM delivery_preference`,
  )) as { s: string | null }[];
  return `${counts.join(' ')} | ${states[0].s} | ${prefs[0].s}`;
}

/** The outcome of a subscription within a short wait: ok (accepted, maybe events), or its error code. */
async function trySubscribe(client: WsClient, query: string): Promise<string> {
  try {
    await connected(client, 5000);
  } catch (event) {
    return String((event as { code?: number }).code);
  }
  const sub = subscribe(client, query);
  await Promise.race([sub.waitFor(1, 800).catch(() => undefined), new Promise((r) => setTimeout(r, 800))]);
  sub.dispose();
  if (!sub.error) return 'ok';
  const errors = sub.error as { extensions?: { code?: string } }[];
  return errors[0]?.extensions?.code ?? JSON.stringify(sub.error);
}

function outcomeOf(body: GqlBody<Record<string, unknown>>, field: string): string {
  const code = body.errors?.[0]?.extensions?.code;
  if (code) return code;
  const value = body.data?.[field];
  return value === null ? 'null' : 'ok';
}

describe('authorization matrix: every operation x every role', () => {
  let t: TestApp;
  const tokens: Partial<Record<Role, string>> = {};

  beforeAll(async () => {
    t = await startTestApp({ RATE_LIMIT_MUTATIONS_PER_MINUTE: '0' });
    tokens.OPERATOR = await t.token({ role: 'OPERATOR' });
    tokens.ED = await t.token({ role: 'ED', distributorIds: ['12'] });
    tokens.IS = await t.token({ role: 'IS', supplierId: SUP_A });
    tokens.GS = await t.token({ role: 'GS', supplierId: SUP_B });
    const op = tokens.OPERATOR;
    const device = (g: string, type: string, m: string | null, area: string, supplier?: string) => ({
      guid: g,
      deviceType: type,
      importSupplierId: supplier,
      manufacturer: 'AB01',
      model: '010A030B',
      firmwareVersion: '0002012F',
      mpan: m,
      areaKey: area,
    });
    ok(
      (
        await t.gql(
          `mutation ($d: [DeviceInput!]!) { upsertDevices(devices: $d) { inserted } }`,
          {
            d: [
              device(ESME12, 'ESME', MPAN12, 'AZ-12', SUP_A),
              device(CH12, 'CHF', MPAN12, 'AZ-12'),
              device(ESME14, 'ESME', MPAN14, 'AZ-14', SUP_B),
              device(CH14, 'CHF', MPAN14, 'AZ-14'),
            ],
          },
          op,
        )
      ).body,
    );
    for (const [ch, esme] of [
      [CH12, ESME12],
      [CH14, ESME14],
    ]) {
      ok(
        (
          await t.gql(
            `mutation { linkCommsHub(commsHubGuid: "${ch}", esmeGuid: "${esme}", effectiveFrom: "2020-01-01T00:00:00Z") { effectiveFrom } }`,
            {},
            op,
          )
        ).body,
      );
    }
    F.imageId = ok(
      (
        await t.gql<{ registerFirmwareImage: { id: string } }>(
          `mutation { registerFirmwareImage(image: { manufacturer: "AB01", model: "010A030B", version: "00020130", imageHash: "${HASH}" }) { id } }`,
          {},
          op,
        )
      ).body,
    ).registerFirmwareImage.id;
    const schedule = async (token: string, requestId: string, esme: string) =>
      ok(
        (
          await t.gql<{ scheduleFirmwareActivation: { id: string } }>(
            `mutation ($a: ScheduleFirmwareActivationInput!) { scheduleFirmwareActivation(activation: $a) { id } }`,
            {
              a: {
                requestId,
                esmeGuid: esme,
                imageHash: HASH,
                executeAt: new Date(Date.now() + 86_400_000).toISOString(),
              },
            },
            token,
          )
        ).body,
      ).scheduleFirmwareActivation.id;
    F.activationA = await schedule(tokens.IS, F.requestA, ESME12);
    F.activationB = await schedule(tokens.GS, F.requestB, ESME14);
    const ingested = ok(
      (
        await t.gql<{ ingestAlerts: { alertId: string }[] }>(
          `mutation ($a: [AlertInput!]!) { ingestAlerts(alerts: $a) { alertId } }`,
          {
            a: [
              { powerOutage: { commsHubGuid: CH12, startAt: '2026-01-01T00:00:00Z', mpan: MPAN12 } },
              { powerOutage: { commsHubGuid: CH14, startAt: '2026-01-01T00:00:00Z', mpan: MPAN14 } },
            ],
          },
          op,
        )
      ).body,
    ).ingestAlerts;
    [F.alert12, F.alert14] = ingested.map((r) => r.alertId);
  });
  afterAll(() => t?.stop());

  test('the matrix lists every Query, Mutation and Subscription field of schema.graphql, and only fields the server has', async () => {
    const sdl = fs.readFileSync(path.join(__dirname, '../../schema.graphql'), 'utf8');
    const schema = buildSchema(sdl, { assumeValidSDL: true });
    const inSchema = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].flatMap(
      (type) => Object.keys(type?.getFields() ?? {}).map((f) => `${type!.name}.${f}`),
    );
    const typeName = { query: 'Query', mutation: 'Mutation', subscription: 'Subscription' } as const;
    const inMatrix = OPERATIONS.map((o) => `${typeName[o.type]}.${o.name}`);
    expect(inSchema.filter((f) => !inMatrix.includes(f))).toEqual([]);
    expect(new Set(inMatrix).size).toBe(inMatrix.length);
    // The live schema adds the federation fields (_entities, _service), which the printed SDL leaves out.
    const live = ok(
      (
        await t.gql<{
          q: { fields: { name: string }[] };
          m: { fields: { name: string }[] };
          s: { fields: { name: string }[] };
        }>(
          '{ q: __type(name: "Query") { fields { name } } m: __type(name: "Mutation") { fields { name } } s: __type(name: "Subscription") { fields { name } } }',
        )
      ).body,
    );
    const liveFields = [
      ...live.q.fields.map((f) => `Query.${f.name}`),
      ...live.m.fields.map((f) => `Mutation.${f.name}`),
      ...live.s.fields.map((f) => `Subscription.${f.name}`),
    ];
    expect([...inMatrix].sort()).toEqual([...liveFields].sort());
  });

  const cases = OPERATIONS.flatMap((o) =>
    ROLES.map((role) => [o.type, o.name, role, o.expect[role], o] as const),
  );

  test.each(cases)('%s %s as %s: %s', async (type, name, role, expected, operation) => {
    const { query, variables } = operation.request(role);
    const token = tokens[role];
    if (type === 'subscription') {
      expect(await trySubscribe(t.ws(token), query)).toBe(expected);
      return;
    }
    const before =
      type === 'mutation' && expected !== 'ok' && expected !== 'allowed' ? await snapshot(t) : '';
    const res = await t.gql<Record<string, unknown>>(query, variables, token);
    const outcome = outcomeOf(res.body, name);
    if (expected === 'allowed') {
      expect(['ok', 'BAD_USER_INPUT', 'NOT_FOUND', 'CONFLICT']).toContain(outcome);
    } else {
      expect(outcome).toBe(expected);
    }
    if (before) expect(await snapshot(t)).toBe(before);
    if (expected === 'UNAUTHENTICATED') expect(res.status).toBe(200);
  });

  describe('scoped reads: another DNO', () => {
    test('ED 12 sees only its own alerts and devices; DNO 14’s are null, NOT_FOUND or absent', async () => {
      const ed = tokens.ED!;
      const alerts = ok(
        (
          await t.gql<{ alerts: { nodes: { id: string; distributorId: string }[] } }>(
            '{ alerts(first: 500) { nodes { id distributorId } } }',
            {},
            ed,
          )
        ).body,
      ).alerts.nodes;
      expect(alerts.map((a) => a.id)).toContain(F.alert12);
      expect(alerts.every((a) => a.distributorId === '12')).toBe(true);
      expect(
        ok(
          (
            await t.gql<{ alerts: { nodes: unknown[] } }>(
              '{ alerts(filter: { distributorId: "14" }) { nodes { id } } }',
              {},
              ed,
            )
          ).body,
        ).alerts.nodes,
      ).toEqual([]);
      expect(
        ok(
          (
            await t.gql<{ alerts: { nodes: unknown[] } }>(
              '{ alerts(filter: { unrouted: true }) { nodes { id } } }',
              {},
              ed,
            )
          ).body,
        ).alerts.nodes,
      ).toEqual([]);
      expect(ok((await t.gql(`{ alert(id: "${F.alert14}") { id } }`, {}, ed)).body)).toEqual({ alert: null });
      expectError((await t.gql(`{ explainAlert(id: "${F.alert14}") { lines } }`, {}, ed)).body, 'NOT_FOUND');
      const devices = ok(
        (
          await t.gql<{ devices: { nodes: { distributorId: string }[] } }>(
            '{ devices(first: 500) { nodes { distributorId } } }',
            {},
            ed,
          )
        ).body,
      ).devices.nodes;
      expect(devices.length).toBeGreaterThan(0);
      expect(devices.every((d) => d.distributorId === '12')).toBe(true);
      expect(ok((await t.gql(`{ device(guid: "${ESME14}") { guid } }`, {}, ed)).body)).toEqual({
        device: null,
      });
      const stats = ok(
        (
          await t.gql<{ suppressionStats: { distributorId: string }[] }>(
            '{ suppressionStats(from: "2000-01-01T00:00:00Z", to: "2999-01-01T00:00:00Z") { distributorId } }',
            {},
            ed,
          )
        ).body,
      );
      expect(stats.suppressionStats.every((s) => s.distributorId === '12')).toBe(true);
      // Activations: only those on DNO 12's devices.
      const acts = ok(
        (
          await t.gql<{ activations: { nodes: { id: string }[] } }>(
            '{ activations(first: 500) { nodes { id } } }',
            {},
            ed,
          )
        ).body,
      ).activations.nodes.map((a) => a.id);
      expect(acts).toContain(F.activationA);
      expect(acts).not.toContain(F.activationB);
      expect(ok((await t.gql(`{ activation(id: "${F.activationB}") { id } }`, {}, ed)).body)).toEqual({
        activation: null,
      });
    });

    test('ED 12 may not read, acknowledge or configure DNO 14’s stream: FORBIDDEN, nothing written', async () => {
      const ed = tokens.ED!;
      const before = await snapshot(t);
      expectError(
        (await t.gql('{ dnoDeliveryStatus(distributorId: "14") { lag } }', {}, ed)).body,
        'FORBIDDEN',
      );
      expectError((await t.gql('{ deliveryPreference(distributorId: "14") }', {}, ed)).body, 'FORBIDDEN');
      expectError(
        (await t.gql('mutation { acknowledgeDnoAlerts(distributorId: "14", upTo: "1") { lag } }', {}, ed))
          .body,
        'FORBIDDEN',
      );
      expectError(
        (
          await t.gql(
            'mutation { setDeliveryPreference(distributorId: "14", preference: RAW) { lag } }',
            {},
            ed,
          )
        ).body,
        'FORBIDDEN',
      );
      expect(await snapshot(t)).toBe(before);
      const client = t.ws(ed);
      expect(
        await trySubscribe(
          client,
          'subscription { dnoAlerts(distributorId: "14", after: "0") { sequence } }',
        ),
      ).toBe('FORBIDDEN');
    });

    test('a cursor taken from DNO 14’s pages shows DNO 12 only its own alerts and devices', async () => {
      const ed14 = await t.token({ role: 'ED', distributorIds: ['14'] });
      const page14 = ok(
        (
          await t.gql<{ alerts: { pageInfo: { endCursor: string } } }>(
            '{ alerts(first: 1) { pageInfo { endCursor } } }',
            {},
            ed14,
          )
        ).body,
      ).alerts.pageInfo.endCursor;
      const viaCursor = ok(
        (
          await t.gql<{ alerts: { nodes: { distributorId: string }[] } }>(
            'query ($a: String) { alerts(first: 500, after: $a) { nodes { distributorId } } }',
            { a: page14 },
            tokens.ED,
          )
        ).body,
      );
      expect(viaCursor.alerts.nodes.every((a) => a.distributorId === '12')).toBe(true);
      const dev14 = ok(
        (
          await t.gql<{ devices: { pageInfo: { endCursor: string } } }>(
            '{ devices(first: 1) { pageInfo { endCursor } } }',
            {},
            ed14,
          )
        ).body,
      ).devices.pageInfo.endCursor;
      const devicesViaCursor = ok(
        (
          await t.gql<{ devices: { nodes: { distributorId: string }[] } }>(
            'query ($a: String) { devices(first: 500, after: $a) { nodes { distributorId } } }',
            { a: dev14 },
            tokens.ED,
          )
        ).body,
      );
      expect(devicesViaCursor.devices.nodes.every((d) => d.distributorId === '12')).toBe(true);
    });
  });

  describe('scoped reads and writes: another supplier', () => {
    test('supplier A sees only its own activations; supplier B’s are null or NOT_FOUND, and nothing changes', async () => {
      const is = tokens.IS!;
      const mine = ok(
        (
          await t.gql<{ activations: { nodes: { id: string; supplierId: string }[] } }>(
            '{ activations(first: 500) { nodes { id supplierId } } }',
            {},
            is,
          )
        ).body,
      ).activations.nodes;
      expect(mine.every((a) => a.supplierId === SUP_A)).toBe(true);
      expect(mine.map((a) => a.id)).not.toContain(F.activationB);
      // Filtering by another supplier does not widen the scope.
      expect(
        ok(
          (
            await t.gql<{ activations: { nodes: unknown[] } }>(
              `{ activations(filter: { supplierId: "${SUP_B}" }) { nodes { id } } }`,
              {},
              is,
            )
          ).body,
        ).activations.nodes,
      ).toEqual([]);
      expect(ok((await t.gql(`{ activation(id: "${F.activationB}") { id } }`, {}, is)).body)).toEqual({
        activation: null,
      });
      const before = await snapshot(t);
      expectError(
        (await t.gql(`mutation { cancelFirmwareActivation(id: "${F.activationB}") { id } }`, {}, is)).body,
        'NOT_FOUND',
      );
      expectError(
        (await t.gql(`mutation { cancelFirmwareActivation(requestId: "${F.requestB}") { id } }`, {}, is))
          .body,
        'NOT_FOUND',
      );
      expectError(
        (
          await t.gql(
            `mutation ($o: ActivationOutcomeInput!) { recordActivationOutcome(outcome: $o) { id } }`,
            { o: { requestId: F.requestB, outcomeCode: 'hashMismatch', executedAt: '2026-01-01T00:00:00Z' } },
            is,
          )
        ).body,
        'NOT_FOUND',
      );
      // A request ID that names supplier B as its originator.
      expectError(
        (
          await t.gql(
            `mutation ($a: ScheduleFirmwareActivationInput!) { scheduleFirmwareActivation(activation: $a) { id } }`,
            { a: { requestId: `${SUP_B}:${ESME14}:77`, esmeGuid: ESME14, imageHash: HASH } },
            is,
          )
        ).body,
        'FORBIDDEN',
        'NOT_YOUR_REQUEST_ID',
      );
      expect(await snapshot(t)).toBe(before);
    });
  });

  describe('federation references obey the same scopes', () => {
    const ENTITIES = `query ($r: [_Any!]!) { _entities(representations: $r) {
      ... on Device { guid } ... on Alert { id } ... on FirmwareActivation { id } ... on FirmwareImage { id } } }`;

    test('out-of-scope devices, alerts and activations resolve to null', async () => {
      const refs = [
        { __typename: 'Device', guid: ESME14 },
        { __typename: 'Alert', id: F.alert14 },
        { __typename: 'FirmwareActivation', id: F.activationB },
        { __typename: 'Device', guid: ESME12 },
        { __typename: 'Alert', id: F.alert12 },
        { __typename: 'FirmwareActivation', id: F.activationA },
      ];
      const asEd = ok(
        (await t.gql<{ _entities: unknown[] }>(ENTITIES, { r: refs }, tokens.ED)).body,
      )._entities;
      expect(asEd).toEqual([null, null, null, { guid: ESME12 }, { id: F.alert12 }, { id: F.activationA }]);
      const asIs = ok(
        (
          await t.gql<{ _entities: unknown[] }>(
            ENTITIES,
            {
              r: [
                { __typename: 'FirmwareActivation', id: F.activationB },
                { __typename: 'FirmwareActivation', id: F.activationA },
              ],
            },
            tokens.IS,
          )
        ).body,
      )._entities;
      expect(asIs).toEqual([null, { id: F.activationA }]);
    });

    test('suppliers get FORBIDDEN for devices and alerts; anonymous callers UNAUTHENTICATED for every private entity', async () => {
      const asGs = await t.gql<{ _entities: unknown[] }>(
        ENTITIES,
        { r: [{ __typename: 'Alert', id: F.alert14 }] },
        tokens.GS,
      );
      expect(asGs.body.data?._entities).toEqual([null]);
      expectError(asGs.body, 'FORBIDDEN');
      for (const ref of [
        { __typename: 'Device', guid: ESME12 },
        { __typename: 'Alert', id: F.alert12 },
        { __typename: 'FirmwareActivation', id: F.activationA },
        { __typename: 'FirmwareImage', id: F.imageId },
      ]) {
        const anon = await t.gql<{ _entities: unknown[] }>(ENTITIES, { r: [ref] });
        expect(anon.body.data?._entities).toEqual([null]);
        expectError(anon.body, 'UNAUTHENTICATED');
      }
      // Public reference data stays public.
      const operators = ok(
        (
          await t.gql<{ _entities: unknown[] }>(
            'query ($r: [_Any!]!) { _entities(representations: $r) { ... on NetworkOperator { name } } }',
            { r: [{ __typename: 'NetworkOperator', distributorId: '12' }] },
          )
        ).body,
      )._entities;
      expect(operators).toHaveLength(1);
      expect(operators[0]).not.toBeNull();
    });

    test('a malformed reference key is BAD_USER_INPUT, not an internal error', async () => {
      for (const ref of [
        { __typename: 'FirmwareImage', id: "x'; DROP TABLE firmware_image;--" },
        { __typename: 'Alert', id: '1 OR 1=1' },
        { __typename: 'FirmwareActivation', id: 'nope' },
        { __typename: 'Device', guid: 'nope' },
      ]) {
        expectError((await t.gql(ENTITIES, { r: [ref] }, tokens.OPERATOR)).body, 'BAD_USER_INPUT');
      }
    });
  });

  describe('the WebSocket handshake', () => {
    const closeCode = async (client: WsClient) => {
      try {
        await connected(client, 5000);
        return 'connected';
      } catch (event) {
        return (event as { code?: number }).code;
      }
    };

    test('no token, a malformed header, a forged token and an expired token are closed with 4401', async () => {
      expect(await closeCode(t.ws())).toBe(4401);
      expect(await closeCode(t.ws(undefined, { connectionParams: { authorization: 'Basic abc' } }))).toBe(
        4401,
      );
      const forged = `${tokens.OPERATOR!.slice(0, -4)}AAAA`;
      expect(await closeCode(t.ws(forged))).toBe(4401);
      const expired = await t.token({ role: 'OPERATOR', ttlSeconds: -60 });
      expect(await closeCode(t.ws(expired))).toBe(4401);
      expect(await closeCode(t.ws(tokens.OPERATOR))).toBe('connected');
    });
  });

  test('a token without exp, or living longer than AUTH_MAX_TOKEN_LIFETIME_SECONDS, is refused on both transports', async () => {
    const forever = await new SignJWT({ role: 'OPERATOR' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('forever')
      .setIssuedAt()
      .sign(new TextEncoder().encode(TEST_SECRET));
    const tooLong = await t.token({ role: 'OPERATOR', ttlSeconds: 501 * 24 * 3600 });
    for (const token of [forever, tooLong]) {
      const res = await t.gql('{ devices(first: 1) { nodes { guid } } }', {}, token);
      expect(res.status).toBe(401);
      expectError(res.body, 'UNAUTHENTICATED');
      let code: number | string;
      try {
        await connected(t.ws(token), 5000);
        code = 'connected';
      } catch (event) {
        code = (event as { code?: number }).code ?? 'error';
      }
      expect(code).toBe(4401);
    }
  });
});

describe('a WebSocket whose token expires while connected', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ AUTH_RECHECK_SECONDS: '1' });
  });
  afterAll(() => t?.stop());

  test('is closed with 4401 once AUTH_RECHECK_SECONDS passes after exp', async () => {
    const token = await t.token({ role: 'OPERATOR', ttlSeconds: 2 });
    const client = t.ws(token);
    const closed = new Promise<number>((resolve) =>
      client.on('closed', (e) => resolve((e as { code: number }).code)),
    );
    await connected(client);
    const started = Date.now();
    const sub = subscribe(client, 'subscription { inventoryChanged { count } }');
    expect(await closed).toBe(4401);
    expect(Date.now() - started).toBeLessThan(6000);
    sub.dispose();
  });
});
