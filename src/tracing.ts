import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, context, trace } from '@opentelemetry/api';
import type { Attributes, Context, Link, Span, SpanContext } from '@opentelemetry/api';

/**
 * Tracing as the rest of the service sees it: the OpenTelemetry API only, which is a no-op
 * until src/tracing-sdk.ts registers a provider (OTEL_TRACES_EXPORTER / OTEL_EXPORTER_OTLP_ENDPOINT).
 * Hot paths ask `tracingOn()` first, so with tracing off they pay one boolean test, not even
 * the no-op API's allocations.
 *
 * An AD1's trace outlives the request that brought it: its trace context is stored with it
 * (`alert.trace_parent`, a W3C traceparent) and every later span about it, minutes later and on
 * any instance, is started under it (`parentFor`).
 */

export { SpanKind };
export type { Attributes, Context };

let on = false;

/** Whether a tracer provider is registered (set by src/tracing-sdk.ts only). */
export function tracingOn(): boolean {
  return on;
}

/** For src/tracing-sdk.ts: tracing has started or stopped. */
export function setTracingOn(value: boolean): void {
  on = value;
}

/** The service's tracer (looked up each time: a provider registered later is picked up). */
export function tracer() {
  return trace.getTracer('poa-sieve');
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** A span context as a W3C `traceparent` (version 00); null for none or an invalid one. */
export function traceParentOf(spanContext: SpanContext | undefined): string | null {
  if (!spanContext || !trace.isSpanContextValid(spanContext)) return null;
  const flags = (spanContext.traceFlags & TraceFlags.SAMPLED).toString(16).padStart(2, '0');
  return `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
}

/** The `traceparent` of the span a captured context holds (null: none). */
export function traceParentIn(ctx: Context | undefined): string | null {
  return ctx ? traceParentOf(trace.getSpanContext(ctx)) : null;
}

/** A stored `traceparent` as a remote span context; undefined when absent or malformed. */
export function parseTraceParent(value: string | null | undefined): SpanContext | undefined {
  const match = value ? TRACEPARENT.exec(value) : null;
  if (!match) return undefined;
  const spanContext: SpanContext = {
    traceId: match[1],
    spanId: match[2],
    traceFlags: parseInt(match[3], 16) & TraceFlags.SAMPLED,
    isRemote: true,
  };
  return trace.isSpanContextValid(spanContext) ? spanContext : undefined;
}

/**
 * Where a span about something with a stored trace (an AD1, a verification request) belongs:
 * under the span active now when that is already in the same trace (the answer that re-decides
 * the AD1 it asked about); otherwise under the stored context, linked to the active span (the
 * timer pass or the other request that caused it). Without a stored context: the active one.
 */
export function parentFor(stored: string | null | undefined): { context: Context; links: Link[] } {
  const active = context.active();
  const remote = parseTraceParent(stored);
  if (!remote) return { context: active, links: [] };
  const current = trace.getSpanContext(active);
  if (current && current.traceId === remote.traceId) return { context: active, links: [] };
  return {
    context: trace.setSpanContext(ROOT_CONTEXT, remote),
    links: current && trace.isSpanContextValid(current) ? [{ context: current }] : [],
  };
}

/** Starts a span under `parent` (default: the active context), with links and attributes. */
export function startSpan(
  name: string,
  attributes: Attributes,
  parent: { context: Context; links?: Link[] } = { context: context.active() },
  kind: SpanKind = SpanKind.INTERNAL,
): Span {
  return tracer().startSpan(name, { kind, attributes, links: parent.links }, parent.context);
}

/**
 * Runs `work` inside a new span (active while it runs), which records a thrown error and ends
 * when `work` settles. `describe` gives the span's attributes and parent; with tracing off it is
 * not called, and only `work` runs.
 */
export async function inSpan<T>(
  name: string,
  describe: () => { attributes: Attributes; parent?: { context: Context; links?: Link[] } },
  work: () => Promise<T>,
): Promise<T> {
  if (!on) return work();
  const { attributes, parent } = describe();
  const span = startSpan(name, attributes, parent);
  try {
    return await context.with(trace.setSpan(parent?.context ?? context.active(), span), work);
  } catch (error) {
    failed(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** Marks a span failed with the error (its class and message; no stack, no values). */
export function failed(span: Span, error: unknown): void {
  const err = error instanceof Error ? error : new Error(String(error));
  span.recordException({ name: err.name, message: err.message });
  span.setStatus({ code: SpanStatusCode.ERROR, message: err.message.slice(0, 200) });
}

/** The context `value` (a captured Context) carries, as a link; none for a span-less one. */
export function linkOf(value: Context | undefined): Link[] {
  const spanContext = value ? trace.getSpanContext(value) : undefined;
  return spanContext && trace.isSpanContextValid(spanContext) ? [{ context: spanContext }] : [];
}

/** A parent for spans under `span` (wherever it is active). */
export function under(span: Span): { context: Context } {
  return { context: trace.setSpan(ROOT_CONTEXT, span) };
}

/** The context active now, when tracing is on (to hand work over to a later run). */
export function capturedContext(): Context | undefined {
  return on ? context.active() : undefined;
}

/**
 * Runs background work outside whatever trace started it: a timer loop started (or woken) from
 * a request would otherwise carry that request's context into every later pass.
 */
export function detached<T>(work: () => T): T {
  return on ? context.with(ROOT_CONTEXT, work) : work();
}
