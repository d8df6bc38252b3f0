import crypto from 'node:crypto';
import { startTestApp } from '../support/app';
import type { TestApp } from '../support/app';
import { expectError, firstError, guid, mpan, ok, rowCounts } from '../support/integration';

/**
 * Only the import supplier registered for an ESME may send it SR11.3. Before registered suppliers
 * existed, any supplier token could schedule (and report a success for) an activation on any
 * meter, and the next genuine AD1 of its Communications Hub was suppressed; it could supersede
 * another supplier's pending request, and move a window with an executedAt in 1970 or weeks ahead.
 * (A supplier's outcome is now only a claim, test/integration/outcome-claims.test.ts; its
 * executedAt is still checked, as DCC's is.)
 */

const SUP = '90-B3-D5-1F-30-01-00-00';
const OTHER = '90-B3-D5-1F-30-02-00-00';
const P = 'A5-00-00-00-00-01';
const E = (n: number) => guid(P, n);
const UNREGISTERED = guid(P, 0x100);
const CH = guid(P, 0x200);
const HASH = crypto.createHash('sha256').update('registered-suppliers').digest('hex');
const MINUTE = 60_000;

const FIELDS = 'id requestId supplierId status actualExecutedAt window { from to }';
const SCHEDULE = `mutation ($a: ScheduleFirmwareActivationInput!) { scheduleFirmwareActivation(activation: $a) { ${FIELDS} } }`;
const OUTCOME = `mutation ($o: ActivationOutcomeInput!) { recordActivationOutcome(outcome: $o) { ${FIELDS} } }`;
const CANCEL = `mutation ($rid: String) { cancelFirmwareActivation(requestId: $rid) { ${FIELDS} } }`;
const ONE = `query ($id: ID!) { activation(id: $id) { ${FIELDS} } }`;
const REGISTER = `mutation ($e: EUI64!, $s: EUI64!, $f: DateTime) {
  registerSupplier(esmeGuid: $e, supplierId: $s, effectiveFrom: $f) { esmeGuid supplierId effectiveFrom } }`;

interface Activation {
  id: string;
  requestId: string;
  supplierId: string;
  status: string;
  actualExecutedAt: string | null;
  window: { from: string; to: string } | null;
}

