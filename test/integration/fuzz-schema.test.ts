import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import {
  buildSchema,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  isLeafType,
} from 'graphql';
import type { GraphQLField, GraphQLInputType, GraphQLObjectType } from 'graphql';
import { startTestApp } from '../support/app';
import type { GqlBody, TestApp } from '../support/app';

/**
 * Every argument of every root query and mutation, every pagination cursor and every `_entities`
 * key, generated from schema.graphql (a field added later is fuzzed too): random and full-Unicode
 * strings, NUL bytes, SQL-ish text, huge and negative numbers, impossible dates, forged cursors
 * and values of the wrong kind, sent through variables as OPERATOR (who reaches every field) over
 * HTTP. No answer may be INTERNAL or an HTTP 5xx, and a call that fails writes nothing.
 */

const SDL = fs.readFileSync(path.join(__dirname, '../../schema.graphql'), 'utf8');
const SCHEMA = buildSchema(SDL, { assumeValidSDL: true });
const RUNS_PER_FIELD = 12;

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const NASTY = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\uD800',
  "'; DROP TABLE alert;--",
  "' OR '1'='1",
  '9999999999999999999',
  '-9223372036854775809',
  '1e400',
  'NaN',
  '2026-02-30T00:00:00Z',
  '0000-01-01T00:00:00Z',
  '+275760-09-13T00:00:00Z',
  '2026-13-01',
  '00-00-00-00-00-00-00-00',
  'FF-FF-FF-FF-FF-FF-FF-FF\u0000',
  '00000000-0000-0000-0000-000000000000',
  'x'.repeat(5_000),
  '💥'.repeat(100),
  b64(['2026-02-30T00:00:00.000Z', '1']),
  b64(['0000-01-01T00:00:00.000Z', '\u0000']),
  b64(['9999999999999999999']),
  b64([null, { $gt: 0 }]),
  b64('not a list'),
];
const nastyString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40, unit: 'binary' }) },
);
const nastyNumber = fc.constantFrom(0, -1, 2 ** 31, -(2 ** 31) - 1, 2 ** 53, 1e308, 3.5, -0.5);
const wrongKind = fc.constantFrom<unknown>(true, [], {}, [null], { a: 1 }, 12);

/** A hostile value for an input type: mostly of the right GraphQL kind, so it reaches our code. */
function valueFor(type: GraphQLInputType, depth = 0): fc.Arbitrary<unknown> {
  if (isNonNullType(type)) return valueFor(type.ofType, depth);
  if (isListType(type)) {
    return fc.oneof(
      { weight: 4, arbitrary: fc.array(valueFor(type.ofType, depth + 1), { minLength: 0, maxLength: 3 }) },
      { weight: 1, arbitrary: wrongKind },
    );
  }
  if (isInputObjectType(type)) {
    if (depth > 3) return fc.constant({});
    const fields = Object.values(type.getFields());
    return fc.oneof(
      {
        weight: 6,
        arbitrary: fc.record(Object.fromEntries(fields.map((f) => [f.name, valueFor(f.type, depth + 1)])), {
          requiredKeys: fields.filter((f) => isNonNullType(f.type)).map((f) => f.name),
        }),
      },
      { weight: 1, arbitrary: wrongKind },
    );
  }
  if (isEnumType(type)) {
    return fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...type.getValues().map((v) => v.name)) },
      { weight: 1, arbitrary: nastyString },
    );
  }
  if (isScalarType(type)) {
    if (type.name === 'Int' || type.name === 'Float') {
      return fc.oneof(nastyNumber, fc.integer(), { weight: 1, arbitrary: nastyString });
    }
    if (type.name === 'Boolean') return fc.oneof(fc.boolean(), { weight: 1, arbitrary: wrongKind });
    if (type.name === 'JSONObject') return fc.oneof(fc.object(), wrongKind);
    return fc.oneof({ weight: 6, arbitrary: nastyString }, { weight: 1, arbitrary: nastyNumber });
  }
  return fc.constant(null);
}

/** The smallest selection a field's result allows. */
const selectionOf = (field: GraphQLField<unknown, unknown>) =>
  isLeafType(getNamedType(field.type)) ? '' : '{ __typename }';

function operationFor(kind: 'query' | 'mutation', field: GraphQLField<unknown, unknown>): string {
  const vars = field.args.map((a) => `$${a.name}: ${a.type.toString()}`).join(', ');
  const args = field.args.map((a) => `${a.name}: $${a.name}`).join(', ');
  return `${kind}${vars ? ` (${vars})` : ''} { ${field.name}${args ? `(${args})` : ''} ${selectionOf(field)} }`;
}

const rootFields = (type: GraphQLObjectType | null | undefined) =>
  Object.values(type?.getFields() ?? {}).filter((f) => f.args.length > 0);
const QUERIES = rootFields(SCHEMA.getQueryType());
const MUTATIONS = rootFields(SCHEMA.getMutationType());
/** Entity types and their key fields, from the @key directives of the SDL. */
const ENTITIES = [...SDL.matchAll(/^type (\w+)(?: implements [\w& ]+)?\s+@key\(fields: "(\w+)"\)/gm)].map(
  (m) => [m[1], m[2]],
);

