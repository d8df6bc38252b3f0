import fs from 'node:fs';
import path from 'node:path';
import { Kind, buildSchema, parse, validate } from 'graphql';

/**
 * Every ```graphql block of the README and docs/ that holds an operation is valid against the
 * checked-in schema: a renamed field or argument fails here before a reader copies it. (Blocks of
 * type definitions, such as another subgraph's SDL, are only parsed.)
 */
const root = path.join(__dirname, '..', '..');
const schema = buildSchema(
  [
    fs.readFileSync(path.join(root, 'schema.graphql'), 'utf8'),
    fs.readFileSync(path.join(root, 'docs/examples/consumer/federation-directives.graphql'), 'utf8'),
  ].join('\n'),
);
const files = ['README.md', ...fs.readdirSync(path.join(root, 'docs')).map((f) => `docs/${f}`)].filter((f) =>
  f.endsWith('.md'),
);
const blocks = files.flatMap((file) =>
  [...fs.readFileSync(path.join(root, file), 'utf8').matchAll(/```graphql\n([\s\S]*?)```/g)].map(
    (m, i): [string, string] => [`${file} #${i + 1}`, m[1]],
  ),
);

// The example operations kept as files (the consumer's ones are also compiled by codegen).
const exampleFiles = (dir: string): string[] =>
  fs
    .readdirSync(path.join(root, dir), { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory()
        ? exampleFiles(`${dir}/${e.name}`)
        : e.name.endsWith('.graphql')
          ? [`${dir}/${e.name}`]
          : [],
    );
for (const file of exampleFiles('docs/examples'))
  blocks.push([file, fs.readFileSync(path.join(root, file), 'utf8')]);

test('the docs have GraphQL examples to check', () => {
  expect(blocks.length).toBeGreaterThan(3);
});

test.each(blocks)('%s is valid against schema.graphql', (_where, text) => {
  const document = parse(text);
  if (!document.definitions.some((d) => d.kind === Kind.OPERATION_DEFINITION)) return;
  expect(validate(schema, document).map((e) => e.message)).toEqual([]);
});
