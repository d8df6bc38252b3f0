import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The consumer examples' typed documents (test/support/generated/operations.ts) are what GraphQL
 * Code Generator makes of the checked-in schema and docs/examples/consumer/*.graphql today: a
 * schema change that breaks an example's selection fails here, and `npm run codegen` refreshes them.
 * The generator runs in a process of its own (it loads ES modules, which jest's sandbox does not).
 */
const root = path.join(__dirname, '..', '..');
const GENERATE = `
  const { generate } = require('@graphql-codegen/cli');
  const config = require('./codegen.ts').default;
  generate({ ...config, cwd: process.cwd(), silent: true }, false).then((outputs) =>
    process.stdout.write(JSON.stringify(outputs.map((o) => ({ filename: o.filename, content: o.content })))),
  );`;

test('the generated documents are up to date with the schema and the example operations', () => {
  const outputs = JSON.parse(
    execFileSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', GENERATE], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '' },
    }),
  ) as { filename: string; content: string }[];
  expect(outputs.map((o) => path.relative(root, path.resolve(root, o.filename)))).toEqual([
    'test/support/generated/operations.ts',
  ]);
  const onDisk = fs.readFileSync(path.join(root, 'test/support/generated/operations.ts'), 'utf8');
  expect(outputs[0].content).toBe(onDisk);
  expect(onDisk).toContain('DnoAlertsDocument');
});
