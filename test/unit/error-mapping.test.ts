import { GraphQLError, parse } from 'graphql';
import { loadConfig } from '../../src/config';
import { classify, createErrorFormatter } from '../../src/schema/errors';
import { operationDepth } from '../../src/schema/limits';

/**
 * What a client is told when something below the resolvers fails: database errors caused by input
 * are BAD_USER_INPUT, a lost database is UNAVAILABLE wherever the error surfaces (a resolver, or
 * mid-stream in a subscription, where graphql-ws wraps it without a path), and no driver text
 * leaves the server outside an explicit NODE_ENV=development.
 */

const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });
const format = createErrorFormatter(false, () => undefined);
const formatted = (error: unknown) => {
  const wrapper =
    error instanceof GraphQLError ? error : new GraphQLError('wrapped', { originalError: error as Error });
  return format(wrapper.toJSON(), wrapper);
};

describe('error mapping', () => {
  test.each([
    ['22008', 'date/time field value out of range: "2026-02-30"', 'INVALID_DATE_TIME'],
    ['22021', 'invalid byte sequence for encoding "UTF8": 0x00', 'INVALID_CHARACTERS'],
    ['22003', 'value "9999999999999999999" is out of range for type bigint', 'NUMBER_OUT_OF_RANGE'],
    ['22P02', 'invalid input syntax for type bigint: "{"1"}"', 'INVALID_VALUE'],
    ['23503', 'insert or update on table "x" violates foreign key constraint', 'UNKNOWN_REFERENCE'],
    ['23514', 'new row for relation "x" violates check constraint', 'CONSTRAINT_VIOLATED'],
  ])('SQLSTATE %s (%s) is BAD_USER_INPUT/%s, without the driver text', (code, message, reason) => {
    expect(classify(pgError(code, message))).toEqual({ code: 'BAD_USER_INPUT', extensions: { reason } });
    const out = formatted(pgError(code, message));
    expect(out.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason });
    expect(out.message).not.toContain(message);
  });

  test('a terminated connection thrown mid-stream (wrapped by graphql-ws, no path) is UNAVAILABLE, not INTERNAL', () => {
    const terminated = pgError('57P01', 'terminating connection due to administrator command');
    // graphql-ws wraps what the iterator threw in a GraphQLError without a path.
    const midStream = new GraphQLError(terminated.message, { originalError: terminated });
    expect(formatted(midStream)).toMatchObject({
      message: 'the database is unavailable; retry',
      extensions: { code: 'UNAVAILABLE', retryable: true },
    });
    const lost = new GraphQLError('Connection terminated unexpectedly', {
      originalError: new Error('Connection terminated unexpectedly'),
    });
    expect(formatted(lost).extensions).toMatchObject({ code: 'UNAVAILABLE' });
  });

  test.each([
    ['57P01', 'terminating connection due to administrator command'],
    ['57P03', 'the database system is starting up'],
    ['25006', 'cannot execute INSERT in a read-only transaction'],
    ['08006', 'connection failure'],
  ])('SQLSTATE %s (%s: a failover) is UNAVAILABLE and retryable', (code, message) => {
    expect(classify(pgError(code, message))).toEqual({
      code: 'UNAVAILABLE',
      extensions: { retryable: true },
    });
  });

  test.each([
    ['40P01', 'deadlock detected'],
    ['40001', 'could not serialize access due to concurrent update'],
  ])('SQLSTATE %s (%s, retries spent) is UNAVAILABLE, retryable, TRANSACTION_CONFLICT', (code, message) => {
    expect(classify(pgError(code, message))).toEqual({
      code: 'UNAVAILABLE',
      extensions: { retryable: true, reason: 'TRANSACTION_CONFLICT' },
    });
  });

  test('internal error text is shown only with NODE_ENV=development set explicitly', () => {
    const base = { AUTH_JWT_SECRET: 'x'.repeat(40) };
    expect(loadConfig(base).exposeInternalErrors).toBe(false);
    expect(loadConfig({ ...base, NODE_ENV: '' }).exposeInternalErrors).toBe(false);
    expect(loadConfig({ ...base, NODE_ENV: 'production' }).exposeInternalErrors).toBe(false);
    expect(loadConfig({ ...base, NODE_ENV: 'development' }).exposeInternalErrors).toBe(true);
  });
});

describe('operation depth', () => {
  test('counts nested selection sets, through fragments, without introspection fields', () => {
    expect(operationDepth(parse('{ a }'))).toBe(0);
    expect(operationDepth(parse('{ a { b } }'))).toBe(1);
    expect(operationDepth(parse('{ a { ...F } } fragment F on T { b { c } }'))).toBe(2);
    expect(operationDepth(parse('{ a { ... on T { b { c { d } } } } }'))).toBe(3);
    expect(operationDepth(parse('{ __schema { types { fields { name } } } a }'))).toBe(0);
  });

  test('a fragment bomb of 40 levels (2^39 paths) is measured by its text (a path walk would never end)', () => {
    const n = 40;
    const fragments = Array.from({ length: n }, (_, i) =>
      i === n - 1 ? `fragment F${i} on T { id }` : `fragment F${i} on T { p { ...F${i + 1} ...F${i + 1} } }`,
    ).join('\n');
    expect(operationDepth(parse(`{ a { ...F0 } }\n${fragments}`))).toBe(n);
  });
});
