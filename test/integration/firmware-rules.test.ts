import crypto from 'node:crypto';
import { startTestApp } from '../support/app';
import type { TestApp } from '../support/app';
import { expectError, ok, rowCounts } from '../support/integration';

/** Firmware images and the affected-firmware rules (the MP102B filter list), through the public API. */

const REGISTER = `mutation ($i: FirmwareImageInput!) {
  registerFirmwareImage(image: $i) { id manufacturer model version imageHash sizeBytes releaseDate registeredAt }
}`;
const IMAGES = `query ($m: String, $model: String) {
  firmwareImages(manufacturer: $m, model: $model) { id manufacturer model version imageHash }
}`;
const UPSERT_RULE = `mutation ($r: AffectedFirmwareRuleInput!) {
  upsertAffectedFirmwareRule(rule: $r) {
    id version name deviceType manufacturer model affectedFirmwareVersions targetFirmwareVersion targetImageHash
    windowMinutes skewMinutes enabled shadow updatedAt updatedBy
    history { version changedAt changedBy rule ruleSnapshot }
  }
}`;
const RULES = `{ affectedFirmwareRules { id version name manufacturer model affectedFirmwareVersions history { version changedBy } } }`;

interface Image {
  id: string;
  manufacturer: string;
  model: string;
  version: string;
  imageHash: string;
  sizeBytes?: string | null;
  releaseDate?: string | null;
  registeredAt?: string;
}
interface Rule {
  id: string;
  version: number;
  name: string;
  deviceType: string;
  manufacturer: string;
  model: string;
  affectedFirmwareVersions: string[];
  targetFirmwareVersion: string | null;
  targetImageHash: string | null;
  windowMinutes: number;
  skewMinutes: number;
  enabled: boolean;
  shadow: boolean;
  updatedAt: string;
  updatedBy: string;
  history: {
    version: number;
    changedAt: string;
    changedBy: string;
    rule: string;
    ruleSnapshot: Record<string, unknown>;
  }[];
}

const hash = (seed: string) => crypto.createHash('sha256').update(seed).digest();
const hex = (seed: string) => hash(seed).toString('hex');

