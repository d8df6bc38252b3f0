import fs from 'node:fs';
import path from 'node:path';
import { startTestApp } from '../support/app';
import type { TestApp } from '../support/app';

/**
 * The operations files and the runbook name metrics that the server really exposes: every metric
 * name and label that a query of the Grafana dashboard (ops/grafana/poa-sieve.json) or an alert
 * rule (ops/prometheus/rules.yml) uses, and every one that README.md and docs/*.md quote, is on
 * the running server's GET /metrics (names) and in its registry (label names, which a metric
 * without samples does not show). A renamed metric or label fails here, not in a silent panel.
 */

const ROOT = path.resolve(__dirname, '..', '..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');
/** Labels that Prometheus adds to every scraped series. */
const TARGET_LABELS = new Set(['instance', 'job']);
/** Grafana's own variables in a query, which are not metric names. */
const GRAFANA_VARIABLE = /\$__\w+|\$\{\w+\}/g;

/** Each quoted metric with the label names it names (in braces or `by <label>` after it). */
interface MetricUse {
  readonly where: string;
  readonly name: string;
  readonly labels: readonly string[];
}

/** The label names of a PromQL selector's braces: `{a,b}` (the docs' notation) or `{a="x",b=~"y"}`. */
function labelsInBraces(braces: string | undefined): string[] {
  if (!braces) return [];
  return braces
    .replace(/"(?:[^"\\]|\\.)*"/g, '')
    .split(',')
    .map((part) => part.replace(/\s*(=~|!~|!=|=)\s*$/, '').trim())
    .filter(Boolean);
}

/** Metric names, their selectors' labels, and the labels of by/without/on/ignoring in a PromQL expression. */
function usesInPromQL(expr: string, where: string): MetricUse[] {
  const text = expr.replace(GRAFANA_VARIABLE, '5m');
  const uses: MetricUse[] = [];
  for (const [, name, braces] of text.matchAll(/\b(poa_sieve_[a-zA-Z0-9_]+)(?:\{([^}]*)\})?/g))
    uses.push({ where, name, labels: labelsInBraces(braces) });
  const grouped = [...text.matchAll(/\b(?:by|without|on|ignoring)\s*\(([^)]*)\)/g)].flatMap(([, list]) =>
    list
      .split(',')
      .map((l) => l.trim())
      .filter(Boolean),
  );
  // A grouping label must belong to one of the metrics the expression reads.
  if (grouped.length) uses.push({ where, name: uses.map((m) => m.name).join('|'), labels: grouped });
  return uses;
}

function dashboardUses(): MetricUse[] {
  const dashboard = JSON.parse(read('ops/grafana/poa-sieve.json')) as {
    panels: { title: string; targets?: { expr: string }[] }[];
    templating?: { list: { name: string; query?: unknown }[] };
  };
  const uses = dashboard.panels.flatMap((panel) =>
    (panel.targets ?? []).flatMap((target) => usesInPromQL(target.expr, `dashboard panel "${panel.title}"`)),
  );
  for (const variable of dashboard.templating?.list ?? [])
    if (typeof variable.query === 'string')
      uses.push(...usesInPromQL(variable.query, `dashboard variable ${variable.name}`));
  return uses;
}

function ruleUses(): MetricUse[] {
  // The rule file's expressions: `expr: ...` on one line, or a folded block (`expr: >-`) below it.
  const lines = read('ops/prometheus/rules.yml').split('\n');
  const uses: MetricUse[] = [];
  let alert = '';
  lines.forEach((line, i) => {
    const name = /^\s*- alert:\s*(\S+)/.exec(line);
    if (name) alert = name[1];
    const expr = /^(\s*)expr:\s*(.*)$/.exec(line);
    if (!expr) return;
    let text = expr[2];
    if (/^[>|]-?$/.test(text.trim())) {
      text = '';
      for (let j = i + 1; j < lines.length && /^\s/.test(lines[j]) && !/^\s*\w+:/.test(lines[j]); j++)
        text += ` ${lines[j].trim()}`;
    }
    uses.push(...usesInPromQL(text, `rule ${alert}`));
  });
  return uses;
}

