import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { EventStore } from '@dh/event-store';
import { traceHeaders } from '@dh/messaging';

let provider: BasicTracerProvider | null = null;

/**
 * OpenTelemetry for one process: W3C trace context propagation, the async context that carries the
 * active span through awaits, and spans with real ids (in logs and on every message). Spans are
 * exported over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (the exporter's standard variable;
 * its other `OTEL_EXPORTER_OTLP_*` settings apply); otherwise they only carry the context on.
 */
export function registerTracing(serviceName: string, env: NodeJS.ProcessEnv = process.env): BasicTracerProvider {
  if (provider) return provider;
  const spanProcessors: SpanProcessor[] = env.OTEL_EXPORTER_OTLP_ENDPOINT ? [new BatchSpanProcessor(new OTLPTraceExporter())] : [];
  provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': serviceName }), spanProcessors });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  return provider;
}

/**
 * Events appended inside a traced request, command or message keep its `traceparent` (and
 * `tracestate`) in their metadata; the relay puts it on the message, so subscribers continue the trace.
 */
export function carryTraceContext<S extends EventStore>(store: S): S {
  const append = store.appendToStream.bind(store);
  store.appendToStream = (streamId, events, options) => {
    const headers = traceHeaders();
    if (Object.keys(headers).length === 0) return append(streamId, events, options);
    return append(
      streamId,
      events.map((e) => ({ ...e, metadata: { ...headers, ...e.metadata } })),
      options,
    );
  };
  return store;
}