describe('fuzzing every argument, cursor and entity key of the schema', () => {
  let t: TestApp;
  let operator: string;
  let tables: string[];

  /** One number per table (rate-limit counters excepted): what a failed call must leave as it was. */
  const rowCounts = async (): Promise<Record<string, number>> => {
    const [row] = (await t.app.dataSource.query(
      `SELECT json_build_object(${tables.map((n) => `'${n}', (SELECT count(*) FROM "${n}")`).join(', ')}) AS counts`,
    )) as { counts: Record<string, number> }[];
    return row.counts;
  };
  /** Error reasons seen: proof that the values got past GraphQL's own checks into the service. */
  const reasons = new Map<string, number>();
  const noInternal = (status: number, body: GqlBody<unknown>, what: string) => {
    for (const e of body.errors ?? []) {
      const key = `${String(e.extensions?.code)}/${String(e.extensions?.reason ?? '')}`;
      reasons.set(key, (reasons.get(key) ?? 0) + 1);
    }
    const codes = (body.errors ?? []).map((e) => e.extensions?.code);
    if (status >= 500 || codes.includes('INTERNAL') || codes.includes(undefined)) {
      throw new Error(`${what}: HTTP ${status}, ${JSON.stringify(body.errors)}`);
    }
  };

  beforeAll(async () => {
    t = await startTestApp({ RATE_LIMIT_MUTATIONS_PER_MINUTE: '0', RATE_LIMIT_QUERIES_PER_MINUTE: '0' });
    operator = await t.token({ role: 'OPERATOR' });
    tables = (
      (await t.app.dataSource.query(
        `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
            AND c.relname NOT IN ('rate_limit')`,
      )) as { name: string }[]
    ).map((r) => r.name);
  });
  afterAll(() => t?.stop());

  test('the schema gives the fuzzer something to chew on', () => {
    expect(QUERIES.length).toBeGreaterThan(10);
    expect(MUTATIONS.length).toBeGreaterThan(10);
    expect(ENTITIES.map(([type]) => type).sort()).toEqual(
      ['Alert', 'Device', 'FirmwareActivation', 'FirmwareImage', 'NetworkOperator'].sort(),
    );
  });

  test.each(QUERIES.map((f) => [f.name, f] as const))('query %s', async (_name, field) => {
    const query = operationFor('query', field);
    const variables = fc.record(Object.fromEntries(field.args.map((a) => [a.name, valueFor(a.type)])));
    await fc.assert(
      fc.asyncProperty(variables, async (vars) => {
        const res = await t.gql(query, vars, operator);
        noInternal(res.status, res.body, `${query} ${JSON.stringify(vars).slice(0, 300)}`);
      }),
      { numRuns: RUNS_PER_FIELD },
    );
  });

  test.each(MUTATIONS.map((f) => [f.name, f] as const))('mutation %s', async (_name, field) => {
    const query = operationFor('mutation', field);
    const variables = fc.record(Object.fromEntries(field.args.map((a) => [a.name, valueFor(a.type)])));
    await fc.assert(
      fc.asyncProperty(variables, async (vars) => {
        const before = await rowCounts();
        const res = await t.gql(query, vars, operator);
        noInternal(res.status, res.body, `${query} ${JSON.stringify(vars).slice(0, 300)}`);
        if (res.body.errors?.length) expect(await rowCounts()).toEqual(before);
      }),
      { numRuns: RUNS_PER_FIELD },
    );
  });

  test('_entities with every key of every entity type', async () => {
    const query = 'query ($r: [_Any!]!) { _entities(representations: $r) { __typename } }';
    const representation = fc.oneof(
      {
        weight: 5,
        arbitrary: fc.constantFrom(...ENTITIES).chain(([type, key]) =>
          fc.record({
            __typename: fc.constant(type),
            [key]: valueFor(SCHEMA.getType('String') as GraphQLInputType),
          }),
        ),
      },
      { weight: 1, arbitrary: fc.record({ __typename: nastyString, id: nastyString }) },
      { weight: 1, arbitrary: wrongKind },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(representation, { minLength: 1, maxLength: 6 }), async (r) => {
        const res = await t.gql(query, { r }, operator);
        noInternal(res.status, res.body, `_entities ${JSON.stringify(r).slice(0, 300)}`);
      }),
      { numRuns: 60 },
    );
  });

  test('the values reached the service, not only GraphQL validation', () => {
    const domain = [...reasons.keys()].filter(
      (k) => !/GRAPHQL_|INVALID_VARIABLES|BAD_REQUEST/.test(k) && k.startsWith('BAD_USER_INPUT/'),
    );
    // Scalar and service parsers answered with their own reasons (INVALID_EUI64, INVALID_CURSOR...).
    // Random draws gave 9 or more distinct ones a run; 6 leaves room for chance, none would mean the
    // fuzzer only ever tripped GraphQL's own validation.
    expect(domain.length).toBeGreaterThanOrEqual(6);
  });
});
