import fc from 'fast-check';
import { startTestApp } from '../support/app';
import type { TestApp } from '../support/app';
import { guid, mpan, ok } from '../support/integration';

/**
 * ingestAlerts under fire: fast-check batches mixing valid alerts with hostile fields (random
 * and full-Unicode strings in every string field, SQL-ish strings, huge numbers, invalid dates,
 * wrong kinds, empty batches, several or no alert kinds set), sent over HTTP. Each call succeeds
 * or fails with a known code, and a failed call changes no row count.
 */

const ESME = guid('F0-00-00-00-00-01', 1);
const CH = guid('F0-00-00-00-00-02', 1);
const MPAN = mpan(12, 777);
const SUP = '90-B3-D5-1F-30-01-00-00';
const KNOWN_CODES = ['BAD_USER_INPUT', 'NOT_FOUND', 'CONFLICT'];
const TABLES = ['alert', 'alert_decision', 'dno_outbox', 'firmware_activation'] as const;

const SQLISH = fc.constantFrom(
  "'; DROP TABLE alert;--",
  "' OR '1'='1",
  '1); DELETE FROM alert_decision; --',
  "00-DB-00-00-00-00-00-01'--",
  '\u0000',
  'x\u0000y',
  '\uD800',
  '💥'.repeat(40),
  'A'.repeat(100_000),
);
const hostileString = fc.oneof(
  SQLISH,
  fc.string({ maxLength: 80 }),
  fc.string({ maxLength: 80, unit: 'binary' }),
);
/** Mostly strings of the right GraphQL type (they reach the service); sometimes the wrong kind (GraphQL refuses it). */
const hostileValue = fc.oneof(
  { weight: 5, arbitrary: hostileString },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(2 ** 31, 2 ** 53, -1, 0, 1e308, 3.5, true, null, [], {}) },
);
const hostileDate = fc.oneof(
  fc.constantFrom(
    '2026-02-30T00:00:00Z',
    '2026-01-01T25:00:00Z',
    '2026-01-01T00:00:00',
    '9999-12-31T23:59:59Z',
    '0000-01-01T00:00:00Z',
    '1969-12-31T23:59:59Z',
    '',
    'yesterday',
    "2026-01-01T00:00:00Z'; DROP TABLE alert;--",
  ),
  hostileValue,
);
const validDate = fc
  .date({ min: new Date('2026-01-01T00:00:00Z'), max: new Date('2026-06-01T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString());

/** A field that is usually valid, sometimes hostile. */
const maybe = <T>(valid: fc.Arbitrary<T>, hostile: fc.Arbitrary<unknown>) =>
  fc.oneof({ weight: 6, arbitrary: valid }, { weight: 1, arbitrary: hostile });
const optional = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

const powerOutage = fc.record({
  powerOutage: fc.record(
    {
      commsHubGuid: maybe(fc.constant(CH), hostileValue),
      startAt: maybe(validDate, hostileDate),
      mpan: maybe(fc.constantFrom(MPAN, mpan(14, 1), '1200000000000', 'not-an-mpan'), hostileValue),
      duisResponseId: optional(maybe(fc.string({ maxLength: 20 }), hostileValue)),
      throttledCount: optional(maybe(fc.integer({ min: 1, max: 10 }), hostileValue)),
      throttledSequenceId: optional(hostileValue),
    },
    { requiredKeys: ['commsHubGuid', 'startAt', 'mpan'] },
  ),
});
const supplyRestored = fc.record({
  supplyRestored: fc.record(
    {
      esmeGuid: maybe(fc.constant(ESME), hostileValue),
      alertCode: maybe(fc.constantFrom('8F35', '0x8F36', '8F3C'), hostileValue),
      interruptionAt: maybe(fc.constant('2026-01-01T00:00:00Z'), hostileDate),
      restorationAt: maybe(fc.constant('2026-01-01T00:10:00Z'), hostileDate),
      mpan: optional(maybe(fc.constant(MPAN), hostileValue)),
      duisResponseId: optional(hostileValue),
    },
    { requiredKeys: ['esmeGuid', 'alertCode', 'interruptionAt', 'restorationAt'] },
  ),
});
const activationOutcome = fc.record({
  activationOutcome: fc.record({
    esmeGuid: maybe(fc.constant(ESME), hostileValue),
    alertCode: maybe(fc.constantFrom('8F66', '8F67', 'IMMEDIATE'), hostileValue),
    requestId: maybe(fc.constant(`${SUP}:${ESME}:1`), hostileValue),
    outcomeCode: maybe(
      fc.constantFrom('success', 'noImageHeld', 'hashMismatch', 'activationFailure'),
      hostileValue,
    ),
    executedAt: maybe(validDate, hostileDate),
    firmwareVersion: optional(maybe(fc.constant('00020130'), hostileValue)),
  }),
});
const hubActivation = fc.record({
  commsHubFirmwareActivation: fc.record({
    commsHubGuid: maybe(fc.constant(CH), hostileValue),
    firmwareVersion: maybe(fc.constant('00000002'), hostileValue),
    activatedAt: maybe(validDate, hostileDate),
  }),
});
const alertInput = fc.oneof(
  { weight: 4, arbitrary: powerOutage },
  { weight: 2, arbitrary: supplyRestored },
  { weight: 1, arbitrary: activationOutcome },
  { weight: 1, arbitrary: hubActivation },
  // Wrong shapes: no kind, two kinds, a scalar where an object goes.
  { weight: 1, arbitrary: fc.constantFrom({}, { powerOutage: null }, 'AD1', 42) },
  { weight: 1, arbitrary: fc.tuple(powerOutage, supplyRestored).map(([a, b]) => ({ ...a, ...b })) },
);
const batch = fc.oneof(
  { weight: 8, arbitrary: fc.array(alertInput, { minLength: 1, maxLength: 4 }) },
  { weight: 1, arbitrary: fc.constant([]) },
  { weight: 1, arbitrary: fc.constantFrom(null, 'not a list', 7) },
);

const INGEST = `mutation ($a: [AlertInput!]!) { ingestAlerts(alerts: $a) { index kind alertId duplicate outcome } }`;

describe('ingestAlerts fuzzing', () => {
  let t: TestApp;
  let operator: string;

  beforeAll(async () => {
    t = await startTestApp({ RATE_LIMIT_MUTATIONS_PER_MINUTE: '0', MAX_INGEST_BATCH: '4' });
    operator = await t.token({ role: 'OPERATOR' });
    ok(
      (
        await t.gql(
          `mutation ($d: [DeviceInput!]!) { upsertDevices(devices: $d) { inserted } }`,
          {
            d: [
              {
                guid: ESME,
                deviceType: 'ESME',
                manufacturer: 'AB01',
                model: '010A030B',
                mpan: MPAN,
                areaKey: 'FUZZ',
              },
              {
                guid: CH,
                deviceType: 'CHF',
                manufacturer: 'AB01',
                model: '0000CAFE',
                mpan: MPAN,
                areaKey: 'FUZZ',
              },
            ],
          },
          operator,
        )
      ).body,
    );
    ok(
      (
        await t.gql(
          `mutation { linkCommsHub(commsHubGuid: "${CH}", esmeGuid: "${ESME}", effectiveFrom: "2025-01-01T00:00:00Z") { effectiveFrom } }`,
          {},
          operator,
        )
      ).body,
    );
  });
  afterAll(() => t?.stop());

  async function counts(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const table of TABLES) {
      const [row] = (await t.app.dataSource.query(`SELECT count(*)::int AS n FROM ${table}`)) as {
        n: number;
      }[];
      out[table] = row.n;
    }
    return out;
  }

  test('every batch succeeds or fails with a known code, and a failed batch writes nothing', async () => {
    const seen = { ok: 0, failed: new Map<string, number>() };
    await fc.assert(
      fc.asyncProperty(batch, async (alerts) => {
        const before = await counts();
        const res = await t.gql<{ ingestAlerts: unknown[] }>(INGEST, { a: alerts }, operator);
        expect([200, 400]).toContain(res.status);
        const text = JSON.stringify(res.body);
        expect(text).not.toMatch(/stacktrace|Internal server error/);
        if (res.body.errors?.length) {
          const { code, reason } = res.body.errors[0].extensions ?? {};
          expect(KNOWN_CODES).toContain(code);
          seen.failed.set(`${code}/${reason}`, (seen.failed.get(`${code}/${reason}`) ?? 0) + 1);
          expect(res.body.data?.ingestAlerts ?? null).toBeNull();
          expect(await counts()).toEqual(before);
        } else {
          seen.ok++;
          expect(res.body.data?.ingestAlerts).toHaveLength((alerts as unknown[]).length);
        }
      }),
      { numRuns: 60, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31) },
    );
    // The generator reaches both sides.
    expect(seen.ok + seen.failed.size).toBeGreaterThan(0);
    if (process.env.FUZZ_REPORT) console.log(seen);
  });

  test.each([
    [
      'SQL-ish text in every free-text field is stored verbatim or refused, never executed',
      "'; DROP TABLE alert;--",
    ],
    ['a NUL byte is refused as INVALID_TEXT', 'x\u0000y'],
  ])('%s', async (_what, value) => {
    const before = await counts();
    // The random phase above may already have stored this text as a DUIS response ID (which is
    // unique): a suffix keeps this alert new, so it is stored rather than a duplicate.
    const responseId = `${value}#${process.hrtime.bigint()}`;
    const res = await t.gql(
      INGEST,
      {
        a: [
          {
            powerOutage: {
              commsHubGuid: CH,
              startAt: '2026-02-02T02:02:02Z',
              mpan: value,
              duisResponseId: responseId,
              throttledSequenceId: value,
            },
          },
        ],
      },
      operator,
    );
    if (res.body.errors) {
      expect(res.body.errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'INVALID_TEXT' });
      expect(await counts()).toEqual(before);
    } else {
      const [row] = (await t.app.dataSource.query(
        'SELECT mpan, duis_response_id FROM alert WHERE duis_response_id = $1',
        [responseId],
      )) as { mpan: string; duis_response_id: string }[];
      expect(row).toEqual({ mpan: value, duis_response_id: responseId });
      const [{ n }] = (await t.app.dataSource.query('SELECT count(*)::int AS n FROM alert')) as {
        n: number;
      }[];
      expect(n).toBe(before.alert + 1);
    }
  });
});
