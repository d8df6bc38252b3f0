import { z } from 'zod';

/**
 * The OpenTelemetry settings, under their standard names, as part of config.ts's schema (kept
 * apart only for its size). Tracing is off unless asked for: OTEL_TRACES_EXPORTER=otlp, or an
 * OTLP endpoint set without OTEL_TRACES_EXPORTER. OTEL_SDK_DISABLED=true and
 * OTEL_TRACES_EXPORTER=none turn it off whatever else is set. Spans go over OTLP/HTTP with JSON
 * bodies; another protocol is refused rather than silently not used.
 */
export const TRACING_ENV = {
  OTEL_SDK_DISABLED: z.enum(['true', 'false']).optional(),
  OTEL_TRACES_EXPORTER: z
    .enum(['otlp', 'none'], 'otlp or none (other exporters are not built in)')
    .optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: z
    .enum(['http/json'], 'only http/json (OTLP over HTTP with JSON bodies) is built in')
    .optional(),
  OTEL_SERVICE_NAME: z.string().min(1).default('poa-sieve'),
  /**
   * Apollo's federated trace (`extensions.ftv1`) for a router that sends
   * `apollo-federation-include-trace: ftv1`: resolver timings anyone could ask for with that
   * header, so default on, but off when NODE_ENV=production unless set.
   */
  GRAPHQL_INLINE_TRACE: z.enum(['true', 'false', '1', '0', 'yes', 'no']).optional(),
};

type TracingEnv = z.output<z.ZodObject<typeof TRACING_ENV>>;

export interface TracingSettings {
  /** Whether an SDK is started at all; off: the OpenTelemetry API's no-ops only. */
  readonly enabled: boolean;
  /** `service.name` of every span. */
  readonly serviceName: string;
  /** Where spans are POSTed (OTLP/HTTP JSON). */
  readonly tracesUrl: string;
  /** Apollo's federated trace (`extensions.ftv1`, errors masked) to callers that send the router's header. */
  readonly inlineTrace: boolean;
}

/** The tracing settings of a parsed environment. */
export function tracingSettings(e: TracingEnv & { readonly NODE_ENV?: string }): TracingSettings {
  const endpoint = e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? e.OTEL_EXPORTER_OTLP_ENDPOINT;
  const asked = e.OTEL_TRACES_EXPORTER === 'otlp' || (e.OTEL_TRACES_EXPORTER === undefined && !!endpoint);
  return {
    enabled: e.OTEL_SDK_DISABLED !== 'true' && asked,
    serviceName: e.OTEL_SERVICE_NAME,
    // The signal-specific endpoint is used as given; the general one gets the traces path
    // appended, as the OTLP exporter specification says.
    tracesUrl:
      e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
      `${(e.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://localhost:4318').replace(/\/+$/, '')}/v1/traces`,
    inlineTrace:
      e.GRAPHQL_INLINE_TRACE === undefined
        ? e.NODE_ENV !== 'production'
        : ['true', '1', 'yes'].includes(e.GRAPHQL_INLINE_TRACE),
  };
}
