import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The Prometheus alert rules (ops/prometheus/rules.yml) are valid, and each alert fires when it
 * should and stays quiet when it should not (ops/prometheus/rules.test.yml), by promtool itself.
 * promtool comes with Debian's `prometheus` package, which .ci/run installs when it is missing;
 * a machine without it skips these two tests and says so.
 */
const OPS = path.resolve(__dirname, '..', '..', 'ops', 'prometheus');
const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' }).status === 0;
const run = (...args: string[]) =>
  execFileSync('promtool', args, { cwd: OPS, encoding: 'utf8', stdio: 'pipe' });

if (!promtool) {
  console.warn(
    'promtool not found: the alert rule tests are SKIPPED. Install it with `apt-get install -y prometheus` ' +
      '(.ci/run does), or run `promtool test rules ops/prometheus/rules.test.yml` where it is.',
  );
}

(promtool ? describe : describe.skip)('Prometheus alert rules (promtool)', () => {
  test('promtool check rules: the rule file is valid', () => {
    expect(run('check', 'rules', 'rules.yml')).toMatch(/SUCCESS: \d+ rules found/);
  });

  test('promtool test rules: every alert fires and stays quiet as its tests say', () => {
    expect(run('test', 'rules', 'rules.test.yml')).toContain('SUCCESS');
  });

  test('every alert of the rule file has a test in which it fires', () => {
    const alerts = [...fs.readFileSync(path.join(OPS, 'rules.yml'), 'utf8').matchAll(/- alert:\s*(\S+)/g)];
    // Each test case runs from its `- alertname:` to the next; one that expects an alert has exp_labels.
    const cases = fs
      .readFileSync(path.join(OPS, 'rules.test.yml'), 'utf8')
      .split(/- alertname:\s*/)
      .slice(1);
    const firing = new Set(cases.filter((c) => c.includes('exp_labels')).map((c) => c.split(/\s/)[0]));
    expect(alerts.map(([, name]) => name).filter((name) => !firing.has(name))).toEqual([]);
  });
});
