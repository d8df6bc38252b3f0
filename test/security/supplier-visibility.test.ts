import crypto from 'node:crypto';
import { startTestApp } from '../support/app';
import type { TestApp } from '../support/app';
import { guid, mpan, ok } from '../support/integration';

/**
 * A meter's registered supplier is commercial: the OPERATOR and the supplier registered now read
 * it, nobody else. After a change of supplier the losing supplier still reads the meter through
 * its own earlier activation (`activation { device }`), and must not learn who gained it, on any
 * path: root fields, nested fields, `_entities`. A DNO reads its meter without it.
 */

const LOSING = '90-B3-D5-1F-30-0A-00-00'; // IS
const GAINING = '90-B3-D5-1F-30-0B-00-00'; // GS
const ESME = guid('5C-00-00-00-00-12', 1);
const CH = guid('5C-00-00-00-00-12', 2);
const HASH = crypto.createHash('sha256').update('supplier-visibility').digest('hex');
const DEVICE = `guid registeredSupplier { supplierId effectiveFrom }
  activations { supplierId requestId } commsHub { guid } esme { guid }`;

describe('the registered supplier is read by the OPERATOR and the current supplier only', () => {
  let t: TestApp;
  const tok = { op: '', losing: '', gaining: '', ed: '' };
  const ids = { losing: '', gaining: '' };

  const gql = async <T>(query: string, variables: Record<string, unknown>, token: string) =>
    ok((await t.gql<T>(query, variables, token)).body);
  const schedule = async (token: string, requestId: string) =>
    (
      await gql<{ scheduleFirmwareActivation: { id: string } }>(
        'mutation ($a: ScheduleFirmwareActivationInput!) { scheduleFirmwareActivation(activation: $a) { id } }',
        {
          a: {
            requestId,
            esmeGuid: ESME,
            imageHash: HASH,
            executeAt: new Date(Date.now() + 2 * 86_400_000).toISOString(),
          },
        },
        token,
      )
    ).scheduleFirmwareActivation.id;

  beforeAll(async () => {
    t = await startTestApp();
    tok.op = await t.token({ role: 'OPERATOR' });
    tok.losing = await t.token({ role: 'IS', supplierId: LOSING });
    tok.gaining = await t.token({ role: 'GS', supplierId: GAINING });
    tok.ed = await t.token({ role: 'ED', distributorIds: ['12'] });
    const device = (g: string, type: string) => ({
      guid: g,
      deviceType: type,
      ...(type === 'ESME' ? { importSupplierId: LOSING } : {}),
      manufacturer: 'AB01',
      model: '010A030B',
      firmwareVersion: '0002012F',
      mpan: mpan(12, 5501),
      areaKey: 'SV-1',
    });
    await gql(
      'mutation ($d: [DeviceInput!]!) { upsertDevices(devices: $d) { inserted } }',
      { d: [device(ESME, 'ESME'), device(CH, 'CHF')] },
      tok.op,
    );
    await gql(
      `mutation { linkCommsHub(commsHubGuid: "${CH}", esmeGuid: "${ESME}", effectiveFrom: "2020-01-01T00:00:00Z") { esmeGuid } }`,
      {},
      tok.op,
    );
    await gql(
      `mutation { registerFirmwareImage(image: { manufacturer: "AB01", model: "010A030B", version: "00020130", imageHash: "${HASH}" }) { id } }`,
      {},
      tok.op,
    );
    ids.losing = await schedule(tok.losing, `${LOSING}:${ESME}:1`);
    // The change of supplier: from now on the meter is GAINING's.
    await gql(
      `mutation { registerSupplier(esmeGuid: "${ESME}", supplierId: "${GAINING}") { supplierId } }`,
      {},
      tok.op,
    );
    ids.gaining = await schedule(tok.gaining, `${GAINING}:${ESME}:1`);
  });
  afterAll(() => t?.stop());

  const supplierOf = (device: { registeredSupplier: { supplierId: string } | null } | null | undefined) =>
    device?.registeredSupplier?.supplierId ?? null;

  test('the OPERATOR and the gaining supplier read the registration', async () => {
    const op = await gql<{ device: { registeredSupplier: { supplierId: string } | null } }>(
      `{ device(guid: "${ESME}") { ${DEVICE} } }`,
      {},
      tok.op,
    );
    expect(supplierOf(op.device)).toBe(GAINING);
    const gaining = await gql<{
      activation: { device: { registeredSupplier: { supplierId: string } | null } };
    }>(`query ($id: ID!) { activation(id: $id) { device { ${DEVICE} } } }`, { id: ids.gaining }, tok.gaining);
    expect(supplierOf(gaining.activation.device)).toBe(GAINING);
  });

  test('the losing supplier reads its meter, never who gained it: activation, activations, _entities', async () => {
    const paths = [
      [`query ($id: ID!) { activation(id: $id) { supplierId device { ${DEVICE} } } }`, { id: ids.losing }],
      [`{ activations(first: 50) { nodes { supplierId requestId device { ${DEVICE} } } } }`, {}],
      [
        `query ($r: [_Any!]!) { _entities(representations: $r) { ... on FirmwareActivation { id device { ${DEVICE} } } ... on Device { ${DEVICE} } } }`,
        {
          r: [
            { __typename: 'FirmwareActivation', id: ids.losing },
            { __typename: 'FirmwareActivation', id: ids.gaining },
          ],
        },
      ],
    ] as const;
    for (const [query, variables] of paths) {
      const res = await t.gql(query, variables, tok.losing);
      expect(res.status).toBe(200);
      const text = JSON.stringify(res.body);
      expect(text).toContain(ESME); // it does read the meter...
      expect(text).not.toContain(GAINING); // ...but not who gained it
      expect(text).toContain('"registeredSupplier":null');
    }
  });

  test("a DNO reads its meter without the supplier's registration", async () => {
    for (const [query, variables] of [
      [`{ device(guid: "${ESME}") { ${DEVICE} } }`, {}],
      [`{ devices(first: 10) { nodes { ${DEVICE} } } }`, {}],
      [
        `query ($r: [_Any!]!) { _entities(representations: $r) { ... on Device { ${DEVICE} } } }`,
        { r: [{ __typename: 'Device', guid: ESME }] },
      ],
    ] as const) {
      const res = await t.gql(query, variables, tok.ed);
      const text = JSON.stringify(res.body);
      expect(text).toContain(ESME);
      expect(text).toContain('"registeredSupplier":null');
    }
  });
});
