import { Client } from 'pg';
import { startTestApp, TestClock } from '../support/app';
import type { TestApp } from '../support/app';
import { BACKEND } from '../support/database';
import { AFFECTED_FLEET, AFFECTED_IMAGE, installAffectedRule, installPremises } from '../support/fleet-setup';
import { guid, mpan, ok } from '../support/integration';

/**
 * Ingest takes its locks in steps (the AD1s a restore touches, then those its pairing touches),
 * each in ID order, so two transactions can wait on each other across steps. PostgreSQL then
 * aborts one with a deadlock (40P01); the ingest transaction is idempotent and runs again, so the
 * operator's call succeeds instead of failing as INTERNAL (seen under a failover drill: batches
 * of 20, 8 in flight). Here the cycle is made on purpose: another transaction holds the held AD1
 * that a restore's ingest must lock, then asks for the DUIS response lock that ingest holds.
 */

const MINUTE = 60_000;
const T0 = Date.parse('2026-03-02T10:00:00Z');
const FLEET = AFFECTED_FLEET;
const SUP = FLEET.supplierId;
const IMAGE_HASH = AFFECTED_IMAGE.imageHash;
const P = {
  esme: guid('DF-00-00-00-00-01', 1),
  ch: guid('DF-00-00-00-00-02', 1),
  mpan: mpan(12, 9201),
  area: 'DL-1',
};
const RESPONSE_ID = 'DEADLOCK-RESTORE-1';

const postgresOnly = BACKEND === 'postgres' ? test : test.skip;

describe('a deadlock in an ingest transaction', () => {
  const clock = new TestClock(new Date(T0));
  let t: TestApp;
  let operator: string;
  const gql = async <T>(query: string, variables: Record<string, unknown>, token = operator) =>
    ok((await t.gql<T>(query, variables, token)).body);

  beforeAll(async () => {
    t = await startTestApp({ VERIFICATION_ENABLED: 'false', SCHEDULER_POLL_MS: '60000' }, clock);
    operator = await t.token({ role: 'OPERATOR' });
    await installPremises(t, operator, FLEET, [P]);
    await installAffectedRule(t, operator, FLEET, AFFECTED_IMAGE, { name: 'dl' });
    await gql(
      `mutation ($a: ScheduleFirmwareActivationInput!) { scheduleFirmwareActivation(activation: $a) { id } }`,
      { a: { requestId: `${SUP}:${P.esme}:1`, esmeGuid: P.esme, imageHash: IMAGE_HASH } },
      await t.token({ role: 'IS', supplierId: SUP }),
    );
  });
  afterAll(() => t?.stop());

  postgresOnly('is run again: the call succeeds and the restore is stored once', async () => {
    // The hub goes dark a minute after the request: an AD1 in the window, held for evidence.
    clock.set(new Date(T0 + 5 * MINUTE));
    const ad1 = await gql<{ ingestAlerts: { alertId: string; outcome: string }[] }>(
      'mutation ($a: [AlertInput!]!) { ingestAlerts(alerts: $a) { alertId outcome } }',
      {
        a: [
          { powerOutage: { commsHubGuid: P.ch, startAt: new Date(T0 + MINUTE).toISOString(), mpan: P.mpan } },
        ],
      },
    );
    const [{ alertId, outcome }] = ad1.ingestAlerts;
    expect(outcome).toBe('HELD');

    const other = new Client({ connectionString: t.db.url });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query('SELECT 1 FROM alert WHERE id = $1 FOR UPDATE', [alertId]);
      // The meter's restore: its ingest takes the response ID's lock, then waits for the AD1.
      const restore = t.gql<{ ingestAlerts: { alertId: string; duplicate: boolean }[] }>(
        'mutation ($a: [AlertInput!]!) { ingestAlerts(alerts: $a) { alertId duplicate } }',
        {
          a: [
            {
              supplyRestored: {
                esmeGuid: P.esme,
                alertCode: '8F36',
                interruptionAt: new Date(T0 + MINUTE - 10_000).toISOString(),
                restorationAt: new Date(T0 + 4 * MINUTE).toISOString(),
                duisResponseId: RESPONSE_ID,
              },
            },
          ],
        },
        operator,
      );
      await waitForLockWait(other);
      // Now the cycle: this transaction asks for the lock ingest holds. PostgreSQL aborts the
      // ingest transaction (it waited first), which releases the lock to this one.
      await other.query(`SELECT pg_advisory_xact_lock(hashtextextended('poa_sieve.duis:' || $1::text, 0))`, [
        RESPONSE_ID,
      ]);
      await other.query('ROLLBACK');
      const res = await restore;
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data!.ingestAlerts[0].duplicate).toBe(false);
      const stored = await other.query('SELECT count(*)::int AS n FROM alert WHERE duis_response_id = $1', [
        RESPONSE_ID,
      ]);
      expect(stored.rows[0].n).toBe(1);
    } finally {
      await other.end();
    }
  });
});

/** Resolves once another backend of this database waits for a lock (within 10 s). */
async function waitForLockWait(client: Client): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const { rows } = await client.query(
      `SELECT 1 FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
    );
    if (rows.length) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('no other backend waited for a lock');
}
