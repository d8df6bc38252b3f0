import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { seedDemoData } from '../../src/demo/seed';
import { createSchemaValidator } from '../../src/ingest/schema-validator';
import { eventually, startTestApp, subscribe, TestClock } from '../support/app';
import type { TestApp } from '../support/app';
import { BACKEND } from '../support/database';
import { payloadFromArgs, PAYLOAD_KINDS } from '../support/duis-payload-args';

/**
 * docs/DSP-ADAPTER.md, run as written, against a real server holding the demo inventory (seeded
 * as `npm start` seeds it) with XSD validation on. The guide marks each checked example with a
 * comment, `<!-- check: <what> as=<role> at=<server clock> status=<HTTP status> -->`, followed by
 * its code block and then the documented answer (a `json` block):
 *
 *   post         the `xml` block (or the document a `sh` block's duis:payload command prints) is
 *                posted to POST /duis; the status and the answer must be as documented
 *   query        the `graphql` block is run over HTTP; the answer must become the one documented
 *                (the scheduler writes verification requests on its own time, so it is polled)
 *   subscribe    the `graphql` subscription is run over graphql-ws; its first event is documented
 *   duisRequest  the `xml` block is the duisRequest of the verification request `of=`
 *
 * Every `xml` block of the guide must be checked, and a `sh` block right before an `xml` block
 * that runs `npm run -s duis:payload` must print exactly that block. Answers are compared in full
 * but for error messages (tests assert codes, not wording) and UUIDs (written `<uuid>`).
 */

const ROOT = path.resolve(__dirname, '..', '..');
const GUIDE = fs.readFileSync(path.join(ROOT, 'docs', 'DSP-ADAPTER.md'), 'utf8');
const SCHEMA_DIR = path.resolve(ROOT, '../shared/reference/duis');
/** When the guide's server started and seeded the demo inventory. */
const DEMO_SEEDED_AT = '2026-12-07T10:00:00Z';
const SUPPLIER = '90-B3-D5-1F-30-01-00-00';

interface Fence {
  readonly language: string;
  readonly code: string;
  readonly line: number;
}
interface Check {
  readonly what: 'post' | 'query' | 'subscribe' | 'duisRequest';
  readonly attributes: Readonly<Record<string, string>>;
  readonly block: Fence;
  /** The duis:payload arguments that print the block (from the `sh` block before it). */
  readonly command: readonly string[] | null;
  /** The server time the reader's shell waits for before this step (`wait_until`). */
  readonly waitUntil: string | null;
  readonly answer: unknown;
}

/** The guide's fenced blocks and check comments, in order. */
function parseGuide(markdown: string): { fences: Fence[]; checks: Check[] } {
  const items: ({ kind: 'fence'; fence: Fence } | { kind: 'check'; text: string; line: number })[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const check = /^<!-- check: (.*?) -->$/.exec(lines[i]);
    if (check) items.push({ kind: 'check', text: check[1], line: i + 1 });
    const open = /^```(\w*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const start = i;
    while (++i < lines.length && lines[i] !== '```');
    items.push({
      kind: 'fence',
      fence: { language: open[1], code: lines.slice(start + 1, i).join('\n') + '\n', line: start + 1 },
    });
  }
  const fences = items.flatMap((item) => (item.kind === 'fence' ? [item.fence] : []));
  const checks = items.flatMap((item, n): Check[] => {
    if (item.kind !== 'check') return [];
    const next = items[n + 1];
    const after = items[n + 2];
    if (next?.kind !== 'fence')
      throw new Error(`line ${item.line}: a check comment must precede a code block`);
    const before = items[n - 1];
    const [what, ...pairs] = item.text.split(/\s+/);
    const shell =
      next.fence.language === 'sh'
        ? next.fence
        : before?.kind === 'fence' && before.fence.language === 'sh'
          ? before.fence
          : null;
    return [
      {
        what: what as Check['what'],
        attributes: Object.fromEntries(pairs.map((p) => p.split('=', 2) as [string, string])),
        block: next.fence,
        command:
          shell &&
          (/npm run -s duis:payload -- ([^\n>|]*)/.exec(shell.code)?.[1].trim().split(/\s+/) ?? null),
        waitUntil: shell && (/wait_until (\S+)/.exec(shell.code)?.[1] ?? null),
        answer:
          after?.kind === 'fence' && after.fence.language === 'json'
            ? JSON.parse(after.fence.code)
            : undefined,
      },
    ];
  });
  return { fences, checks };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** What of an answer the guide must get right: all but messages, with UUIDs as `<uuid>`. */
function comparable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(comparable);
  if (typeof value === 'string') return UUID.test(value) ? '<uuid>' : value;
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => key !== 'message')
      .map(([key, v]) => [key, comparable(v)]),
  );
}