/** Metrics quoted in a Markdown file, with the labels in their braces or named by "`metric` by label". */
function docUses(file: string): MetricUse[] {
  const text = read(file);
  const uses: MetricUse[] = [];
  for (const [, name, braces] of text.matchAll(/\b(poa_sieve_[a-zA-Z0-9_]+)(?:\{([^}]*)\})?/g))
    uses.push({ where: file, name, labels: labelsInBraces(braces) });
  for (const [, name, label] of text.matchAll(/`(poa_sieve_[a-zA-Z0-9_]+)[^`]*` by `?([a-z_]+)`?/g))
    uses.push({ where: `${file} ("by ${label}")`, name, labels: [label] });
  return uses;
}

describe('metric names in the dashboard, the alert rules and the docs exist on the running server', () => {
  let t: TestApp;
  /** Every series name /metrics may carry, histograms' and summaries' parts included. */
  const exposed = new Set<string>();
  /** The label names of each series name, from the metrics registry. */
  const labelsOf = new Map<string, Set<string>>();

  beforeAll(async () => {
    t = await startTestApp();
    const text = await (await fetch(`${t.url}/metrics`)).text();
    for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      exposed.add(name);
      if (type === 'histogram') for (const part of ['_bucket', '_sum', '_count']) exposed.add(name + part);
      if (type === 'summary') for (const part of ['_sum', '_count']) exposed.add(name + part);
    }
    // The registry's own metric objects know their label names even before they have samples.
    for (const metric of t.app.metrics.registry.getMetricsAsArray()) {
      const { name, labelNames = [] } = metric as unknown as { name: string; labelNames?: string[] };
      for (const series of [name, `${name}_sum`, `${name}_count`]) labelsOf.set(series, new Set(labelNames));
      labelsOf.set(`${name}_bucket`, new Set([...labelNames, 'le']));
    }
  });
  afterAll(() => t?.stop());

  /** What is wrong with each use: a name not exposed, or a label that none of its metrics has. */
  function problems(uses: readonly MetricUse[]): string[] {
    const out: string[] = [];
    for (const use of uses) {
      const names = use.name.split('|');
      for (const name of names)
        if (!exposed.has(name)) out.push(`${use.where}: ${name} is not exposed at /metrics`);
      for (const label of use.labels) {
        if (TARGET_LABELS.has(label)) continue;
        if (!names.some((n) => labelsOf.get(n)?.has(label)))
          out.push(`${use.where}: label "${label}" is not a label of ${names.join(' or ')}`);
      }
    }
    return [...new Set(out)];
  }

  test('the parsers find what they look for (so an empty result means something)', () => {
    expect(dashboardUses().length).toBeGreaterThan(20);
    expect(ruleUses().map((u) => u.where)).toContain('rule PoaSieveConsumerLagging');
    expect(docUses('docs/OPERATIONS.md').length).toBeGreaterThan(20);
    expect(labelsOf.get('poa_sieve_dno_outbox_lag')).toEqual(new Set(['distributor_id']));
    expect(
      problems([{ where: 'x', name: 'poa_sieve_graphql_duration_seconds', labels: ['operation'] }]),
    ).toHaveLength(1);
  });

  test('the Grafana dashboard', () => {
    expect(problems(dashboardUses())).toEqual([]);
  });

  test('the alert rules', () => {
    expect(problems(ruleUses())).toEqual([]);
  });

  test('README.md and docs/*.md, the runbook included', () => {
    const files = ['README.md', ...fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md'))];
    const uses = files.flatMap((f) => docUses(f === 'README.md' ? f : `docs/${f}`));
    expect(problems(uses)).toEqual([]);
  });
});