describe('registered import suppliers', () => {
  let t: TestApp;
  let operator: string;
  let supplier: string;
  let other: string;
  let counter = 1;
  const rid = (esme: string, s = SUP) => `${s}:${esme}:${counter++}`;
  const schedule = async (a: Record<string, unknown>, token: string) =>
    (await t.gql<{ scheduleFirmwareActivation: Activation }>(SCHEDULE, { a }, token)).body;
  const byId = async (id: string) =>
    ok((await t.gql<{ activation: Activation | null }>(ONE, { id }, operator)).body).activation!;

  beforeAll(async () => {
    t = await startTestApp();
    operator = await t.token({ role: 'OPERATOR' });
    supplier = await t.token({ role: 'IS', supplierId: SUP });
    other = await t.token({ role: 'GS', supplierId: OTHER });
    const esme = (g: string, importSupplierId?: string) => ({
      guid: g,
      deviceType: 'ESME',
      manufacturer: 'AB01',
      model: '010A030B',
      firmwareVersion: '0002012F',
      mpan: mpan(12, parseInt(g.slice(-2), 16)),
      importSupplierId,
    });
    ok(
      (
        await t.gql(
          'mutation ($d: [DeviceInput!]!) { upsertDevices(devices: $d) { inserted } }',
          {
            d: [
              ...[1, 2, 3, 4].map((n) => esme(E(n), SUP)),
              esme(UNREGISTERED),
              { guid: CH, deviceType: 'CHF', manufacturer: 'AB01', model: '010A030B' },
            ],
          },
          operator,
        )
      ).body,
    );
    ok(
      (
        await t.gql(
          `mutation { registerFirmwareImage(image: { manufacturer: "AB01", model: "010A030B", version: "00020130", imageHash: "${HASH}" }) { id } }`,
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
  });
  afterAll(() => t?.stop());

  test("another supplier's SR11.3 on a meter is FORBIDDEN and writes nothing; so is one on an unregistered meter", async () => {
    const before = await rowCounts(t, 'firmware_activation', 'activation_outcome_claim', 'alert_decision');
    for (const [esme, token, s] of [
      [E(1), other, OTHER],
      [UNREGISTERED, supplier, SUP],
    ] as const) {
      const res = await schedule({ requestId: rid(esme, s), esmeGuid: esme, imageHash: HASH }, token);
      expectError(res, 'FORBIDDEN', 'NOT_REGISTERED_SUPPLIER');
      expect(firstError(res).message).not.toContain(SUP); // who is registered is not told
    }
    // With nothing scheduled, the outcome it would have reported names no activation.
    expectError(
      (
        await t.gql(
          OUTCOME,
          {
            o: {
              requestId: `${OTHER}:${E(1)}:${counter - 2}`,
              outcomeCode: 'success',
              executedAt: new Date().toISOString(),
            },
          },
          other,
        )
      ).body,
      'NOT_FOUND',
    );
    expect(await rowCounts(t, 'firmware_activation', 'activation_outcome_claim', 'alert_decision')).toEqual(
      before,
    );
  });

  test('the device shows its registered supplier; the registered one schedules', async () => {
    const res = await t.gql<{ device: { registeredSupplier: { supplierId: string } | null } }>(
      `{ device(guid: "${E(1)}") { registeredSupplier { supplierId effectiveFrom } } }`,
      {},
      operator,
    );
    expect(ok(res.body).device.registeredSupplier?.supplierId).toBe(SUP);
    const mine = ok(await schedule({ requestId: rid(E(1)), esmeGuid: E(1), imageHash: HASH }, supplier));
    expect(mine.scheduleFirmwareActivation.status).toBe('SCHEDULED');
  });

  test('a change of supplier: the new one schedules, the old one keeps (and may cancel) its own pending request, and neither supersedes the other', async () => {
    const executeAt = new Date(Date.now() + 2 * 86_400_000).toISOString();
    const old = ok(
      await schedule({ requestId: rid(E(2)), esmeGuid: E(2), imageHash: HASH, executeAt }, supplier),
    ).scheduleFirmwareActivation;
    const changed = ok(
      (await t.gql<{ registerSupplier: { supplierId: string } }>(REGISTER, { e: E(2), s: OTHER }, operator))
        .body,
    );
    expect(changed.registerSupplier.supplierId).toBe(OTHER);
    // The old supplier may send no new SR11.3...
    expectError(
      await schedule({ requestId: rid(E(2)), esmeGuid: E(2), imageHash: HASH }, supplier),
      'FORBIDDEN',
      'NOT_REGISTERED_SUPPLIER',
    );
    // ...the new one may, and its request does not take the old one's window away.
    const theirs = ok(
      await schedule(
        {
          requestId: rid(E(2), OTHER),
          esmeGuid: E(2),
          imageHash: HASH,
          executeAt: new Date(Date.now() + 3 * 86_400_000).toISOString(),
        },
        other,
      ),
    ).scheduleFirmwareActivation;
    expect(theirs.status).toBe('SCHEDULED');
    expect((await byId(old.id)).status).toBe('SCHEDULED');
    // The old supplier's request is still its own to cancel; the new one cannot touch it.
    expectError((await t.gql(CANCEL, { rid: old.requestId }, other)).body, 'NOT_FOUND');
    const cancelled = ok(
      (await t.gql<{ cancelFirmwareActivation: Activation }>(CANCEL, { rid: old.requestId }, supplier)).body,
    );
    expect(cancelled.cancelFirmwareActivation.status).toBe('CANCELLED');
    expect((await byId(theirs.id)).status).toBe('SCHEDULED');
  });

  test('an executedAt before the request was received (less the skew) or after now (plus the skew) is refused', async () => {
    const a = ok(
      await schedule({ requestId: rid(E(3)), esmeGuid: E(3), imageHash: HASH }, supplier),
    ).scheduleFirmwareActivation;
    const claims = await rowCounts(t, 'activation_outcome_claim');
    for (const token of [supplier, operator]) {
      // (1970 is refused before this check, as any implausible date is: test/security/dates.)
      for (const executedAt of [
        '2001-01-01T00:00:00Z',
        new Date(Date.now() - 60 * MINUTE).toISOString(),
        new Date(Date.now() + 20 * 86_400_000).toISOString(),
        new Date(Date.now() + 60 * MINUTE).toISOString(),
      ]) {
        const res = await t.gql(
          OUTCOME,
          { o: { requestId: a.requestId, outcomeCode: 'success', executedAt } },
          token,
        );
        const error = expectError(res.body, 'BAD_USER_INPUT', 'EXECUTED_AT_OUT_OF_RANGE');
        expect(error).toHaveProperty('earliest');
        expect(error).toHaveProperty('latest');
        expect(await byId(a.id)).toEqual(a);
        expect(await rowCounts(t, 'activation_outcome_claim')).toEqual(claims);
      }
    }
    // In range, the supplier's word is a claim and the activation stays as it was; DCC's moves it.
    const outcome = { requestId: a.requestId, outcomeCode: 'success', executedAt: new Date().toISOString() };
    const claimed = ok(
      (await t.gql<{ recordActivationOutcome: Activation }>(OUTCOME, { o: outcome }, supplier)).body,
    ).recordActivationOutcome;
    expect(claimed).toEqual(a);
    const done = ok(
      (await t.gql<{ recordActivationOutcome: Activation }>(OUTCOME, { o: outcome }, operator)).body,
    ).recordActivationOutcome;
    expect(done.status).toBe('SUCCEEDED');
  });

  test('registration is the operator’s, for ESMEs only', async () => {
    expectError((await t.gql(REGISTER, { e: E(4), s: OTHER }, supplier)).body, 'FORBIDDEN');
    expectError((await t.gql(REGISTER, { e: CH, s: OTHER }, operator)).body, 'BAD_USER_INPUT', 'NOT_AN_ESME');
    expectError(
      (
        await t.gql(
          'mutation ($d: [DeviceInput!]!) { upsertDevices(devices: $d) { inserted } }',
          { d: [{ guid: CH, deviceType: 'CHF', importSupplierId: OTHER }] },
          operator,
        )
      ).body,
      'BAD_USER_INPUT',
      'NOT_AN_ESME',
    );
    expectError((await t.gql(REGISTER, { e: guid(P, 0x999), s: OTHER }, operator)).body, 'NOT_FOUND');
    // A dated change takes effect at its instant: until then the current supplier stays registered.
    const future = new Date(Date.now() + 86_400_000).toISOString();
    ok((await t.gql(REGISTER, { e: E(4), s: OTHER, f: future }, operator)).body);
    expect(
      ok(await schedule({ requestId: rid(E(4)), esmeGuid: E(4), imageHash: HASH }, supplier))
        .scheduleFirmwareActivation.status,
    ).toBe('SCHEDULED');
  });
});
