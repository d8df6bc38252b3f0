import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { composeServices } from '@apollo/composition';
import { ApolloGateway, LocalGraphQLDataSource, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import { startTestApp } from '../support/app';
import type { TestApp } from '../support/app';
import { expectError, guid, mpan, ok } from '../support/integration';

/**
 * Federation with the real tools: `_entities` exactly as a router sends it (HTTP POST to our
 * running server) for every entity type with the caller's authorization applied, and a supergraph
 * composed with @apollo/composition from our SDL plus a second subgraph, served by
 * @apollo/gateway, answering a query that crosses both. (@apollo/gateway does not run
 * subscriptions; see the README, "Federation: joining other graphs".)
 */

const SUPPLIER = '90-B3-D5-1F-30-01-00-00';
const ESME_12 = guid('00-DB-FE-00-00-12', 1);
const ESME_15 = guid('00-DB-FE-00-00-15', 1);
const UNKNOWN_GUID = guid('00-DB-FE-00-00-99', 1);
const IMAGE_HASH = crypto.createHash('sha256').update('federation-image').digest('hex');

const ENTITIES = `query ($r: [_Any!]!) {
  _entities(representations: $r) {
    __typename
    ... on Device { guid model }
    ... on NetworkOperator { name }
    ... on Alert { id outcome }
    ... on FirmwareImage { id version }
    ... on FirmwareActivation { id requestId }
  }
}`;

type Entity = Record<string, unknown> | null;
type Representation = Record<string, string>;

/**
 * A DNO field-work service that extends our Device entity with its open work orders: the example
 * docs/API.md gives, read from the file the docs point `npm run supergraph` at.
 */
const FIELD_WORK_SDL = fs.readFileSync(
  path.join(__dirname, '..', '..', 'docs', 'examples', 'field-work.graphql'),
  'utf8',
);
const WORK_ORDERS: Record<string, { id: string; summary: string }[]> = {
  [ESME_12]: [{ id: 'WO-1', summary: 'Replace cut-out fuse' }],
};
const fieldWorkSchema = buildSubgraphSchema({
  typeDefs: parse(FIELD_WORK_SDL),
  resolvers: {
    Query: { workOrders: () => Object.values(WORK_ORDERS).flat() },
    Device: {
      __resolveReference: (ref: { guid: string }) => ({ guid: ref.guid }),
      openWorkOrders: (device: { guid: string }) => WORK_ORDERS[device.guid] ?? [],
    },
  } as never,
});

describe('Federation', () => {
  let t: TestApp;
  let operator: string;
  let ed12: string;
  let imageId: string;
  let activationId: string;
  let alert12: string;
  let alert15: string;

  beforeAll(async () => {
    t = await startTestApp();
    operator = await t.token({ role: 'OPERATOR' });
    ed12 = await t.token({ role: 'ED', distributorIds: ['12'] });
    const supplier = await t.token({ role: 'IS', supplierId: SUPPLIER });
    const esme = (g: string, distributor: number) => ({
      guid: g,
      deviceType: 'ESME',
      importSupplierId: SUPPLIER,
      manufacturer: 'AB01',
      model: '010A030B',
      firmwareVersion: '0002012F',
      firmwareEffectiveFrom: '2025-01-01T00:00:00Z',
      mpan: mpan(distributor, 7001),
    });
    ok(
      (
        await t.gql(
          `mutation ($d: [DeviceInput!]!) { upsertDevices(devices: $d) { inserted } }`,
          { d: [esme(ESME_12, 12), esme(ESME_15, 15)] },
          operator,
        )
      ).body,
    );
    imageId = ok(
      (
        await t.gql<{ registerFirmwareImage: { id: string } }>(
          `mutation ($i: FirmwareImageInput!) { registerFirmwareImage(image: $i) { id } }`,
          { i: { manufacturer: 'AB01', model: '010A030B', version: '00020130', imageHash: IMAGE_HASH } },
          operator,
        )
      ).body,
    ).registerFirmwareImage.id;
    activationId = ok(
      (
        await t.gql<{ scheduleFirmwareActivation: { id: string } }>(
          `mutation ($a: ScheduleFirmwareActivationInput!) { scheduleFirmwareActivation(activation: $a) { id } }`,
          { a: { requestId: `${SUPPLIER}:${ESME_12}:1`, esmeGuid: ESME_12, imageHash: IMAGE_HASH } },
          supplier,
        )
      ).body,
    ).scheduleFirmwareActivation.id;
    // Hubs not in the inventory: delivered at once, routed by MPAN.
    const ingested = ok(
      (
        await t.gql<{ ingestAlerts: { alertId: string }[] }>(
          `mutation ($a: [AlertInput!]!) { ingestAlerts(alerts: $a) { alertId } }`,
          {
            a: [12, 15].map((d) => ({
              powerOutage: {
                commsHubGuid: guid('00-DB-FE-00-C4-00', d),
                startAt: new Date().toISOString(),
                mpan: mpan(d, 7002),
              },
            })),
          },
          operator,
        )
      ).body,
    ).ingestAlerts;
    [alert12, alert15] = ingested.map((r) => r.alertId);
  });
  afterAll(() => t?.stop());

  const entities = async (representations: Representation[], token?: string) =>
    (await t.gql<{ _entities: Entity[] }>(ENTITIES, { r: representations }, token)).body;

  describe('_entities, as a router calls it over HTTP', () => {
    test('resolves every entity type for an operator, and unknown keys to null', async () => {
      const body = await entities(
        [
          { __typename: 'Device', guid: ESME_12 },
          { __typename: 'Device', guid: ESME_15.toLowerCase() },
          { __typename: 'NetworkOperator', distributorId: '12' },
          { __typename: 'Alert', id: alert12 },
          { __typename: 'FirmwareImage', id: imageId },
          { __typename: 'FirmwareActivation', id: activationId },
          { __typename: 'Device', guid: UNKNOWN_GUID },
          { __typename: 'NetworkOperator', distributorId: '99' },
          { __typename: 'Alert', id: '999999999' },
          { __typename: 'FirmwareImage', id: crypto.randomUUID() },
          { __typename: 'FirmwareActivation', id: crypto.randomUUID() },
        ],
        operator,
      );
      expect(ok(body)._entities).toEqual([
        { __typename: 'Device', guid: ESME_12, model: '010A030B' },
        { __typename: 'Device', guid: ESME_15, model: '010A030B' },
        { __typename: 'NetworkOperator', name: 'London Power Networks' },
        { __typename: 'Alert', id: alert12, outcome: 'DELIVERED' },
        { __typename: 'FirmwareImage', id: imageId, version: '00020130' },
        { __typename: 'FirmwareActivation', id: activationId, requestId: `${SUPPLIER}:${ESME_12}:1` },
        null,
        null,
        null,
        null,
        null,
      ]);
    });

    test('an ED token for distributor 12 sees its own entities and null for distributor 15', async () => {
      const body = await entities(
        [
          { __typename: 'Device', guid: ESME_12 },
          { __typename: 'Device', guid: ESME_15 },
          { __typename: 'Alert', id: alert12 },
          { __typename: 'Alert', id: alert15 },
          { __typename: 'NetworkOperator', distributorId: '15' },
        ],
        ed12,
      );
      expect(ok(body)._entities).toEqual([
        { __typename: 'Device', guid: ESME_12, model: '010A030B' },
        null,
        { __typename: 'Alert', id: alert12, outcome: 'DELIVERED' },
        null,
        // Network operators are public reference data.
        { __typename: 'NetworkOperator', name: 'Northern Powergrid (Northeast)' },
      ]);
    });

    test('references need the same token as the queries do', async () => {
      const anonymous = await entities([{ __typename: 'FirmwareImage', id: imageId }]);
      expect(anonymous.data?._entities).toEqual([null]);
      expectError(anonymous, 'UNAUTHENTICATED');

      const device = await entities([{ __typename: 'Device', guid: ESME_12 }]);
      expectError(device, 'UNAUTHENTICATED');

      const publicData = await entities([{ __typename: 'NetworkOperator', distributorId: '12' }]);
      expect(ok(publicData)._entities).toEqual([
        { __typename: 'NetworkOperator', name: 'London Power Networks' },
      ]);
    });

    test('a malformed key fails that reference only', async () => {
      const body = await entities(
        [
          { __typename: 'Device', guid: 'not-a-guid' },
          { __typename: 'Device', guid: ESME_12 },
          { __typename: 'FirmwareImage', id: 'not-a-uuid' },
        ],
        operator,
      );
      expect(body.data?._entities).toEqual([
        null,
        { __typename: 'Device', guid: ESME_12, model: '010A030B' },
        null,
      ]);
      // Errors come in completion order; compare them by path.
      const errors = (body.errors ?? []).map((e) => [e.path, e.extensions?.code]);
      expect(errors.sort((a, b) => String(a[0]).localeCompare(String(b[0])))).toEqual([
        [['_entities', 0], 'BAD_USER_INPUT'],
        [['_entities', 2], 'BAD_USER_INPUT'],
      ]);
    });
  });

  describe('a supergraph with a DNO field-work subgraph', () => {
    let ourSdl: string;
    let supergraphSdl: string;

    beforeAll(async () => {
      ourSdl = ok((await t.gql<{ _service: { sdl: string } }>('{ _service { sdl } }')).body)._service.sdl;
      const result = composeServices([
        { name: 'poa-sieve', url: `${t.url}/graphql`, typeDefs: parse(ourSdl) },
        { name: 'field-work', url: 'http://field-work.invalid/graphql', typeDefs: parse(FIELD_WORK_SDL) },
      ]);
      expect(result.errors ?? []).toEqual([]);
      // Hints are advice, not failures; none are expected for these two subgraphs.
      expect((result.hints ?? []).map((h) => `${h.definition.code}: ${h.message}`)).toEqual([]);
      supergraphSdl = result.supergraphSdl!;
    });

    test('composes: Device carries fields of both subgraphs', () => {
      expect(supergraphSdl).toMatch(
        /join__graph\(name: "poa-sieve", url: "http:\/\/127\.0\.0\.1:\d+\/graphql"\)/,
      );
      expect(supergraphSdl).toMatch(/type Device[^{]*\{[^}]*openWorkOrders: \[WorkOrder!\]![^}]*\}/s);
      expect(supergraphSdl).toMatch(/type Device[^{]*\{[^}]*firmwareHistory/s);
    });

    test('@apollo/gateway answers a query crossing both, forwarding the caller’s token', async () => {
      const gateway = new ApolloGateway({
        supergraphSdl,
        buildService({ name, url }) {
          if (name === 'field-work') return new LocalGraphQLDataSource(fieldWorkSchema);
          return new RemoteGraphQLDataSource<{ authorization?: string }>({
            url,
            willSendRequest({ request, context }) {
              if (context.authorization) request.http?.headers.set('authorization', context.authorization);
            },
          });
        },
      });
      const server = new ApolloServer<{ authorization?: string }>({ gateway });
      await server.start();
      try {
        const run = async (authorization?: string) => {
          const response = await server.executeOperation(
            { query: `{ devices(first: 5) { nodes { guid model openWorkOrders { summary } } } }` },
            { contextValue: { authorization } },
          );
          if (response.body.kind !== 'single') throw new Error('expected a single result');
          return response.body.singleResult;
        };

        const asOperator = await run(`Bearer ${operator}`);
        expect(asOperator.errors).toBeUndefined();
        expect(asOperator.data).toEqual({
          devices: {
            nodes: expect.arrayContaining([
              { guid: ESME_12, model: '010A030B', openWorkOrders: [{ summary: 'Replace cut-out fuse' }] },
              { guid: ESME_15, model: '010A030B', openWorkOrders: [] },
            ]),
          },
        });

        // Our authorization applies through the gateway too: an ED for 12 gets only its device.
        const asEd = await run(`Bearer ${ed12}`);
        expect(asEd.errors).toBeUndefined();
        expect(asEd.data).toEqual({
          devices: {
            nodes: [
              { guid: ESME_12, model: '010A030B', openWorkOrders: [{ summary: 'Replace cut-out fuse' }] },
            ],
          },
        });

        const anonymous = await run();
        expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      } finally {
        await server.stop();
      }
    });
  });
});
