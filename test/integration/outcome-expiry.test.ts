import { Client } from 'pg';
import { startTestApp, TestClock } from '../support/app';
import type { TestApp } from '../support/app';
import { BACKEND } from '../support/database';
import { AFFECTED_FLEET, AFFECTED_IMAGE, installAffectedRule, installPremises } from '../support/fleet-setup';
import { guid, mpan, ok } from '../support/integration';

/**
 * The outcome-expiry sweep (SCHEDULED -> OUTCOME_UNKNOWN once DCC's outcome is overdue) runs on
 * every instance, once a minute of the service clock. It used to wait for every overdue row that
 * another transaction held; under a live load at 100x, passes queued behind one slow ingest
 * transaction, each with a pool connection in hand, and acknowledgements took up to 30 s. A
 * pass now skips the rows others hold (the next pass takes them) and never overlaps itself.
 */

const MINUTE = 60_000;
const T0 = Date.parse('2026-03-02T10:00:00Z');
const FLEET = AFFECTED_FLEET;
const SUP = FLEET.supplierId;
const IMAGE_HASH = AFFECTED_IMAGE.imageHash;
const esmes = [1, 2].map((n) => ({
  esme: guid('DE-00-00-00-00-01', n),
  ch: guid('DE-00-00-00-00-02', n),
  mpan: mpan(12, 9100 + n),
  area: `EXPIRY-${n}`,
}));

describe('outcome expiry', () => {
  const clock = new TestClock(new Date(T0));
  let t: TestApp;
  let operator: string;
  let supplier: string;
  const gql = async <T>(query: string, variables: Record<string, unknown>, token = operator) =>
    ok((await t.gql<T>(query, variables, token)).body);
  const status = async () =>
    (
      await gql<{ activations: { nodes: { id: string; status: string }[] } }>(
        `{ activations(first: 10) { nodes { id status } } }`,
        {},
      )
    ).activations.nodes;

  beforeAll(async () => {
    t = await startTestApp({ VERIFICATION_ENABLED: 'false' }, clock);
    operator = await t.token({ role: 'OPERATOR' });
    supplier = await t.token({ role: 'IS', supplierId: SUP });
    await installPremises(t, operator, FLEET, esmes);
    await installAffectedRule(t, operator, FLEET, AFFECTED_IMAGE, { name: 'expiry' });
    for (const [n, p] of esmes.entries())
      await gql(
        `mutation ($a: ScheduleFirmwareActivationInput!) { scheduleFirmwareActivation(activation: $a) { id } }`,
        { a: { requestId: `${SUP}:${p.esme}:${n + 1}`, esmeGuid: p.esme, imageHash: IMAGE_HASH } },
        supplier,
      );
  });
  afterAll(() => t?.stop());

  test('an overdue activation becomes OUTCOME_UNKNOWN', async () => {
    expect((await status()).map((a) => a.status)).toEqual(['SCHEDULED', 'SCHEDULED']);
    clock.set(new Date(T0 + 30 * MINUTE));
    expect(await t.app.services.activations.expireOverdueOutcomes()).toBe(0);
    clock.set(new Date(T0 + 61 * MINUTE));
    if (BACKEND === 'pglite') {
      // One connection: no other transaction can hold a row; both go at once.
      expect(await t.app.services.activations.expireOverdueOutcomes()).toBe(2);
      expect((await status()).map((a) => a.status)).toEqual(['OUTCOME_UNKNOWN', 'OUTCOME_UNKNOWN']);
      return;
    }
    // Real PostgreSQL: another transaction holds one of the two rows (as an ingest applying its
    // outcome would). The sweep takes the other at once and leaves the held one to a later pass.
    const [held, free] = await status();
    const holder = new Client({ connectionString: t.db.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM firmware_activation WHERE id = $1 FOR UPDATE', [held.id]);
      const pass = t.app.services.activations.expireOverdueOutcomes();
      const waited = new Promise<'waited'>((resolve) => setTimeout(() => resolve('waited'), 3_000).unref());
      expect(await Promise.race([pass, waited])).toBe(1);
      const now = new Map((await status()).map((a) => [a.id, a.status]));
      expect([now.get(held.id), now.get(free.id)]).toEqual(['SCHEDULED', 'OUTCOME_UNKNOWN']);
      await holder.query('COMMIT');
      expect(await t.app.services.activations.expireOverdueOutcomes()).toBe(1);
      expect((await status()).map((a) => a.status)).toEqual(['OUTCOME_UNKNOWN', 'OUTCOME_UNKNOWN']);
    } finally {
      await holder.end();
    }
  });
});
