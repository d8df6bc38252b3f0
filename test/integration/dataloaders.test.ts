import crypto from 'node:crypto';
import { startTestApp } from '../support/app';
import type { TestApp } from '../support/app';
import { dbQueriesTotal, guid, mpan, ok } from '../support/integration';

/**
 * The N+1 check: one nested devices query costs a fixed number of SQL statements (one per
 * relation, batched by the per-request DataLoaders), however many devices the page holds.
 * Statements are counted with the poa_sieve_db_queries_total counter at GET /metrics.
 */

const SUP = '90-B3-D5-1F-30-01-00-00';
const N = 100;
const ESMES = Array.from({ length: N }, (_, i) => guid('DA-00-00-00-00-01', i));
const CHFS = Array.from({ length: N }, (_, i) => guid('DA-00-00-00-00-02', i));
const HAS_ACTIVATION = (i: number) => i % 5 === 0;
const IMAGE_HASH = crypto.createHash('sha256').update('dataloaders-image').digest('hex');

const NESTED = `query ($first: Int!) {
  devices(first: $first, filter: { deviceType: ESME }) {
    nodes {
      guid
      networkOperator { name }
      firmwareHistory { firmwareVersion }
      commsHubLinks { commsHubGuid }
      commsHub { guid esme { guid } }
      activations { id status image { version } rule { name } }
    }
  }
}`;

interface Node {
  guid: string;
  networkOperator: { name: string } | null;
  firmwareHistory: { firmwareVersion: string }[];
  commsHubLinks: { commsHubGuid: string }[];
  commsHub: { guid: string; esme: { guid: string } | null } | null;
  activations: {
    id: string;
    status: string;
    image: { version: string } | null;
    rule: { name: string } | null;
  }[];
}

describe('DataLoaders: a nested devices query costs a fixed number of SQL statements', () => {
  let t: TestApp;
  let operator: string;

  beforeAll(async () => {
    // Background jobs share the statement counter: keep the decision scheduler's poll out of the way
    // (measurements below also take the least of three runs, since background work only adds).
    t = await startTestApp({ SCHEDULER_POLL_MS: '3600000' });
    operator = await t.token({ role: 'OPERATOR' });
    const supplier = await t.token({ role: 'IS', supplierId: SUP });
    const upsert = `mutation ($d: [DeviceInput!]!) { upsertDevices(devices: $d) { inserted updated firmwareChanges } }`;
    // Distributor IDs 10-23 in turn, so the networkOperator loader has several keys to batch.
    const esme = (g: string, i: number, firmwareVersion: string) => ({
      guid: g,
      deviceType: 'ESME',
      importSupplierId: SUP,
      manufacturer: 'AB01',
      model: '010A030B',
      firmwareVersion,
      firmwareEffectiveFrom: firmwareVersion === '0002012E' ? '2024-01-01T00:00:00Z' : '2024-06-01T00:00:00Z',
      mpan: mpan(10 + (i % 14), 5000 + i),
    });
    const chf = (g: string) => ({
      guid: g,
      deviceType: 'CHF',
      manufacturer: 'AB01',
      model: '010A030B',
      firmwareVersion: '00010001',
    });
    const first = await t.gql(
      upsert,
      { d: [...ESMES.map((g, i) => esme(g, i, '0002012E')), ...CHFS.map(chf)] },
      operator,
    );
    expect(ok(first.body)).toEqual({
      upsertDevices: { inserted: 2 * N, updated: 0, firmwareChanges: 2 * N },
    });
    // One firmware change per ESME.
    const second = await t.gql(upsert, { d: ESMES.map((g, i) => esme(g, i, '0002012F')) }, operator);
    expect(ok(second.body)).toEqual({ upsertDevices: { inserted: 0, updated: N, firmwareChanges: N } });

    // All links in one document (mutation fields run one after another).
    const links = ESMES.map(
      (g, i) =>
        `l${i}: linkCommsHub(commsHubGuid: "${CHFS[i]}", esmeGuid: "${g}", effectiveFrom: "2024-01-01T00:00:00Z") { esmeGuid }`,
    ).join('\n');
    ok((await t.gql(`mutation { ${links} }`, {}, operator)).body);

    ok(
      (
        await t.gql(
          `mutation { registerFirmwareImage(image: { manufacturer: "AB01", model: "010A030B", version: "00020130", imageHash: "${IMAGE_HASH}" }) { id } }`,
          {},
          operator,
        )
      ).body,
    );
    ok(
      (
        await t.gql(
          `mutation { upsertAffectedFirmwareRule(rule: { name: "E470", manufacturer: "AB01", model: "010A030B", affectedFirmwareVersions: ["0002012F"] }) { id } }`,
          {},
          operator,
        )
      ).body,
    );
    const activations = ESMES.flatMap((g, i) =>
      HAS_ACTIVATION(i)
        ? [
            `a${i}: scheduleFirmwareActivation(activation: { requestId: "${SUP}:${g}:${i + 1}", esmeGuid: "${g}", imageHash: "${IMAGE_HASH}" }) { id }`,
          ]
        : [],
    ).join('\n');
    ok((await t.gql(`mutation { ${activations} }`, {}, supplier)).body);
  });
  afterAll(() => t?.stop());

  /**
   * Runs the nested query three times and returns its nodes and the fewest SQL statements one run
   * cost (the counter is process-wide; a background job can only add to a run, never take away).
   */
  async function measure(first: number): Promise<{ nodes: Node[]; statements: number }> {
    let nodes: Node[] = [];
    let statements = Infinity;
    for (let run = 0; run < 3; run++) {
      const before = await dbQueriesTotal(t);
      const { body } = await t.gql<{ devices: { nodes: Node[] } }>(NESTED, { first }, operator);
      const after = await dbQueriesTotal(t);
      nodes = ok(body).devices.nodes;
      statements = Math.min(statements, after - before);
    }
    return { nodes, statements };
  }

  test('100 devices with every relation cost a handful of statements, the same as 10 devices', async () => {
    const big = await measure(N);
    expect(big.nodes.map((n) => n.guid)).toEqual(ESMES);
    // The data is all there: the statement count is not low because something is missing.
    big.nodes.forEach((node, i) => {
      expect(node.networkOperator?.name).toEqual(expect.any(String));
      expect(node.firmwareHistory.map((h) => h.firmwareVersion)).toEqual(['0002012E', '0002012F']);
      expect(node.commsHubLinks).toEqual([{ commsHubGuid: CHFS[i] }]);
      expect(node.commsHub).toEqual({ guid: CHFS[i], esme: { guid: ESMES[i] } });
      if (HAS_ACTIVATION(i)) {
        expect(node.activations).toEqual([
          {
            id: expect.any(String),
            status: 'SCHEDULED',
            image: { version: '00020130' },
            rule: { name: 'E470' },
          },
        ]);
      } else {
        expect(node.activations).toEqual([]);
      }
    });
    expect(new Set(big.nodes.map((n) => n.networkOperator?.name)).size).toBe(14);

    // devices + networkOperator + firmwareHistory + commsHubLinks + activations + image + rule, plus the
    // hub devices and their links for commsHub { esme } = 9.
    expect(big.statements).toBeGreaterThan(0);
    expect(big.statements).toBeLessThanOrEqual(12);

    const small = await measure(10);
    expect(small.nodes).toHaveLength(10);
    expect(small.nodes.filter((_, i) => HAS_ACTIVATION(i))).toHaveLength(2);
    expect(small.statements).toBeGreaterThan(0);
    // Ten times the devices, not one statement more.
    expect(big.statements).toBe(small.statements);
  });
});
