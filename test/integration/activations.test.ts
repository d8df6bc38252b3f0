import crypto from 'node:crypto';
import { startTestApp } from '../support/app';
import type { TestApp } from '../support/app';
import { expectError, guid, mpan, ok, rowCounts } from '../support/integration';

/**
 * SR11.3 activations through the public API: scheduling (immediate, future-dated, campaigns),
 * supersession, retries, cancellation (by id and by the year-3000 sentinel), outcomes, the
 * suppression window each state implies, and who may see or change what.
 */

const SUP = '90-B3-D5-1F-30-01-00-00';
const SUP2 = '90-B3-D5-1F-30-02-00-00';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

const P = 'AC-00-00-00-00-01';
const E = (n: number) => guid(P, n); // affected ESMEs, one or more per scenario
const UNAFFECTED = guid(P, 0x100);
const CHF = guid(P, 0x200);
const DECOMMISSIONED = guid(P, 0x300);
const E15 = guid(P, 0x400); // distributor 15
const CAMPAIGN = [1, 2, 3, 4, 5, 6].map((i) => guid('AC-00-00-00-00-02', i));

const hex = (seed: string) => crypto.createHash('sha256').update(seed).digest('hex');
const IMAGE_HASH = hex('AB01/010A030B/00020130');
const IMAGE2_HASH = hex('AB01/010A030B/00020131');
const UNAFFECTED_HASH = hex('AB01/0F0F0F0F/00020130');

const FIELDS = `id requestId supplierId deviceGuid imageHash targetFirmwareVersion firmwareVersionBefore submittedAt executeAt
  status actualExecutedAt outcomeCode resultingFirmwareVersion supersededBy campaignId
  window { from to anchoredOnActual } image { version } rule { name }`;
const SCHEDULE = `mutation ($a: ScheduleFirmwareActivationInput!) { scheduleFirmwareActivation(activation: $a) { ${FIELDS} } }`;
const OUTCOME = `mutation ($o: ActivationOutcomeInput!) { recordActivationOutcome(outcome: $o) { ${FIELDS} } }`;
const CANCEL = `mutation ($id: ID, $rid: String) { cancelFirmwareActivation(id: $id, requestId: $rid) { ${FIELDS} } }`;
const ONE = `query ($id: ID!) { activation(id: $id) { ${FIELDS} } }`;
const LIST = `query ($f: ActivationFilterInput, $first: Int) {
  activations(filter: $f, first: $first) { nodes { id supplierId deviceGuid status campaignId device { distributorId } } pageInfo { hasNextPage } }
}`;
const CAMPAIGN_MUTATION = `mutation ($c: ActivationCampaignInput!) {
  scheduleActivationCampaign(campaign: $c) { campaignId activations { ${FIELDS} } }
}`;

interface Activation {
  id: string;
  requestId: string;
  supplierId: string;
  deviceGuid: string;
  imageHash: string;
  targetFirmwareVersion: string | null;
  firmwareVersionBefore: string | null;
  submittedAt: string;
  executeAt: string | null;
  status: string;
  actualExecutedAt: string | null;
  outcomeCode: string | null;
  resultingFirmwareVersion: string | null;
  supersededBy: string | null;
  campaignId: string | null;
  window: { from: string; to: string; anchoredOnActual: boolean } | null;
  image: { version: string } | null;
  rule: { name: string } | null;
}
interface ListNode {
  id: string;
  supplierId: string;
  deviceGuid: string;
  status: string;
  campaignId: string | null;
  device: { distributorId: string | null } | null;
}

const ms = (iso: string | null | undefined) => (iso ? Date.parse(iso) : NaN);
/** An ISO instant `offset` ms from now, on a whole second (DUIS ExecutionDateTime has seconds). */
const fromNow = (offset: number) => new Date(Math.floor((Date.now() + offset) / 1000) * 1000).toISOString();

