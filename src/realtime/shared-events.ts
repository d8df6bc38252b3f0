import { Kind, createSourceEventStream, execute, getOperationAST, print, visit } from 'graphql';
import type { ASTNode, DocumentNode, ExecutionArgs, ExecutionResult } from 'graphql';
import { SpanKind, failed, parentFor, startSpan, traceParentOf, tracingOn } from '../tracing';
import type { Attributes } from '../tracing';

/**
 * A subscription event that subscribers may share the execution of: every subscriber handed an
 * event with the same `sharedBy` object and `sharedKey` gets the same result for the same
 * selection, as long as they read the same things. An event type opts in by carrying these; its
 * root field's resolver must then not depend on the field's arguments (they only choose the
 * stream), nor on anything of the caller but what `readScope` keys.
 */
export interface SharedEvent {
  readonly sharedBy: object;
  readonly sharedKey: string;
  /** Where the event comes from in a trace, when it does: see EventDelivery. */
  readonly delivery?: EventDelivery;
}

/**
 * An event that continues a trace (tracing on): each subscriber's delivery of it is a span
 * `spanName` under `traceParent`, and its result carries that span's own W3C traceparent in
 * `extensions.traceparent`, for the consumer to go on from. Shared executions stay shared: the
 * span and the extension are per subscriber.
 */
export interface EventDelivery {
  readonly traceParent: string;
  readonly spanName: string;
  readonly attributes: Attributes;
}

function isSharedEvent(value: unknown): value is SharedEvent {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as SharedEvent).sharedBy === 'object' &&
    typeof (value as SharedEvent).sharedKey === 'string'
  );
}

/**
 * graphql-ws's `subscribe`: graphql-js's own (the source stream, then `execute` per event), except
 * that events which are SharedEvents are executed once per selection and read scope, and the
 * result is handed to every subscriber with the same. Five subscribers of one DNO asking for the
 * same fields cost one execution per message instead of five.
 *
 * `readScope` keys what a caller may read (two callers with the same key read the same things);
 * null means its events are not shared.
 */
export function subscribeSharingEvents(readScope: (contextValue: unknown) => string | null) {
  const results = new WeakMap<object, Map<string, Promise<ExecutionResult>>>();
  return async (args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> => {
    const stream = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in stream)) return stream;
    const scope = readScope(args.contextValue);
    const selection = scope === null ? null : selectionKey(args);
    const run = (payload: unknown): Promise<ExecutionResult> =>
      Promise.resolve(execute({ ...args, rootValue: payload }));
    const executeEvent = (payload: unknown): Promise<ExecutionResult> => {
      if (selection === null || !isSharedEvent(payload)) return run(payload);
      let byKey = results.get(payload.sharedBy);
      if (!byKey) {
        byKey = new Map();
        results.set(payload.sharedBy, byKey);
      }
      const key = `${scope}\u0000${payload.sharedKey}\u0000${selection}`;
      let result = byKey.get(key);
      if (!result) {
        result = run(payload);
        byKey.set(key, result);
        // A failed execution (the database went away mid-event) is not handed to the others.
        result.then(
          (r) => r.errors?.length && byKey!.delete(key),
          () => byKey!.delete(key),
        );
      }
      return result;
    };
    return mapEvents(stream, async (payload) => delivered(payload, await executeEvent(payload)));
  };
}

/** The result as this subscriber gets it: with its delivery span's traceparent, when traced. */
function delivered(payload: unknown, result: ExecutionResult): ExecutionResult {
  const delivery = (payload as { delivery?: EventDelivery } | null)?.delivery;
  if (!delivery || !tracingOn()) return result;
  const span = startSpan(
    delivery.spanName,
    delivery.attributes,
    parentFor(delivery.traceParent),
    SpanKind.PRODUCER,
  );
  if (result.errors?.length) failed(span, result.errors[0]);
  span.end();
  const traceparent = traceParentOf(span.spanContext());
  return traceparent ? { ...result, extensions: { ...result.extensions, traceparent } } : result;
}

/**
 * The events of `source`, each mapped. An explicit iterator, as graphql-js's own mapping is: an
 * async generator would hold a `return()` (a closed socket) until the source's pending `next()`
 * settled, and a quiet stream would keep its subscription open until its next message.
 */
function mapEvents(
  source: AsyncIterable<unknown>,
  map: (payload: unknown) => Promise<ExecutionResult>,
): AsyncIterableIterator<ExecutionResult> {
  const iterator = source[Symbol.asyncIterator]();
  const mapped: AsyncIterableIterator<ExecutionResult> = {
    async next() {
      const event = await iterator.next();
      if (event.done) return { value: undefined, done: true };
      return { value: await map(event.value), done: false };
    },
    async return() {
      await iterator.return?.();
      return { value: undefined, done: true };
    },
    async throw(error?: unknown) {
      if (iterator.throw) await iterator.throw(error);
      else await iterator.return?.();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return mapped;
    },
  };
  return mapped;
}

interface OperationShape {
  /** The document's text and the operation's name. */
  readonly text: string;
  /** The variables the events' results may depend on, sorted. */
  readonly variables: readonly string[];
}

const SELECTIONS = new WeakMap<DocumentNode, Map<string, OperationShape | null>>();

/**
 * What an event's result depends on in the request: the operation, and the values of the
 * variables it uses anywhere but in its root fields' arguments (those choose the stream, not
 * the event: `after` differs from subscriber to subscriber). Cached per document.
 */
function selectionKey(args: ExecutionArgs): string | null {
  const operationName = args.operationName ?? '';
  let byOperation = SELECTIONS.get(args.document);
  if (!byOperation) {
    byOperation = new Map();
    SELECTIONS.set(args.document, byOperation);
  }
  let shape = byOperation.get(operationName);
  if (shape === undefined) {
    shape = operationShape(args.document, args.operationName ?? undefined);
    byOperation.set(operationName, shape);
  }
  if (shape === null) return null;
  const values = shape.variables.map((name) => [name, args.variableValues?.[name] ?? null]);
  return `${shape.text}\u0000${JSON.stringify(values)}`;
}

/** The operation's text and the variables that matter to its events; null: no such operation. */
function operationShape(document: DocumentNode, operationName: string | undefined): OperationShape | null {
  const operation = getOperationAST(document, operationName);
  if (!operation) return null;
  const variables = new Set<string>();
  const collect = (node: ASTNode) =>
    visit(node, {
      Variable: (v) => {
        variables.add(v.name.value);
      },
    });
  for (const directive of operation.directives ?? []) collect(directive);
  for (const selection of operation.selectionSet.selections) {
    if (selection.kind !== Kind.FIELD) {
      collect(selection);
      continue;
    }
    for (const directive of selection.directives ?? []) collect(directive);
    if (selection.selectionSet) collect(selection.selectionSet);
  }
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) collect(definition);
  }
  return {
    text: `${document.loc?.source.body ?? print(document)}\u0000${operationName ?? ''}`,
    variables: [...variables].sort(),
  };
}
