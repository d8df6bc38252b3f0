import { context, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOnSampler,
  BatchSpanProcessor,
  NodeTracerProvider,
  ParentBasedSampler,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-node';
import type { SpanExporter } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { TracingSettings } from './config-tracing';
import { setTracingOn } from './tracing';

export type { SpanExporter };

/** A started tracer provider: flushes what it holds and unregisters itself on shutdown. */
export interface RunningTracing {
  shutdown(): Promise<void>;
}

const NOTHING_STARTED: RunningTracing = { shutdown: async () => undefined };

/**
 * Starts OpenTelemetry tracing when the settings ask for it; with tracing off nothing is
 * registered and the API stays the no-op one. Spans go to the OTLP/HTTP endpoint in batches,
 * or, when `exporter` is given (tests), straight to it. Only the W3C trace-context propagator is
 * registered (`traceparent`, `tracestate`). Sampling follows the caller's `traceparent` when it
 * has one and records everything else: the sampler is fixed here, not read from OTEL_TRACES_SAMPLER.
 */
export function startTracing(settings: TracingSettings, exporter?: SpanExporter): RunningTracing {
  if (!settings.enabled) return NOTHING_STARTED;
  const processor = exporter
    ? new SimpleSpanProcessor(exporter)
    : new BatchSpanProcessor(new OTLPTraceExporter({ url: settings.tracesUrl }));
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: settings.serviceName }),
    sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
    spanProcessors: [processor],
  });
  // Registers the AsyncLocalStorage context manager too: the active span follows awaits.
  provider.register({ propagator: new W3CTraceContextPropagator() });
  setTracingOn(true);
  let stopped: Promise<void> | undefined;
  return {
    shutdown: () =>
      (stopped ??= (async () => {
        setTracingOn(false);
        try {
          await provider.shutdown();
        } finally {
          trace.disable();
          propagation.disable();
          context.disable();
        }
      })()),
  };
}
