import { connected, startTestApp, subscribe } from '../support/app';
import type { TestApp } from '../support/app';
import { guid, mpan, ok } from '../support/integration';

/**
 * Graceful stop of a running server: readiness turns red at once, an ingest batch already in
 * flight finishes and is stored, and DNO subscribers are closed with a reconnect hint (1001).
 */
const DNO_ALERTS = `subscription { dnoAlerts(distributorId: "12", after: "0") { sequence kind alert { id } } }`;
const INGEST = `mutation ($a: [AlertInput!]!) { ingestAlerts(alerts: $a) { alertId outcome } }`;

describe('graceful shutdown', () => {
  let t: TestApp;
  afterAll(() => t?.stop());

  test('an in-flight batch completes, readiness goes red, subscribers get 1001 and a reconnect hint', async () => {
    t = await startTestApp();
    const operator = await t.token({ role: 'OPERATOR' });
    const dno = await t.token({ role: 'ED', distributorIds: ['12'] });
    const closes: { code: number; reason: string }[] = [];
    const client = t.ws(dno, {
      on: { closed: (e) => closes.push({ code: (e as CloseEvent).code, reason: (e as CloseEvent).reason }) },
    });
    await connected(client);
    const stream = subscribe<{ dnoAlerts: { sequence: string } }>(client, DNO_ALERTS);
    // An AD1 from a hub the inventory does not know fails open: delivered to the MPAN's DNO.
    const ad1 = (n: number) => ({
      powerOutage: {
        commsHubGuid: guid('00-DB-5D-00-00-00', n),
        startAt: '2026-03-02T10:00:00Z',
        mpan: mpan(12, n),
      },
    });
    ok((await t.gql(INGEST, { a: [ad1(1)] }, operator)).body);
    await stream.waitFor(1);

    // Hold the next batch inside the service until the stop has begun.
    const ingest = t.app.services.ingest;
    const original = ingest.ingestAlerts.bind(ingest);
    let entered!: () => void;
    const inService = new Promise<void>((resolve) => (entered = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    ingest.ingestAlerts = async (...args) => {
      entered();
      await gate;
      return original(...args);
    };
    const batch = t.gql<{ ingestAlerts: { alertId: string; outcome: string }[] }>(
      INGEST,
      { a: Array.from({ length: 50 }, (_, i) => ad1(100 + i)) },
      operator,
    );
    await inService;
    expect(await t.app.ready()).toBe(true);
    const stopping = t.app.stop();
    expect(await t.app.ready()).toBe(false);
    release();

    const { status, body } = await batch;
    expect(status).toBe(200);
    expect(ok(body).ingestAlerts).toHaveLength(50);
    await stopping;
    expect(closes).toEqual([{ code: 1001, reason: expect.stringMatching(/reconnect/i) as unknown }]);

    // Everything the batch acknowledged was committed before the server went away.
    const restarted = await startTestApp({}, undefined, t.db);
    try {
      const [{ n }] = (await restarted.app.dataSource.query(
        `SELECT count(*)::int AS n FROM alert WHERE id = ANY($1::bigint[])`,
        [ok(body).ingestAlerts.map((r) => r.alertId)],
      )) as { n: number }[];
      expect(n).toBe(50);
    } finally {
      await restarted.stopServerOnly();
    }
  });
});