const { fences, checks } = parseGuide(GUIDE);

describe('docs/DSP-ADAPTER.md', () => {
  test('every XML example is checked, and every check has its answer', () => {
    expect(GUIDE).toContain(DEMO_SEEDED_AT);
    const xml = fences.filter((f) => f.language === 'xml');
    expect(xml.length).toBeGreaterThanOrEqual(8);
    expect(xml.filter((f) => !checks.some((c) => c.block === f)).map((f) => f.line)).toEqual([]);
    for (const check of checks) {
      expect([check.block.line, check.what]).toEqual([
        check.block.line,
        expect.stringMatching(/^(post|query|subscribe|duisRequest)$/),
      ]);
      if (check.what !== 'duisRequest')
        expect([check.block.line, check.answer]).not.toEqual([check.block.line, undefined]);
      // The reader's shell waits for the time the check posts at.
      if (check.waitUntil)
        expect([check.block.line, check.waitUntil]).toEqual([check.block.line, check.attributes.at]);
    }
    // Every kind of document the payload builder makes is shown.
    const kinds = new Set(
      checks.flatMap((c) => (c.command ? [c.command[c.command.indexOf('--kind') + 1]] : [])),
    );
    expect([...kinds].sort()).toEqual([...PAYLOAD_KINDS].sort());
  });
});

