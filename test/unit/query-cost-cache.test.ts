import fc from 'fast-check';
import { buildSchema, parse } from 'graphql';
import type { DocumentNode } from 'graphql';
import { QueryTooComplexError } from '../../src/domain/errors';
import { checkQueryLimits, operationCost } from '../../src/schema/limits';

/** What checkQueryLimits answers (a cost when refused), and what pricing alone says it must. */
function answer(document: DocumentNode, variables: Record<string, unknown>, limit: number) {
  try {
    checkQueryLimits(schema, document, { maxDepth: 10, maxComplexity: limit }, undefined, variables);
    return 'passed';
  } catch (error) {
    if (error instanceof QueryTooComplexError)
      return `refused at ${JSON.stringify({ cost: error.details.cost, limit: error.details.limit })}`;
    throw error;
  }
}
function expected(document: DocumentNode, variables: Record<string, unknown>, limit: number) {
  const cost = operationCost(schema, document, undefined, variables, Math.max(limit, 1000));
  return cost !== undefined && cost > limit ? `refused at ${JSON.stringify({ cost, limit })}` : 'passed';
}

// A paged field (`first`), a federation-style `_entities` and a scalar field: every rule that
// prices an operation differently by its variables.
const schema = buildSchema(`
  scalar _Any
  type Alert { id: ID! device: Device }
  type Device { guid: ID! alerts(first: Int): [Alert!]! }
  type Query {
    alerts(first: Int): [Alert!]!
    device(guid: ID!): Device
    _entities(representations: [_Any!]!): [Device]!
  }
`);

const DOCUMENTS = [
  'query ($n: Int) { alerts(first: $n) { id device { guid } } }',
  'query ($n: Int = 7, $m: Int) { alerts(first: $n) { id device { alerts(first: $m) { id } } } }',
  'query ($g: ID!, $n: Int, $full: Boolean!) { device(guid: $g) { guid alerts(first: $n) { id device @include(if: $full) { guid } } } }',
  'query ($r: [_Any!]!) { _entities(representations: $r) { guid alerts { id } } }',
  'query ($g: ID!, $skip: Boolean!) { device(guid: $g) @skip(if: $skip) { guid } alerts { id } }',
].map((text) => parse(text));

const variables = fc.record(
  {
    n: fc.oneof(fc.integer({ min: -5, max: 700 }), fc.constant(null), fc.constant('ten')),
    m: fc.integer({ min: 1, max: 80 }),
    g: fc.constantFrom('a', 'b'),
    full: fc.boolean(),
    skip: fc.boolean(),
    r: fc.array(fc.record({ __typename: fc.constant('Device'), guid: fc.string() }), { maxLength: 12 }),
  },
  { requiredKeys: [] },
);

test('a document checked before gets the answer pricing gives: any variables, any order, any limit', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(
          fc.integer({ min: 0, max: DOCUMENTS.length - 1 }),
          variables,
          fc.constantFrom(50, 200, 1000),
        ),
        { maxLength: 40 },
      ),
      (calls) => {
        for (const [d, vars, limit] of calls) {
          expect(answer(DOCUMENTS[d], vars, limit)).toBe(expected(DOCUMENTS[d], vars, limit));
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('a page within the limit, then a larger one over it: the larger is refused', () => {
  const [paged] = DOCUMENTS;
  expect(answer(paged, { n: 10 }, 100)).toBe('passed');
  expect(answer(paged, { n: 10 }, 100)).toBe('passed');
  expect(answer(paged, { n: 50 }, 100)).toBe(expected(paged, { n: 50 }, 100));
  expect(answer(paged, { n: 50 }, 100)).toMatch(/^refused/);
});

test('@include(if: $x) and representations decide the answer, not the first call', () => {
  const [, , included, entities] = DOCUMENTS;
  const full = { g: 'a', n: 40, full: true };
  const bare = { g: 'a', n: 40, full: false };
  expect(answer(included, bare, 100)).toBe('passed');
  expect(answer(included, full, 100)).toMatch(/^refused/);
  const rep = (n: number) => Array.from({ length: n }, (_, i) => ({ __typename: 'Device', guid: `g${i}` }));
  expect(answer(entities, { r: rep(2) }, 300)).toBe('passed');
  expect(answer(entities, { r: rep(30) }, 300)).toMatch(/^refused/);
});

test('invalid variables after valid ones: let through to execution, as pricing does', () => {
  const [, , included] = DOCUMENTS;
  expect(answer(included, { g: 'a', n: 5, full: true }, 1000)).toBe('passed');
  // $g is required: unpriceable, so execution refuses it with BAD_USER_INPUT.
  expect(answer(included, { n: 5, full: true }, 1000)).toBe('passed');
});