describe('SR11.3 activations', () => {
  let t: TestApp;
  let operator: string;
  let supplier: string;
  let supplier2: string;
  let counter = 1000;
  /** A fresh request ID: `${supplierId}:${esmeGuid}:${counter}` with a counter that only grows. */
  const rid = (esme: string, supplierId = SUP) => `${supplierId}:${esme}:${counter++}`;

  const schedule = async (a: Record<string, unknown>, token = supplier) =>
    (await t.gql<{ scheduleFirmwareActivation: Activation }>(SCHEDULE, { a }, token)).body;
  const scheduled = async (a: Record<string, unknown>, token = supplier) =>
    ok(await schedule(a, token)).scheduleFirmwareActivation;
  /** DCC's outcome, as the operator records it (a supplier's is only a claim: outcome-claims.test.ts). */
  const outcome = async (o: Record<string, unknown>, token = operator) =>
    (await t.gql<{ recordActivationOutcome: Activation }>(OUTCOME, { o }, token)).body;
  const cancel = async (ref: { id?: string; rid?: string }, token = supplier) =>
    (await t.gql<{ cancelFirmwareActivation: Activation }>(CANCEL, ref, token)).body;
  const byId = async (id: string, token = operator) =>
    ok((await t.gql<{ activation: Activation | null }>(ONE, { id }, token)).body).activation;
  const list = async (f: Record<string, unknown>, token: string): Promise<ListNode[]> =>
    ok((await t.gql<{ activations: { nodes: ListNode[] } }>(LIST, { f, first: 500 }, token)).body).activations
      .nodes;

  const expectWindow = (a: Activation, anchor: number, anchoredOnActual: boolean) => {
    expect(a.window).not.toBeNull();
    expect(ms(a.window!.from)).toBe(anchor - 2 * MINUTE);
    // Wide while only the requested time is known, narrow once the execution time is.
    expect(ms(a.window!.to)).toBe(anchor + (anchoredOnActual ? 3 : 30) * MINUTE);
    expect(a.window!.anchoredOnActual).toBe(anchoredOnActual);
  };

  beforeAll(async () => {
    t = await startTestApp();
    operator = await t.token({ role: 'OPERATOR' });
    supplier = await t.token({ role: 'IS', supplierId: SUP });
    supplier2 = await t.token({ role: 'IS', supplierId: SUP2 });
    const affected = (g: string, extra: Record<string, unknown> = {}) => ({
      guid: g,
      deviceType: 'ESME',
      importSupplierId: SUP,
      manufacturer: 'AB01',
      model: '010A030B',
      firmwareVersion: '0002012F',
      mpan: mpan(12, parseInt(g.replace(/-/g, '').slice(-6), 16)),
      ...extra,
    });
    const devices = [
      ...Array.from({ length: 30 }, (_, i) => affected(E(i + 1))),
      affected(UNAFFECTED, { model: '0F0F0F0F' }),
      { guid: CHF, deviceType: 'CHF', manufacturer: 'AB01', model: '010A030B', firmwareVersion: '00010001' },
      affected(DECOMMISSIONED, { smiStatus: 'Decommissioned' }),
      affected(E15, { mpan: mpan(15, 400) }),
      ...CAMPAIGN.map((g) => affected(g, { areaKey: 'CAMPAIGN-1' })),
    ];
    ok(
      (
        await t.gql(
          `mutation ($d: [DeviceInput!]!) { upsertDevices(devices: $d) { inserted } }`,
          { d: devices },
          operator,
        )
      ).body,
    );
    const register = `mutation ($i: FirmwareImageInput!) { registerFirmwareImage(image: $i) { id } }`;
    for (const [model, version, imageHash] of [
      ['010A030B', '00020130', IMAGE_HASH],
      ['010A030B', '00020131', IMAGE2_HASH],
      ['0F0F0F0F', '00020130', UNAFFECTED_HASH],
    ]) {
      ok((await t.gql(register, { i: { manufacturer: 'AB01', model, version, imageHash } }, operator)).body);
    }
    ok(
      (
        await t.gql(
          `mutation ($r: AffectedFirmwareRuleInput!) { upsertAffectedFirmwareRule(rule: $r) { id } }`,
          {
            r: {
              name: 'E470 pre-fix',
              manufacturer: 'AB01',
              model: '010A030B',
              affectedFirmwareVersions: ['0002012F'],
            },
          },
          operator,
        )
      ).body,
    );
  });
  afterAll(() => t?.stop());

  describe('scheduling and windows', () => {
    test('an immediate activation is SCHEDULED with a provisional window [now-2min, now+30min]', async () => {
      const requestId = rid(E(1));
      const before = Date.now();
      // Lower-case request ID and GUID: both are stored in canonical upper case.
      const a = await scheduled({
        requestId: requestId.toLowerCase(),
        esmeGuid: E(1).toLowerCase(),
        imageHash: IMAGE_HASH,
      });
      expect(a).toMatchObject({
        requestId,
        supplierId: SUP,
        deviceGuid: E(1),
        imageHash: IMAGE_HASH,
        targetFirmwareVersion: '00020130',
        firmwareVersionBefore: '0002012F',
        executeAt: null,
        status: 'SCHEDULED',
        actualExecutedAt: null,
        outcomeCode: null,
        supersededBy: null,
        campaignId: null,
        image: { version: '00020130' },
        rule: { name: 'E470 pre-fix' },
      });
      expect(ms(a.submittedAt)).toBeGreaterThanOrEqual(before - 1000);
      expect(ms(a.submittedAt)).toBeLessThanOrEqual(Date.now() + 1000);
      expectWindow(a, ms(a.submittedAt), false);
      expect(await byId(a.id)).toEqual(a);
    });

    test('a future-dated activation has its window on executeAt', async () => {
      const executeAt = fromNow(2 * HOUR);
      const a = await scheduled({ requestId: rid(E(2)), esmeGuid: E(2), imageHash: IMAGE_HASH, executeAt });
      expect(a.status).toBe('SCHEDULED');
      expect(ms(a.executeAt)).toBe(ms(executeAt));
      expectWindow(a, ms(executeAt), false);
    });

    test('an ESME that no rule covers gets no window', async () => {
      const a = await scheduled({
        requestId: rid(UNAFFECTED),
        esmeGuid: UNAFFECTED,
        imageHash: UNAFFECTED_HASH,
      });
      expect(a).toMatchObject({
        status: 'SCHEDULED',
        window: null,
        rule: null,
        image: { version: '00020130' },
      });
      // Nor does an affected model activated from a firmware version the rule does not list.
      ok(
        (
          await t.gql(
            `mutation ($d: [DeviceInput!]!) { upsertDevices(devices: $d) { updated } }`,
            {
              d: [
                {
                  guid: E(30),
                  deviceType: 'ESME',
                  importSupplierId: SUP,
                  manufacturer: 'AB01',
                  model: '010A030B',
                  firmwareVersion: '00020100',
                  mpan: mpan(12, 30),
                },
              ],
            },
            operator,
          )
        ).body,
      );
      const b = await scheduled({ requestId: rid(E(30)), esmeGuid: E(30), imageHash: IMAGE_HASH });
      expect(b).toMatchObject({
        status: 'SCHEDULED',
        firmwareVersionBefore: '00020100',
        window: null,
        rule: null,
      });
    });

    test('the imageId may be given instead of the hash', async () => {
      const images = ok(
        (
          await t.gql<{ firmwareImages: { id: string; imageHash: string }[] }>(
            `{ firmwareImages(model: "010A030B") { id imageHash } }`,
            {},
            supplier,
          )
        ).body,
      ).firmwareImages;
      const image = images.find((i) => i.imageHash === IMAGE2_HASH)!;
      const a = await scheduled({ requestId: rid(E(3)), esmeGuid: E(3), imageId: image.id });
      expect(a).toMatchObject({
        imageHash: IMAGE2_HASH,
        targetFirmwareVersion: '00020131',
        status: 'SCHEDULED',
      });
    });
  });

  describe('outcomes', () => {
    test('success re-anchors the window on the actual time and moves the device firmware on', async () => {
      const requestId = rid(E(4));
      const a = await scheduled({ requestId, esmeGuid: E(4), imageHash: IMAGE_HASH });
      // An outcome can only report an execution that has happened (within the clock skew).
      const executedAt = new Date(ms(a.submittedAt) + 30_000).toISOString();
      const res = ok(
        await outcome({ requestId, outcomeCode: 'success', executedAt, firmwareVersion: '00020130' }),
      ).recordActivationOutcome;
      expect(res).toMatchObject({
        id: a.id,
        status: 'SUCCEEDED',
        outcomeCode: 'success',
        resultingFirmwareVersion: '00020130',
      });
      expect(ms(res.actualExecutedAt)).toBe(ms(executedAt));
      expectWindow(res, ms(executedAt), true);

      const { device } = ok(
        (
          await t.gql<{
            device: {
              firmwareVersion: string;
              firmwareHistory: { firmwareVersion: string; effectiveFrom: string; source: string }[];
            };
          }>(
            `query ($g: EUI64!) { device(guid: $g) { firmwareVersion firmwareHistory { firmwareVersion effectiveFrom source } } }`,
            { g: E(4) },
            operator,
          )
        ).body,
      );
      expect(device.firmwareVersion).toBe('00020130');
      expect(device.firmwareHistory.map((h) => [h.firmwareVersion, h.source])).toEqual([
        ['0002012F', 'INVENTORY'],
        ['00020130', 'ACTIVATION'],
      ]);
      expect(ms(device.firmwareHistory[1].effectiveFrom)).toBe(ms(executedAt));

      // The same outcome again (at-least-once delivery) changes nothing; a different one is a conflict.
      const again = ok(
        await outcome({ requestId, outcomeCode: 'success', executedAt, firmwareVersion: '00020130' }),
      );
      expect(again.recordActivationOutcome).toEqual(res);
      const other = await outcome({ requestId, outcomeCode: 'activationFailure', executedAt });
      expectError(other, 'CONFLICT', 'OUTCOME_CONFLICT');
      expect(await byId(a.id)).toEqual(res);
    });

    test('a failure (hashMismatch) is FAILED with no window, and the device firmware stays', async () => {
      const requestId = rid(E(5));
      const a = await scheduled({
        requestId,
        esmeGuid: E(5),
        imageHash: IMAGE_HASH,
        executeAt: fromNow(30_000),
      });
      const executedAt = new Date(ms(a.executeAt) + 30_000).toISOString();
      const res = ok(
        await outcome(
          { requestId, outcomeCode: 'hashMismatch', executedAt, firmwareVersion: '0002012F' },
          operator,
        ),
      ).recordActivationOutcome;
      expect(res).toMatchObject({ status: 'FAILED', outcomeCode: 'hashMismatch', window: null });
      expect(ms(res.actualExecutedAt)).toBe(ms(executedAt));
      const { device } = ok(
        (
          await t.gql<{ device: { firmwareVersion: string; firmwareHistory: unknown[] } }>(
            `query ($g: EUI64!) { device(guid: $g) { firmwareVersion firmwareHistory { firmwareVersion } } }`,
            { g: E(5) },
            operator,
          )
        ).body,
      );
      expect(device).toEqual({
        firmwareVersion: '0002012F',
        firmwareHistory: [{ firmwareVersion: '0002012F' }],
      });
    });

    test('an outcome for an unknown request ID is NOT_FOUND; a bad outcome code is refused', async () => {
      expectError(
        await outcome({ requestId: rid(E(6)), outcomeCode: 'success', executedAt: fromNow(0) }),
        'NOT_FOUND',
      );
      const requestId = rid(E(6));
      ok(await schedule({ requestId, esmeGuid: E(6), imageHash: IMAGE_HASH }));
      const bad = await outcome({ requestId, outcomeCode: 'exploded', executedAt: fromNow(0) });
      expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect((await byId((await list({ deviceGuid: E(6) }, operator))[0].id))!.status).toBe('SCHEDULED');
    });
  });

  describe('supersession and retries', () => {
    test('a newer request supersedes a pending future-dated one', async () => {
      const older = await scheduled({
        requestId: rid(E(7)),
        esmeGuid: E(7),
        imageHash: IMAGE_HASH,
        executeAt: fromNow(3 * HOUR),
      });
      const newer = await scheduled({
        requestId: rid(E(7)),
        esmeGuid: E(7),
        imageHash: IMAGE2_HASH,
        executeAt: fromNow(HOUR),
      });
      expect(newer.status).toBe('SCHEDULED');
      expect(newer.window).not.toBeNull();
      const after = (await byId(older.id))!;
      expect(after).toMatchObject({ status: 'SUPERSEDED', supersededBy: newer.id, window: null });
    });

    test('retrying the same request ID with the same content returns the same activation and writes nothing', async () => {
      const requestId = rid(E(8));
      const executeAt = fromNow(HOUR);
      const first = await scheduled({ requestId, esmeGuid: E(8), imageHash: IMAGE_HASH, executeAt });
      const before = await rowCounts(t, 'firmware_activation');
      const retry = await scheduled({
        requestId,
        esmeGuid: E(8).toLowerCase(),
        imageHash: IMAGE_HASH.toUpperCase(),
        executeAt,
      });
      expect(retry).toEqual(first);
      expect(await rowCounts(t, 'firmware_activation')).toEqual(before);
      expect((await byId(first.id))!.status).toBe('SCHEDULED');

      // An immediate one retried, too.
      const immediateId = rid(E(9));
      const immediate = await scheduled({ requestId: immediateId, esmeGuid: E(9), imageHash: IMAGE_HASH });
      const count = await rowCounts(t, 'firmware_activation');
      expect((await scheduled({ requestId: immediateId, esmeGuid: E(9), imageHash: IMAGE_HASH })).id).toBe(
        immediate.id,
      );
      expect(await rowCounts(t, 'firmware_activation')).toEqual(count);
    });

    test('the same request ID with different content is CONFLICT REQUEST_ID_REUSED and writes nothing', async () => {
      const requestId = rid(E(10));
      const executeAt = fromNow(HOUR);
      const first = await scheduled({ requestId, esmeGuid: E(10), imageHash: IMAGE_HASH, executeAt });
      const before = await rowCounts(t, 'firmware_activation');
      expectError(
        await schedule({ requestId, esmeGuid: E(10), imageHash: IMAGE_HASH, executeAt: fromNow(2 * HOUR) }),
        'CONFLICT',
        'REQUEST_ID_REUSED',
      );
      expectError(
        await schedule({ requestId, esmeGuid: E(10), imageHash: IMAGE2_HASH, executeAt }),
        'CONFLICT',
        'REQUEST_ID_REUSED',
      );
      expectError(
        await schedule({ requestId, esmeGuid: E(10), imageHash: IMAGE_HASH }),
        'CONFLICT',
        'REQUEST_ID_REUSED',
      );
      expect(await rowCounts(t, 'firmware_activation')).toEqual(before);
      expect(await byId(first.id)).toEqual(first);
    });
  });

  describe('cancellation', () => {
    test('cancel by id: CANCELLED with no window; cancelling again is a no-op', async () => {
      const a = await scheduled({
        requestId: rid(E(11)),
        esmeGuid: E(11),
        imageHash: IMAGE_HASH,
        executeAt: fromNow(HOUR),
      });
      const cancelled = ok(await cancel({ id: a.id })).cancelFirmwareActivation;
      expect(cancelled).toMatchObject({ id: a.id, status: 'CANCELLED', window: null });
      const again = ok(await cancel({ id: a.id })).cancelFirmwareActivation;
      expect(again).toEqual(cancelled);
      // By request ID, as the operator.
      const b = await scheduled({
        requestId: rid(E(12)),
        esmeGuid: E(12),
        imageHash: IMAGE_HASH,
        executeAt: fromNow(HOUR),
      });
      expect(ok(await cancel({ rid: b.requestId }, operator)).cancelFirmwareActivation).toMatchObject({
        id: b.id,
        status: 'CANCELLED',
      });
    });

    test('an SR11.3 dated 3000-12-31T00:00:00Z cancels the pending activation and returns it', async () => {
      const pending = await scheduled({
        requestId: rid(E(13)),
        esmeGuid: E(13),
        imageHash: IMAGE_HASH,
        executeAt: fromNow(5 * HOUR),
      });
      const before = await rowCounts(t, 'firmware_activation');
      const res = await scheduled({
        requestId: rid(E(13)),
        esmeGuid: E(13),
        imageHash: IMAGE_HASH,
        executeAt: '3000-12-31T00:00:00Z',
      });
      expect(res).toMatchObject({ id: pending.id, status: 'CANCELLED', window: null });
      expect(ms(res.executeAt)).toBe(ms(pending.executeAt));
      expect(await rowCounts(t, 'firmware_activation')).toEqual(before);
      expect((await byId(pending.id))!.status).toBe('CANCELLED');
    });

    test('a retried sentinel cancel (same request ID) answers as the first did, even once a newer one is pending', async () => {
      const pending = await scheduled({
        requestId: rid(E(24)),
        esmeGuid: E(24),
        imageHash: IMAGE_HASH,
        executeAt: fromNow(5 * HOUR),
      });
      const cancelRequest = {
        requestId: rid(E(24)),
        esmeGuid: E(24),
        imageHash: IMAGE_HASH,
        executeAt: '3000-12-31T00:00:00Z',
      };
      const first = await scheduled(cancelRequest);
      expect(first).toMatchObject({ id: pending.id, status: 'CANCELLED', window: null });
      expect(await scheduled(cancelRequest)).toEqual(first);

      // A newer activation is pending: the retry still names the one it cancelled and leaves the new one be.
      const newer = await scheduled({
        requestId: rid(E(24)),
        esmeGuid: E(24),
        imageHash: IMAGE_HASH,
        executeAt: fromNow(6 * HOUR),
      });
      const before = await rowCounts(t, 'firmware_activation');
      expect(await scheduled(cancelRequest)).toEqual(first);
      expect((await byId(newer.id))!.status).toBe('SCHEDULED');
      expect(await rowCounts(t, 'firmware_activation')).toEqual(before);
    });

    test('the sentinel with nothing pending is CONFLICT NO_PENDING_ACTIVATION', async () => {
      const before = await rowCounts(t, 'firmware_activation');
      expectError(
        await schedule({
          requestId: rid(E(14)),
          esmeGuid: E(14),
          imageHash: IMAGE_HASH,
          executeAt: '3000-12-31T00:00:00Z',
        }),
        'CONFLICT',
        'NO_PENDING_ACTIVATION',
      );
      expect(await rowCounts(t, 'firmware_activation')).toEqual(before);
    });

    test('cancelling a finished activation is CONFLICT ACTIVATION_NOT_PENDING', async () => {
      const requestId = rid(E(15));
      const a = await scheduled({ requestId, esmeGuid: E(15), imageHash: IMAGE_HASH });
      const done = ok(
        await outcome({
          requestId,
          outcomeCode: 'success',
          executedAt: a.submittedAt,
          firmwareVersion: '00020130',
        }),
      ).recordActivationOutcome;
      expectError(await cancel({ id: a.id }), 'CONFLICT', 'ACTIVATION_NOT_PENDING');
      expectError(await cancel({ rid: requestId }, operator), 'CONFLICT', 'ACTIVATION_NOT_PENDING');
      expect(await byId(a.id)).toEqual(done);
    });
  });

  describe('bad input writes no activation', () => {
    const cases: [string, () => Record<string, unknown>, string, string | undefined][] = [
      [
        'a malformed request ID',
        () => ({ requestId: 'not-a-request-id', esmeGuid: E(20), imageHash: IMAGE_HASH }),
        'BAD_USER_INPUT',
        'INVALID_REQUEST_ID',
      ],
      [
        'a counter with a leading zero',
        () => ({ requestId: `${SUP}:${E(20)}:0${counter++}`, esmeGuid: E(20), imageHash: IMAGE_HASH }),
        'BAD_USER_INPUT',
        'INVALID_REQUEST_ID',
      ],
      [
        'a counter beyond uint64',
        () => ({ requestId: `${SUP}:${E(20)}:18446744073709551616`, esmeGuid: E(20), imageHash: IMAGE_HASH }),
        'BAD_USER_INPUT',
        'INVALID_REQUEST_ID',
      ],
      [
        'a request ID naming another supplier',
        () => ({ requestId: rid(E(20), SUP2), esmeGuid: E(20), imageHash: IMAGE_HASH }),
        'FORBIDDEN',
        'NOT_YOUR_REQUEST_ID',
      ],
      [
        'a request ID for another device',
        () => ({ requestId: rid(E(21)), esmeGuid: E(20), imageHash: IMAGE_HASH }),
        'BAD_USER_INPUT',
        'REQUEST_ID_TARGET_MISMATCH',
      ],
      [
        'executeAt in the past beyond the skew',
        () => ({
          requestId: rid(E(20)),
          esmeGuid: E(20),
          imageHash: IMAGE_HASH,
          executeAt: fromNow(-10 * MINUTE),
        }),
        'BAD_USER_INPUT',
        'EXECUTE_AT_IN_PAST',
      ],
      [
        'executeAt beyond 30 days',
        () => ({
          requestId: rid(E(20)),
          esmeGuid: E(20),
          imageHash: IMAGE_HASH,
          executeAt: fromNow(31 * 24 * HOUR),
        }),
        'BAD_USER_INPUT',
        'EXECUTE_AT_BEYOND_HORIZON',
      ],
      [
        'a hash matching no image',
        () => ({ requestId: rid(E(20)), esmeGuid: E(20), imageHash: hex('nothing') }),
        'BAD_USER_INPUT',
        'UNKNOWN_FIRMWARE_IMAGE',
      ],
      [
        'the hash of another model’s image',
        () => ({ requestId: rid(E(20)), esmeGuid: E(20), imageHash: UNAFFECTED_HASH }),
        'BAD_USER_INPUT',
        'UNKNOWN_FIRMWARE_IMAGE',
      ],
      [
        'a malformed hash',
        () => ({ requestId: rid(E(20)), esmeGuid: E(20), imageHash: 'abc' }),
        'BAD_USER_INPUT',
        'INVALID_FIRMWARE_HASH',
      ],
      [
        'neither image nor hash',
        () => ({ requestId: rid(E(20)), esmeGuid: E(20) }),
        'BAD_USER_INPUT',
        'IMAGE_REQUIRED',
      ],
      [
        'a Communications Hub as the target',
        () => ({ requestId: rid(CHF), esmeGuid: CHF, imageHash: IMAGE_HASH }),
        'BAD_USER_INPUT',
        'NOT_AN_ESME',
      ],
      [
        'a Decommissioned ESME',
        () => ({ requestId: rid(DECOMMISSIONED), esmeGuid: DECOMMISSIONED, imageHash: IMAGE_HASH }),
        'BAD_USER_INPUT',
        'DEVICE_NOT_ACTIVE',
      ],
      [
        'an unknown ESME',
        () => ({ requestId: rid(guid(P, 0xfff0)), esmeGuid: guid(P, 0xfff0), imageHash: IMAGE_HASH }),
        'NOT_FOUND',
        undefined,
      ],
    ];
    test.each(cases)('%s', async (_what, input, code, reason) => {
      const before = await rowCounts(t, 'firmware_activation');
      const res = await schedule(input());
      expectError(res, code, reason);
      expect(res.data ?? null).toBeNull();
      expect(await rowCounts(t, 'firmware_activation')).toEqual(before);
    });

    test('ED and OPERATOR may not schedule; anonymous callers are UNAUTHENTICATED', async () => {
      const before = await rowCounts(t, 'firmware_activation');
      const ed = await t.token({ role: 'ED', distributorIds: ['12'] });
      const input = { requestId: rid(E(20)), esmeGuid: E(20), imageHash: IMAGE_HASH };
      expectError(await schedule(input, ed), 'FORBIDDEN');
      expectError(await schedule(input, operator), 'FORBIDDEN');
      expectError((await t.gql(SCHEDULE, { a: input })).body, 'UNAUTHENTICATED');
      expect(await rowCounts(t, 'firmware_activation')).toEqual(before);
    });
  });

  describe('who sees and changes what', () => {
    let mine: Activation;
    let onOtherDno: Activation;

    beforeAll(async () => {
      mine = await scheduled({
        requestId: rid(E(22)),
        esmeGuid: E(22),
        imageHash: IMAGE_HASH,
        executeAt: fromNow(HOUR),
      });
      onOtherDno = await scheduled({
        requestId: rid(E15),
        esmeGuid: E15,
        imageHash: IMAGE_HASH,
        executeAt: fromNow(HOUR),
      });
    });

    test('another supplier sees none of them, and cannot cancel or record outcomes for them', async () => {
      const theirs = await list({}, supplier2);
      expect(theirs.filter((a) => a.supplierId !== SUP2)).toEqual([]);
      expect(await list({ supplierId: SUP }, supplier2)).toEqual([]);
      expect(await list({ deviceGuid: E(22) }, supplier2)).toEqual([]);
      expect(await byId(mine.id, supplier2)).toBeNull();

      expectError(await cancel({ id: mine.id }, supplier2), 'NOT_FOUND');
      expectError(await cancel({ rid: mine.requestId }, supplier2), 'NOT_FOUND');
      expectError(
        await outcome(
          {
            requestId: mine.requestId,
            outcomeCode: 'success',
            executedAt: fromNow(0),
            firmwareVersion: '00020130',
          },
          supplier2,
        ),
        'NOT_FOUND',
      );
      expect(await byId(mine.id)).toEqual(mine);

      // The owner sees its own, and only its own.
      const own = await list({}, supplier);
      expect(own.map((a) => a.id)).toContain(mine.id);
      expect(own.every((a) => a.supplierId === SUP)).toBe(true);
    });

    test('a distributor sees activations on its own distributor’s devices only', async () => {
      const ed12 = await t.token({ role: 'ED', distributorIds: ['12'] });
      const seen12 = await list({}, ed12);
      expect(seen12.map((a) => a.id)).toContain(mine.id);
      expect(seen12.map((a) => a.id)).not.toContain(onOtherDno.id);
      expect(seen12.every((a) => a.device?.distributorId === '12')).toBe(true);
      expect(await byId(onOtherDno.id, ed12)).toBeNull();
      expect((await byId(mine.id, ed12))!.id).toBe(mine.id);

      const ed15 = await t.token({ role: 'ED', distributorIds: ['15'] });
      expect((await list({}, ed15)).map((a) => a.id)).toEqual([onOtherDno.id]);
      // A distributor cannot cancel.
      expectError(await cancel({ id: onOtherDno.id }, ed15), 'FORBIDDEN');
    });

    test('the operator sees all of them', async () => {
      const all = await list({}, operator);
      const { firmware_activation: total } = await rowCounts(t, 'firmware_activation');
      expect(all).toHaveLength(total);
      expect(all.map((a) => a.id)).toEqual(expect.arrayContaining([mine.id, onOtherDno.id]));
      expectError((await t.gql(LIST, {})).body, 'UNAUTHENTICATED');
    });
  });

  describe('scheduleActivationCampaign', () => {
    // A 3-hour range on whole clock hours, starting at the next hour but one.
    const from = new Date(Math.ceil(Date.now() / HOUR) * HOUR + HOUR);
    const to = new Date(from.getTime() + 3 * HOUR);

    test('a range too small for the area cap is CAMPAIGN_DOES_NOT_FIT and writes nothing', async () => {
      const before = await rowCounts(t, 'firmware_activation');
      const res = await t.gql(
        CAMPAIGN_MUTATION,
        {
          c: {
            esmeGuids: CAMPAIGN,
            imageHash: IMAGE_HASH,
            from: from.toISOString(),
            to: new Date(from.getTime() + HOUR).toISOString(),
            maxPerAreaPerHour: 2,
            firstCounter: '9000',
          },
        },
        supplier,
      );
      const ext = expectError(res.body, 'BAD_USER_INPUT', 'CAMPAIGN_DOES_NOT_FIT');
      expect(ext).toMatchObject({ requested: 6, fits: 2, capacityPerArea: 2, hours: 1 });
      expect(await rowCounts(t, 'firmware_activation')).toEqual(before);
    });

    test('spreads 6 ESMEs of one area over 3 hours, at most 2 per clock hour, with consecutive counters', async () => {
      const before = await rowCounts(t, 'firmware_activation');
      const res = await t.gql<{
        scheduleActivationCampaign: { campaignId: string; activations: Activation[] };
      }>(
        CAMPAIGN_MUTATION,
        {
          c: {
            esmeGuids: CAMPAIGN.map((g) => g.toLowerCase()),
            imageHash: IMAGE_HASH,
            from: from.toISOString(),
            to: to.toISOString(),
            maxPerAreaPerHour: 2,
            firstCounter: '5000',
          },
        },
        supplier,
      );
      const { campaignId, activations } = ok(res.body).scheduleActivationCampaign;
      expect(activations).toHaveLength(6);
      expect(await rowCounts(t, 'firmware_activation')).toEqual({
        firmware_activation: before.firmware_activation + 6,
      });
      expect(new Set(activations.map((a) => a.deviceGuid))).toEqual(new Set(CAMPAIGN));
      for (const a of activations) {
        expect(a).toMatchObject({
          status: 'SCHEDULED',
          campaignId,
          supplierId: SUP,
          targetFirmwareVersion: '00020130',
        });
        expect(a.requestId).toBe(`${SUP}:${a.deviceGuid}:${a.requestId.split(':')[2]}`);
        const at = ms(a.executeAt);
        expect(at).toBeGreaterThanOrEqual(from.getTime());
        expect(at).toBeLessThan(to.getTime());
        expectWindow(a, at, false);
      }
      // Ordered by execution time, with consecutive counters in that order.
      const times = activations.map((a) => ms(a.executeAt));
      expect([...times].sort((x, y) => x - y)).toEqual(times);
      expect(activations.map((a) => a.requestId.split(':')[2])).toEqual([
        '5000',
        '5001',
        '5002',
        '5003',
        '5004',
        '5005',
      ]);
      const perHour = new Map<number, number>();
      for (const at of times)
        perHour.set(Math.floor(at / HOUR), (perHour.get(Math.floor(at / HOUR)) ?? 0) + 1);
      expect(Math.max(...perHour.values())).toBeLessThanOrEqual(2);

      const listed = await list({ campaignId }, operator);
      expect(listed.map((a) => a.id).sort()).toEqual(activations.map((a) => a.id).sort());
      expect((await list({ campaignId }, supplier)).length).toBe(6);
      expect(await list({ campaignId }, supplier2)).toEqual([]);
    });

    test('only suppliers may run a campaign', async () => {
      const before = await rowCounts(t, 'firmware_activation');
      const c = {
        esmeGuids: [E(23)],
        imageHash: IMAGE_HASH,
        from: from.toISOString(),
        to: to.toISOString(),
        maxPerAreaPerHour: 1,
        firstCounter: '7000',
      };
      expectError((await t.gql(CAMPAIGN_MUTATION, { c }, operator)).body, 'FORBIDDEN');
      expectError((await t.gql(CAMPAIGN_MUTATION, { c })).body, 'UNAUTHENTICATED');
      expect(await rowCounts(t, 'firmware_activation')).toEqual(before);
    });
  });
});
