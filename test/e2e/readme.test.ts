import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BACKEND } from '../support/database';

/**
 * The README's commands, run as a reader would run them: the two commands at the top are the
 * ones `.ci/run` and this suite run, and the walkthrough's shell blocks are executed in order, in
 * one bash session, against a server started with the walkthrough's own command (`npm start` on
 * the embedded database with demo data). A change that breaks a command in the README fails here.
 */

const ROOT = path.resolve(__dirname, '..', '..');
const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** The fenced `sh` blocks of one section (from its heading to the next `## `). */
function shellBlocks(heading: string): string[] {
  const at = README.indexOf(`\n## ${heading}`);
  if (at < 0) throw new Error(`README has no section "${heading}"`);
  const end = README.indexOf('\n## ', at + 4);
  const section = README.slice(at, end < 0 ? undefined : end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
}

// The walkthrough runs the embedded database, which the PostgreSQL project leaves to PGlite's.
const describeEmbedded = BACKEND === 'pglite' ? describe : describe.skip;

describe('the README', () => {
  it('opens with the two commands: install and start, and the test command CI runs', () => {
    const [first] = README.match(/```sh\n([\s\S]*?)```/)!.slice(1);
    const commands = first.split('\n').map((l) => l.replace(/#.*$/, '').trim());
    expect(commands.filter(Boolean)).toEqual(['npm install && npm start', 'npm test']);
    expect(fs.readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8')).toMatch(/^npm test\b/m);
  });
});

describeEmbedded('the README walkthrough, run command by command', () => {
  let dataDir: string;
  let server: ChildProcess | undefined;

  beforeAll(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'poa-readme-'));
  });
  afterAll(() => {
    // `npm start` runs the server as a child of npm: end the whole process group.
    if (server?.pid && server.exitCode === null) process.kill(-server.pid, 'SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('every shell block works against the server it starts', async () => {
    const [start, ...steps] = shellBlocks('A five-minute walkthrough');
    expect(start.trim()).toMatch(/npm start$/);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATA_DIR: dataDir,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
    };
    delete env.NODE_OPTIONS; // jest's flags are not the reader's
    delete env.DATABASE_URL;
    server = spawn('bash', ['-c', start], {
      cwd: ROOT,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    server.stdout!.setEncoding('utf8').on('data', (d: string) => (log += d));
    server.stderr!.setEncoding('utf8').on('data', (d: string) => (log += d));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`npm start did not listen:\n${log}`)), 90_000);
      const check = setInterval(() => {
        const m = /"url":"(http:\/\/[^"]+)\/graphql"[^\n]*"msg":"poa-sieve listening"/.exec(log);
        if (m) {
          clearTimeout(timer);
          clearInterval(check);
          resolve(m[1]);
        }
      }, 100);
    });

    const script = ['set -euo pipefail', 'set -x', ...steps].join('\n');
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn('bash', ['-c', script], {
        cwd: ROOT,
        env: { ...env, POA: url },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 330_000);
      child.on('exit', (c) => {
        clearTimeout(timer);
        resolve({ code: c, output: out });
      });
    });
    // On failure, show what the reader would have seen, and the server's side of it.
    if (code !== 0) {
      // What the server decided, as the walkthrough's own helpers ask it.
      const diagnosis = spawnSync(
        'bash',
        [
          '-c',
          [
            steps[0],
            `gql $OPERATOR '{"query":"{ alerts(first: 5) { nodes { id outcome } } verificationRequests { requestId status } e2: explainAlert(id: \\"2\\") { lines } e3: explainAlert(id: \\"3\\") { lines } }"}'`,
            'now',
          ].join('\n'),
        ],
        { cwd: ROOT, env: { ...env, POA: url }, encoding: 'utf8', timeout: 60_000 },
      );
      throw new Error(
        `walkthrough exited ${code}:\n${output}\n--- server state ---\n${diagnosis.stdout}${diagnosis.stderr}\n--- server log (tail) ---\n${log.slice(-6000)}`,
      );
    }
    // What the walkthrough says each step shows.
    expect(output).toContain('"distributorId":"12","name":"London Power Networks"');
    expect(output).toContain(
      '"outcome":"DELIVERED","reason":"NO_ACTIVATION_WINDOW","distributorId":"12","routedBy":"MPAN"',
    );
    expect(output).toContain('"outcome":"HELD","reason":"AWAITING_EVIDENCE"');
    expect(output).toContain('"window":{"from"');
    expect(output).toContain('"status":"SCHEDULED","claims":[{"outcomeCode":"success"');
    expect(output).toMatch(
      /"status":"SUCCEEDED","window":\{"from":"[^"]+","to":"[^"]+","anchoredOnActual":true\}/,
    );
    expect(output).toMatch(/Decision: SUPPRESSED because .*\[OTA_INDUCED\]/);
    expect(output).toContain('The hub is back by');
    expect(output).toContain('"recordVerificationAnswer":{"status":"ANSWERED"}');
    expect(output).toContain('"outcome":"SUPPRESSED","decision":{"reasonCode":"OTA_INDUCED"}');
    expect(output).not.toContain('"errors"');
  }, 450_000);
});
