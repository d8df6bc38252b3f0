import fs from 'node:fs';
import path from 'node:path';

/**
 * docs/CONSUMERS.md shows the code of test/support/dno-client.ts, which test/e2e/consumer.test.ts
 * runs: each `<!-- snippet: name -->` block must be that file's `// #region name`, word for word.
 */
const root = path.join(__dirname, '..', '..');
const source = fs.readFileSync(path.join(root, 'test/support/dno-client.ts'), 'utf8');
const guide = fs.readFileSync(path.join(root, 'docs/CONSUMERS.md'), 'utf8');

const regions = new Map(
  [...source.matchAll(/\/\/ #region ([\w-]+)\n([\s\S]*?)\/\/ #endregion/g)].map((m) => [m[1], m[2]]),
);
const snippets = [...guide.matchAll(/<!-- snippet: ([\w-]+) -->\n\n```ts\n([\s\S]*?)```/g)].map((m) => ({
  name: m[1],
  code: m[2],
}));

test('every snippet of the guide is the code the consumer test runs', () => {
  expect(snippets.length).toBeGreaterThan(0);
  for (const { name, code } of snippets) {
    expect(regions.has(name)).toBe(true);
    expect(code).toBe(regions.get(name));
  }
});

test('every region of the consumer code is in the guide, and the guide has no other TypeScript', () => {
  expect(snippets.map((s) => s.name).sort()).toEqual([...regions.keys()].sort());
  expect(guide.match(/```ts/g)?.length).toBe(snippets.length);
});