describe('firmware images and affected-firmware rules', () => {
  let t: TestApp;
  let operator: string;
  let alice: string;
  let bob: string;
  let ed: string;
  let is: string;

  beforeAll(async () => {
    t = await startTestApp();
    operator = await t.token({ role: 'OPERATOR' });
    alice = await t.token({ role: 'OPERATOR', subject: 'alice@dsp.example' });
    bob = await t.token({ role: 'OPERATOR', subject: 'bob@dsp.example' });
    ed = await t.token({ role: 'ED', distributorIds: ['12'] });
    is = await t.token({ role: 'IS', supplierId: '90-B3-D5-1F-30-01-00-00' });
  });
  afterAll(() => t?.stop());

  const register = async (i: Record<string, unknown>, token = operator) =>
    (await t.gql<{ registerFirmwareImage: Image }>(REGISTER, { i }, token)).body;

  describe('registerFirmwareImage', () => {
    test('registers an image, normalising IDs and the hash; registering it again returns the same image', async () => {
      const input = {
        manufacturer: 'ab01',
        model: '010a030b',
        version: '00020130',
        imageHash: hex('image-1').toUpperCase(),
        sizeBytes: 524288,
        releaseDate: '2025-02-03',
      };
      const first = ok(await register(input)).registerFirmwareImage;
      expect(first).toMatchObject({
        manufacturer: 'AB01',
        model: '010A030B',
        version: '00020130',
        imageHash: hex('image-1'),
        sizeBytes: '524288',
        releaseDate: '2025-02-03',
      });
      const before = await rowCounts(t, 'firmware_image');
      const again = ok(
        await register({ ...input, manufacturer: 'AB01', imageHash: hex('image-1') }),
      ).registerFirmwareImage;
      expect(again.id).toBe(first.id);
      expect(await rowCounts(t, 'firmware_image')).toEqual(before);
    });

    test('the same version with another hash is a CONFLICT and writes nothing', async () => {
      ok(
        await register({
          manufacturer: 'AB01',
          model: '010A030B',
          version: '00020131',
          imageHash: hex('image-2'),
        }),
      );
      const before = await rowCounts(t, 'firmware_image');
      const clash = await register({
        manufacturer: 'AB01',
        model: '010A030B',
        version: '00020131',
        imageHash: hex('other'),
      });
      expectError(clash, 'CONFLICT', 'IMAGE_VERSION_EXISTS');
      expect(await rowCounts(t, 'firmware_image')).toEqual(before);
    });

    test('a 32-byte hash in base64 is accepted and returned as lower-case hex', async () => {
      const bytes = hash('image-base64');
      const image = ok(
        await register({
          manufacturer: 'AB01',
          model: '010A030B',
          version: '00020132',
          imageHash: bytes.toString('base64'),
        }),
      ).registerFirmwareImage;
      expect(image.imageHash).toBe(bytes.toString('hex'));
      expect(image.imageHash).toMatch(/^[0-9a-f]{64}$/);
    });

    test.each([
      ['63 hex digits', hex('x').slice(1)],
      ['65 hex digits', `${hex('x')}0`],
      ['a non-hex digit', `g${hex('x').slice(1)}`],
      ['base64 of 31 bytes', hash('y').subarray(0, 31).toString('base64')],
      ['an empty string', ''],
    ])('a hash of %s is INVALID_FIRMWARE_HASH and writes nothing', async (_what, imageHash) => {
      const before = await rowCounts(t, 'firmware_image');
      const res = await register({ manufacturer: 'AB01', model: '010A030B', version: '0002FFFF', imageHash });
      const ext = expectError(res, 'BAD_USER_INPUT', 'INVALID_FIRMWARE_HASH');
      expect(ext.field).toBe('imageHash');
      expect(await rowCounts(t, 'firmware_image')).toEqual(before);
    });

    test('bad manufacturer, model and version are refused with their reasons', async () => {
      const before = await rowCounts(t, 'firmware_image');
      const base = { manufacturer: 'AB01', model: '010A030B', version: '0002FFFE', imageHash: hex('z') };
      expectError(
        await register({ ...base, manufacturer: 'AB1' }),
        'BAD_USER_INPUT',
        'INVALID_MANUFACTURER_ID',
      );
      expectError(await register({ ...base, model: '010A030BB' }), 'BAD_USER_INPUT', 'INVALID_MODEL_ID');
      expectError(
        await register({ ...base, version: '123456789' }),
        'BAD_USER_INPUT',
        'INVALID_FIRMWARE_VERSION',
      );
      expectError(await register({ ...base, sizeBytes: 0 }), 'BAD_USER_INPUT', 'INVALID_SIZE');
      expectError(await register({ ...base, releaseDate: '3 Feb 2025' }), 'BAD_USER_INPUT', 'INVALID_DATE');
      expect(await rowCounts(t, 'firmware_image')).toEqual(before);
    });

    test('only OPERATOR may register: ED and IS are FORBIDDEN, anonymous is UNAUTHENTICATED', async () => {
      const before = await rowCounts(t, 'firmware_image');
      const input = { manufacturer: 'AB01', model: '010A030B', version: '0002AAAA', imageHash: hex('roles') };
      expectError(await register(input, ed), 'FORBIDDEN');
      expectError(await register(input, is), 'FORBIDDEN');
      expectError((await t.gql(REGISTER, { i: input })).body, 'UNAUTHENTICATED');
      expect(await rowCounts(t, 'firmware_image')).toEqual(before);
    });
  });

  test('firmwareImages filters by manufacturer and model, for any authenticated role', async () => {
    ok(await register({ manufacturer: 'CD02', model: '11111111', version: '1', imageHash: hex('cd02-a') }));
    ok(await register({ manufacturer: 'CD02', model: '22222222', version: '1', imageHash: hex('cd02-b') }));
    ok(await register({ manufacturer: 'CD02', model: '22222222', version: '2', imageHash: hex('cd02-c') }));
    const list = async (vars: Record<string, unknown>, token: string) =>
      ok((await t.gql<{ firmwareImages: Image[] }>(IMAGES, vars, token)).body).firmwareImages;

    const byModel = await list({ m: 'cd02', model: '22222222' }, is);
    expect(byModel.map((i) => [i.model, i.version])).toEqual([
      ['22222222', '1'],
      ['22222222', '2'],
    ]);
    expect((await list({ m: 'CD02' }, ed)).map((i) => i.imageHash)).toEqual([
      hex('cd02-a'),
      hex('cd02-b'),
      hex('cd02-c'),
    ]);
    const all = await list({}, operator);
    expect(all.length).toBeGreaterThanOrEqual(3);
    expect(all.some((i) => i.manufacturer === 'AB01')).toBe(true);
    expect(await list({ m: 'EEEE' }, operator)).toEqual([]);
    expectError(
      (await t.gql(IMAGES, { model: 'nothex!!' }, operator)).body,
      'BAD_USER_INPUT',
      'INVALID_MODEL_ID',
    );
    expectError((await t.gql(IMAGES, {})).body, 'UNAUTHENTICATED');
  });

  describe('upsertAffectedFirmwareRule', () => {
    const base = {
      name: 'L+G E470 pre-fix',
      manufacturer: 'ab01',
      model: '010a030b',
      affectedFirmwareVersions: ['0002012f', '0002012E', '0002012F'],
    };
    const upsert = async (r: Record<string, unknown>, token = alice) =>
      (await t.gql<{ upsertAffectedFirmwareRule: Rule }>(UPSERT_RULE, { r }, token)).body;

    test('creates a rule with defaults, then every change bumps the version and is recorded with who made it', async () => {
      const created = ok(await upsert(base)).upsertAffectedFirmwareRule;
      expect(created).toMatchObject({
        version: 1,
        name: 'L+G E470 pre-fix',
        deviceType: 'ESME',
        manufacturer: 'AB01',
        model: '010A030B',
        affectedFirmwareVersions: ['0002012E', '0002012F'],
        targetFirmwareVersion: null,
        targetImageHash: null,
        windowMinutes: 30,
        skewMinutes: 2,
        enabled: true,
        shadow: false,
        updatedBy: 'alice@dsp.example',
      });
      expect(created.history).toHaveLength(1);
      // The deprecated JSON string and its typed replacement carry the same rule.
      expect(created.history[0].ruleSnapshot).toEqual(JSON.parse(created.history[0].rule));
      expect(created.history[0].ruleSnapshot).toMatchObject({ windowMinutes: 30 });

      const second = ok(
        await upsert({ ...base, id: created.id, expectedVersion: 1, windowMinutes: 45, shadow: true }, bob),
      ).upsertAffectedFirmwareRule;
      expect(second).toMatchObject({
        id: created.id,
        version: 2,
        windowMinutes: 45,
        shadow: true,
        updatedBy: 'bob@dsp.example',
      });

      // No expectedVersion: last writer wins, still recorded.
      const third = ok(
        await upsert({
          ...base,
          id: created.id,
          targetImageHash: hex('target').toUpperCase(),
          enabled: false,
        }),
      ).upsertAffectedFirmwareRule;
      expect(third).toMatchObject({
        version: 3,
        targetImageHash: hex('target'),
        enabled: false,
        windowMinutes: 30,
        shadow: false,
        updatedBy: 'alice@dsp.example',
      });
      expect(third.history.map((h) => [h.version, h.changedBy])).toEqual([
        [1, 'alice@dsp.example'],
        [2, 'bob@dsp.example'],
        [3, 'alice@dsp.example'],
      ]);
      const snapshots = third.history.map((h) => JSON.parse(h.rule) as Record<string, unknown>);
      expect(snapshots.map((s) => s.windowMinutes)).toEqual([30, 45, 30]);
      expect(snapshots[2]).toMatchObject({
        enabled: false,
        targetImageHash: hex('target'),
        model: '010A030B',
      });
      const times = third.history.map((h) => Date.parse(h.changedAt));
      expect([...times].sort((a, b) => a - b)).toEqual(times);
    });

    test('a stale expectedVersion is a CONFLICT and records nothing', async () => {
      const rule = ok(await upsert({ ...base, name: 'stale check' })).upsertAffectedFirmwareRule;
      ok(await upsert({ ...base, name: 'stale check', id: rule.id, expectedVersion: 1, windowMinutes: 40 }));
      const before = await rowCounts(t, 'affected_firmware_rule', 'affected_firmware_rule_change');
      const stale = await upsert(
        { ...base, name: 'stale check', id: rule.id, expectedVersion: 1, windowMinutes: 50 },
        bob,
      );
      const ext = expectError(stale, 'CONFLICT', 'STALE_RULE_VERSION');
      expect(ext.currentVersion).toBe(2);
      expect(await rowCounts(t, 'affected_firmware_rule', 'affected_firmware_rule_change')).toEqual(before);
      const now = ok(
        (await t.gql<{ affectedFirmwareRules: Rule[] }>(RULES, {}, operator)).body,
      ).affectedFirmwareRules.find((r) => r.id === rule.id)!;
      expect(now.version).toBe(2);
      expect(now.history.map((h) => h.version)).toEqual([1, 2]);
    });

    test.each([
      ['windowMinutes 0', { windowMinutes: 0 }, 'INVALID_WINDOW'],
      ['windowMinutes 1441', { windowMinutes: 1441 }, 'INVALID_WINDOW'],
      ['skewMinutes -1', { skewMinutes: -1 }, 'INVALID_SKEW'],
      ['no affected versions', { affectedFirmwareVersions: [] }, 'INVALID_FIRMWARE_VERSIONS'],
      ['a blank name', { name: '   ' }, 'INVALID_NAME'],
      ['a bad model', { model: '010A03' }, 'INVALID_MODEL_ID'],
      ['a bad target hash', { targetImageHash: 'abc' }, 'INVALID_FIRMWARE_HASH'],
      ['a malformed id', { id: 'rule-1' }, 'INVALID_ID'],
    ])('%s is BAD_USER_INPUT and records nothing', async (_what, change, reason) => {
      const before = await rowCounts(t, 'affected_firmware_rule', 'affected_firmware_rule_change');
      expectError(await upsert({ ...base, ...change }), 'BAD_USER_INPUT', reason);
      expect(await rowCounts(t, 'affected_firmware_rule', 'affected_firmware_rule_change')).toEqual(before);
    });

    test('changing an unknown rule is NOT_FOUND', async () => {
      const before = await rowCounts(t, 'affected_firmware_rule', 'affected_firmware_rule_change');
      expectError(await upsert({ ...base, id: crypto.randomUUID() }), 'NOT_FOUND');
      expect(await rowCounts(t, 'affected_firmware_rule', 'affected_firmware_rule_change')).toEqual(before);
    });

    test('only OPERATOR may change rules', async () => {
      const before = await rowCounts(t, 'affected_firmware_rule', 'affected_firmware_rule_change');
      expectError(await upsert(base, ed), 'FORBIDDEN');
      expectError(await upsert(base, is), 'FORBIDDEN');
      expectError((await t.gql(UPSERT_RULE, { r: base })).body, 'UNAUTHENTICATED');
      expect(await rowCounts(t, 'affected_firmware_rule', 'affected_firmware_rule_change')).toEqual(before);
    });
  });

  test('affectedFirmwareRules is readable by ED, IS and OPERATOR, not anonymously', async () => {
    const created = ok(
      (
        await t.gql<{ upsertAffectedFirmwareRule: Rule }>(
          UPSERT_RULE,
          {
            r: { name: 'readable', manufacturer: 'CD02', model: '22222222', affectedFirmwareVersions: ['1'] },
          },
          operator,
        )
      ).body,
    ).upsertAffectedFirmwareRule;
    for (const token of [ed, is, operator]) {
      const rules = ok(
        (await t.gql<{ affectedFirmwareRules: Rule[] }>(RULES, {}, token)).body,
      ).affectedFirmwareRules;
      expect(rules.find((r) => r.id === created.id)).toMatchObject({
        name: 'readable',
        manufacturer: 'CD02',
        model: '22222222',
        affectedFirmwareVersions: ['1'],
        history: [{ version: 1, changedBy: 'test-OPERATOR' }],
      });
    }
    const anonymous = await t.gql(RULES, {});
    expectError(anonymous.body, 'UNAUTHENTICATED');
    expect(anonymous.body.data ?? null).toBeNull();
  });
});
