import { buildSchema, parse } from 'graphql';
import type { ExecutionResult } from 'graphql';
import { subscribeSharingEvents } from '../../src/realtime/shared-events';
import type { SharedEvent } from '../../src/realtime/shared-events';

/**
 * Subscription events executed once per (event, selection, read scope) and shared: the DNO
 * streams rely on it so that a message costs one execution per DNO, not one per subscriber.
 */
const schema = buildSchema(`
  type Query { ok: Boolean }
  type Event { id: String, detail(upper: Boolean): String, viewer: String }
  type Subscription { events(after: String): Event }
`);

interface Payload extends SharedEvent {
  readonly id: string;
}

/** A source that yields the given payloads, and counts executions of the event's fields. */
function setup(payloads: readonly Payload[]) {
  const executions = { count: 0 };
  const rootValue = {
    events: () => ({
      async *[Symbol.asyncIterator]() {
        for (const p of payloads) yield p;
      },
    }),
  };
  // The resolvers see the event as the root of the Event type.
  const fieldResolver = (
    source: unknown,
    args: Record<string, unknown>,
    context: unknown,
    info: { fieldName: string },
  ) => {
    if (info.fieldName === 'events') return source;
    const event = source as Payload;
    if (info.fieldName === 'id') {
      executions.count++;
      return event.id;
    }
    if (info.fieldName === 'detail') return args.upper ? event.id.toUpperCase() : event.id;
    if (info.fieldName === 'viewer') return (context as { scope: string }).scope;
    return null;
  };
  return { executions, rootValue, fieldResolver };
}

async function collect(
  subscribe: ReturnType<typeof subscribeSharingEvents>,
  args: {
    query: string;
    variables?: Record<string, unknown>;
    scope: string;
    rootValue: unknown;
    fieldResolver: unknown;
  },
): Promise<ExecutionResult[]> {
  const stream = await subscribe({
    schema,
    document: parse(args.query),
    variableValues: args.variables,
    contextValue: { scope: args.scope },
    rootValue: args.rootValue,
    fieldResolver: args.fieldResolver as never,
  });
  if (!(Symbol.asyncIterator in stream)) throw new Error(JSON.stringify(stream));
  const out: ExecutionResult[] = [];
  for await (const result of stream) out.push(result);
  return out;
}

describe('subscribeSharingEvents', () => {
  const shared = { a: {}, b: {} };
  const payloads: Payload[] = [
    { id: 'a', sharedBy: shared.a, sharedKey: '1' },
    { id: 'b', sharedBy: shared.b, sharedKey: '1' },
  ];
  const QUERY =
    'subscription ($after: String, $upper: Boolean) { events(after: $after) { id detail(upper: $upper) viewer } }';

  test('subscribers with the same selection and scope share each event: one execution', async () => {
    const { executions, rootValue, fieldResolver } = setup(payloads);
    const subscribe = subscribeSharingEvents((c) => (c as { scope: string }).scope);
    const first = await collect(subscribe, {
      query: QUERY,
      variables: { after: '0' },
      scope: 'ED|12',
      rootValue,
      fieldResolver,
    });
    // A different `after` only chooses the stream: the events are still shared.
    const second = await collect(subscribe, {
      query: QUERY,
      variables: { after: '7' },
      scope: 'ED|12',
      rootValue,
      fieldResolver,
    });
    expect(second).toEqual(first);
    expect(executions.count).toBe(2);
  });

  test('another scope, or another value of a variable the selection uses, executes again', async () => {
    const { executions, rootValue, fieldResolver } = setup(payloads);
    const subscribe = subscribeSharingEvents((c) => (c as { scope: string }).scope);
    const dno = await collect(subscribe, { query: QUERY, scope: 'ED|12', rootValue, fieldResolver });
    const other = await collect(subscribe, { query: QUERY, scope: 'ED|13', rootValue, fieldResolver });
    const upper = await collect(subscribe, {
      query: QUERY,
      variables: { upper: true },
      scope: 'ED|12',
      rootValue,
      fieldResolver,
    });
    expect(executions.count).toBe(6);
    expect(dno[0].data).toEqual({ events: { id: 'a', detail: 'a', viewer: 'ED|12' } });
    expect(other[0].data).toEqual({ events: { id: 'a', detail: 'a', viewer: 'ED|13' } });
    expect(upper[0].data).toEqual({ events: { id: 'a', detail: 'A', viewer: 'ED|12' } });
  });

  test('events that are not SharedEvents, or a scope of null, are executed for each subscriber', async () => {
    const plain = [{ id: 'a' }, { id: 'b' }] as unknown as Payload[];
    const { executions, rootValue, fieldResolver } = setup(plain);
    const subscribe = subscribeSharingEvents(() => 'same');
    await collect(subscribe, { query: QUERY, scope: 'x', rootValue, fieldResolver });
    await collect(subscribe, { query: QUERY, scope: 'x', rootValue, fieldResolver });
    expect(executions.count).toBe(4);
    const unscoped = setup(payloads);
    const never = subscribeSharingEvents(() => null);
    await collect(never, {
      query: QUERY,
      scope: 'x',
      rootValue: unscoped.rootValue,
      fieldResolver: unscoped.fieldResolver,
    });
    await collect(never, {
      query: QUERY,
      scope: 'x',
      rootValue: unscoped.rootValue,
      fieldResolver: unscoped.fieldResolver,
    });
    expect(unscoped.executions.count).toBe(4);
  });

  test('a result with errors is not handed to the next subscriber', async () => {
    let failing = true;
    const { rootValue } = setup(payloads);
    const fieldResolver = (
      source: unknown,
      _args: unknown,
      _context: unknown,
      info: { fieldName: string },
    ) => {
      if (info.fieldName === 'events') return source;
      if (info.fieldName === 'id' && failing) throw new Error('database away');
      return (source as Payload).id;
    };
    const subscribe = subscribeSharingEvents(() => 'same');
    const query = 'subscription { events { id } }';
    const failed = await collect(subscribe, { query, scope: 'x', rootValue, fieldResolver });
    expect(failed[0].errors?.[0].message).toBe('database away');
    failing = false;
    const next = await collect(subscribe, { query, scope: 'x', rootValue, fieldResolver });
    expect(next[0]).toEqual({ data: { events: { id: 'a' } } });
  });

  test('return() ends a stream that waits for its next event at once', async () => {
    let finished = false;
    const rootValue = {
      events: () => ({
        [Symbol.asyncIterator]: () => ({
          next: () => new Promise<IteratorResult<unknown>>(() => undefined),
          return: async () => {
            finished = true;
            return { value: undefined, done: true as const };
          },
        }),
      }),
    };
    const subscribe = subscribeSharingEvents(() => 'same');
    const stream = await subscribe({ schema, document: parse('subscription { events { id } }'), rootValue });
    if (!(Symbol.asyncIterator in stream)) throw new Error('no stream');
    const iterator = stream[Symbol.asyncIterator]();
    void iterator.next();
    await iterator.return?.();
    expect(finished).toBe(true);
  });
});