describe('docs/DSP-ADAPTER.md against a server holding the demo inventory', () => {
  const clock = new TestClock(DEMO_SEEDED_AT);
  const validator = createSchemaValidator(SCHEMA_DIR);
  const tokens: Record<string, string> = {};
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ DUIS_SCHEMA_DIR: SCHEMA_DIR, SCHEDULER_POLL_MS: '100' }, clock);
    const ttlSeconds = 24 * 3600;
    tokens.OPERATOR = await t.token({ role: 'OPERATOR', ttlSeconds });
    tokens.IS = await t.token({ role: 'IS', supplierId: SUPPLIER, ttlSeconds });
    expect(await seedDemoData(t.app.dataSource, t.app.services, clock)).toBe(true);
  });
  afterAll(async () => {
    await validator.close();
    await t?.stop();
  });

  const post = async (xml: string, token: string) => {
    const res = await fetch(`${t.url}/duis`, {
      method: 'POST',
      headers: { 'content-type': 'application/xml', authorization: `Bearer ${token}` },
      body: xml,
    });
    return { status: res.status, body: (await res.json()) as unknown };
  };
  const moveClockTo = (at: string | undefined) => {
    if (at === undefined) return;
    expect(Date.parse(at)).toBeGreaterThanOrEqual(clock.now().getTime());
    clock.set(at);
  };

  test.each(checks.map((check) => [`line ${check.block.line}: ${check.what}`, check] as const))(
    '%s',
    async (_name, check) => {
      const { attributes: a } = check;
      moveClockTo(a.at);
      const token = tokens[a.as ?? 'OPERATOR'];
      if (check.what === 'post') {
        const xml =
          check.block.language === 'xml' ? check.block.code : payloadFromArgs(check.command!, clock.now());
        if (check.command) expect(payloadFromArgs(check.command, clock.now())).toBe(xml);
        const schema = xml.includes('<ra:GBCSResponse') ? 'MMC' : 'DUIS';
        expect(await validator.validate(xml, schema)).toEqual({ valid: true, violations: [] });
        const answer = await post(xml, token);
        expect(comparable(answer)).toEqual({
          status: Number(a.status ?? 200),
          body: comparable(check.answer),
        });
      } else if (check.what === 'query') {
        const expected = comparable(check.answer);
        let last: unknown;
        await eventually(async () => {
          last = comparable((await t.gql(check.block.code, {}, token)).body);
          return JSON.stringify(last) === JSON.stringify(expected) ? true : undefined;
        }, 10_000).catch(() => expect(last).toEqual(expected));
      } else if (check.what === 'subscribe') {
        const sub = subscribe(t.ws(token), check.block.code);
        const [first] = await sub.waitFor(1);
        sub.dispose();
        expect(comparable({ data: first })).toEqual(comparable(check.answer));
      } else {
        const { body } = await t.gql<{ verificationRequests: { requestId: string; duisRequest: string }[] }>(
          '{ verificationRequests(first: 500) { requestId duisRequest } }',
          {},
          tokens.OPERATOR,
        );
        const request = body.data!.verificationRequests.find((r) => r.requestId === a.of);
        expect(request?.duisRequest).toBe(check.block.code);
      }
    },
  );

  test("DCC's own samples, as the guide says: the SR 11.2 response's request and the SR11.3s' ESME are unknown, an error response has no answer", async () => {
    const sample = fs.readFileSync(path.join(SCHEMA_DIR, 'ECS52_11.2_SUCCESS_RESPONSE_DUIS.XML'), 'utf8');
    expect(await validator.validate(sample, 'DUIS')).toEqual({ valid: true, violations: [] });
    expect(await post(sample, tokens.OPERATOR)).toMatchObject({
      status: 404,
      body: { errors: [{ code: 'NOT_FOUND' }] },
    });
    // An error response (E65) carries no payload to read a version from.
    const failed = fs
      .readFileSync(path.join(SCHEMA_DIR, 'acknowledgement-error.xml'), 'utf8')
      .replace(/<sr:RequestID>[^<]*</, '<sr:RequestID>90-B3-D5-1F-30-00-00-01:00-DB-E5-00-00-00-03-01:1<');
    expect(await post(failed, tokens.OPERATOR)).toMatchObject({
      status: 400,
      body: { errors: [{ code: 'BAD_USER_INPUT', reason: 'MISSING_ELEMENT' }] },
    });
    // The SR11.3 samples target an ESME the demo does not have.
    const immediate = fs.readFileSync(
      path.join(SCHEMA_DIR, 'CS06_11.3_IMMEDIATE_SUCCESS_REQUEST_DUIS.XML'),
      'utf8',
    );
    expect(await post(immediate, tokens.IS)).toMatchObject({
      status: 404,
      body: { errors: [{ code: 'NOT_FOUND' }] },
    });
  });
});

// The script touches no database: once is enough (the PGlite project).
(BACKEND === 'pglite' ? describe : describe.skip)('npm run duis:payload', () => {
  test('its command prints the documents, and names the demo devices when given another', () => {
    const args = ['--kind', 'ad1', '--device', '00-DB-E5-00-00-00-02-01', '--at', '2026-12-07T10:00:06Z'];
    // The command `npm run duis:payload` runs, run directly: spawned through npm, it left the jest
    // worker unable to exit cleanly.
    const scripts = (
      JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
        scripts: Record<string, string>;
      }
    ).scripts;
    const [command, ...prefix] = scripts['duis:payload'].split(' ');
    const run = (argv: string[]) => {
      const env: NodeJS.ProcessEnv = { ...process.env };
      delete env.NODE_OPTIONS; // jest's flags are not the reader's
      return spawnSync(command, [...prefix, ...argv], { cwd: ROOT, env, encoding: 'utf8' });
    };
    const printed = run(args);
    expect({ status: printed.status, stderr: printed.stderr }).toEqual({ status: 0, stderr: '' });
    expect(printed.stdout).toBe(payloadFromArgs(args, new Date()));
    expect(printed.stdout).toContain('<sr:CommsHubDeviceID>00-DB-C4-00-00-00-02-01</sr:CommsHubDeviceID>');
    const unknown = run(['--kind', 'ad1', '--device', '00-DB-12-34-56-78-90-A0']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('is not a demo device');
    expect(unknown.stderr).toContain('00-DB-C4-00-00-00-03-02');
  }, 60_000);
});
