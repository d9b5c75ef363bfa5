import { context, createContextKey, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';

/**
 * W3C trace context (`traceparent`, `tracestate`) and our correlation id across process boundaries:
 * HTTP requests, commands and events on RabbitMQ (as message headers), events in the event store (as
 * metadata). Only the OpenTelemetry API is used here; the process registers the SDK, the W3C
 * propagator and the async context manager at start (`@dh/platform`). Without them every call
 * here is a cheap no-op.
 */

export const TRACEPARENT = 'traceparent';
export const TRACESTATE = 'tracestate';

const CORRELATION_ID = createContextKey('dh.correlation-id');

const tracer = () => trace.getTracer('dh');

type Carrier = Record<string, unknown>;

/** The correlation id of the request, command or event being handled, if any. */
export function currentCorrelationId(): string | undefined {
  const value = context.active().getValue(CORRELATION_ID);
  return typeof value === 'string' ? value : undefined;
}

/** Trace and span id of the active span (for log lines), if one is recording or was propagated. */
export function currentTraceIds(): { traceId: string; spanId: string } | undefined {
  const span = trace.getSpanContext(context.active());
  return span && trace.isSpanContextValid(span) ? { traceId: span.traceId, spanId: span.spanId } : undefined;
}

/** The active trace context as `traceparent`/`tracestate` strings (empty outside a trace). */
export function traceHeaders(): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  const headers: Record<string, string> = {};
  if (typeof carrier[TRACEPARENT] === 'string') headers[TRACEPARENT] = carrier[TRACEPARENT];
  if (typeof carrier[TRACESTATE] === 'string') headers[TRACESTATE] = carrier[TRACESTATE];
  return headers;
}

function stringCarrier(carrier: Carrier | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of [TRACEPARENT, TRACESTATE]) {
    const value = carrier?.[key];
    if (typeof value === 'string') out[key] = value;
    else if (Buffer.isBuffer(value)) out[key] = value.toString('utf8');
  }
  return out;
}

export interface TracedWork {
  /** Span name: `HTTP POST /api/customers`, `command portfolio/CreateCustomer`, `consume projections.customers`. */
  name: string;
  kind: 'server' | 'consumer';
  /** Where the caller's trace context is: HTTP or AMQP headers, or event metadata. */
  carrier?: Carrier;
  correlationId?: string;
  attributes?: Attributes;
}

/** Starts a span continuing the caller's trace (a new trace when the carrier has none); the returned context holds it and the correlation id. */
export function startTracedSpan(what: TracedWork): { span: Span; context: Context } {
  let parent = propagation.extract(ROOT_CONTEXT, stringCarrier(what.carrier));
  if (what.correlationId) parent = parent.setValue(CORRELATION_ID, what.correlationId);
  const kind = what.kind === 'server' ? SpanKind.SERVER : SpanKind.CONSUMER;
  const span = tracer().startSpan(what.name, { kind, ...(what.attributes ? { attributes: what.attributes } : {}) }, parent);
  return { span, context: trace.setSpan(parent, span) };
}

/**
 * Runs `work` in a span that continues the caller's trace, with the correlation id in context, so
 * logs, commands sent and events appended inside carry both on.
 */
export function runTraced<T>(what: TracedWork, work: () => Promise<T>): Promise<T> {
  const { span, context: active } = startTracedSpan(what);
  return context.with(active, async () => {
    try {
      return await work();
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      throw error;
    } finally {
      span.end();
    }
  });
}
