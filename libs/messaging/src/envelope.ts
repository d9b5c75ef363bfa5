import type { EventMetadata, JsonObject, JsonValue, LogTextEvent, RecordedEvent } from '@dh/event-store';
import type { Options } from 'amqplib';

/**
 * The wire format of a domain event on the `domain.events` exchange: plain JSON, no framework
 * wrapper, bigints as decimal strings, instants as ISO-8601 strings. External subscribers
 * (ERP, CRM, portal) read exactly this.
 */
export interface EventEnvelope {
  eventId: string;
  type: string;
  streamId: string;
  /** 0-based revision inside the stream, decimal string. */
  streamRevision: string;
  /** Position in the global log, decimal string. */
  globalPosition: string;
  occurredAt: string;
  recordedAt: string;
  data: JsonObject;
  metadata: EventMetadata;
}

/**
 * Domain event types that are part of the public contract of the mission document, with their
 * public routing keys. Every other event is routed as `<context>.<kebab-case(type)>`.
 */
export const PUBLIC_EVENT_ROUTING_KEYS: Readonly<Record<string, string>> = Object.freeze({
  CustomerActivated: 'customer.activated',
  CustomerOffboarded: 'customer.offboarded',
  CustomerUpdated: 'customer.updated',
  ProcessStatusChanged: 'process.status_changed',
  SettlementCompleted: 'settlement.completed',
  SettlementCorrectionIssued: 'settlement.correction',
  PaymentReceived: 'payment.received',
  PaymentOverdue: 'payment.overdue',
  PaymentReversed: 'payment.reversed',
  BetalingsserviceAgreementRegistered: 'betalingsservice.agreement_registered',
  BetalingsserviceAgreementCancelled: 'betalingsservice.agreement_cancelled',
  ReminderSent: 'reminder.sent',
  CollectionWrittenOff: 'collection.written_off',
  ReconciliationCompleted: 'reconciliation.completed',
  DiscrepancyFound: 'reconciliation.discrepancy_found',
});

export class MalformedMessageError extends Error {
  override readonly name = 'MalformedMessageError';
}

export function toEnvelope(event: RecordedEvent): EventEnvelope {
  return {
    eventId: event.eventId,
    type: event.type,
    streamId: event.streamId,
    streamRevision: event.streamRevision.toString(),
    globalPosition: event.globalPosition.toString(),
    occurredAt: event.occurredAt.toISOString(),
    recordedAt: event.recordedAt.toISOString(),
    data: event.data,
    metadata: event.metadata,
  };
}

/** `CustomerCreated` → `customer-created`, `RSM012Received` → `rsm012-received`. */
export function kebabCase(type: string): string {
  return type
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .toLowerCase();
}

/** The routing key of an event on the topic exchange. */
export function routingKeyFor(event: { type: string; metadata: { context: string } }): string {
  const publicKey = Object.prototype.hasOwnProperty.call(PUBLIC_EVENT_ROUTING_KEYS, event.type) ? PUBLIC_EVENT_ROUTING_KEYS[event.type] : undefined;
  if (publicKey !== undefined) return publicKey;
  const context = event.metadata.context;
  if (typeof context !== 'string' || !/^[a-z0-9][a-z0-9_-]*$/.test(context)) {
    throw new Error(`Event ${event.type}: metadata.context ${JSON.stringify(context)} is not a valid routing key word`);
  }
  const name = kebabCase(event.type);
  if (name === '') throw new Error(`Event type ${JSON.stringify(event.type)} has no routing key name`);
  return `${context}.${name}`;
}

export function serializeEnvelope(envelope: EventEnvelope): Buffer {
  return Buffer.from(JSON.stringify(envelope), 'utf8');
}

function isObject(value: unknown): value is { [key: string]: unknown } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const DECIMAL = /^(0|[1-9][0-9]*)$/;

/** Parses and validates a message body; throws `MalformedMessageError` with the reason. */
export function parseEnvelope(content: Buffer): EventEnvelope {
  let value: unknown;
  try {
    value = JSON.parse(content.toString('utf8'));
  } catch (error) {
    throw new MalformedMessageError(`malformed JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!isObject(value)) throw new MalformedMessageError('envelope is not a JSON object');
  const problems: string[] = [];
  for (const key of ['eventId', 'type', 'streamId', 'occurredAt', 'recordedAt'] as const) {
    if (typeof value[key] !== 'string' || value[key] === '') problems.push(`${key} must be a non-empty string`);
  }
  for (const key of ['streamRevision', 'globalPosition'] as const) {
    const v = value[key];
    if (typeof v !== 'string' || !DECIMAL.test(v)) problems.push(`${key} must be a decimal string`);
  }
  if (!isObject(value.data)) problems.push('data must be an object');
  const metadata = value.metadata;
  if (!isObject(metadata)) {
    problems.push('metadata must be an object');
  } else {
    if (typeof metadata.correlationId !== 'string') problems.push('metadata.correlationId must be a string');
    if (metadata.causationId !== null && typeof metadata.causationId !== 'string') problems.push('metadata.causationId must be a string or null');
    if (typeof metadata.actor !== 'string') problems.push('metadata.actor must be a string');
    if (typeof metadata.schemaVersion !== 'number') problems.push('metadata.schemaVersion must be a number');
    if (typeof metadata.context !== 'string') problems.push('metadata.context must be a string');
  }
  if (problems.length > 0) throw new MalformedMessageError(`invalid envelope: ${problems.join('; ')}`);
  // Validated above field by field; JSON.parse only yields JSON values.
  return value as unknown as EventEnvelope;
}

/** AMQP headers the relay puts on every event message, for routing-free filtering and support. */
export function envelopeHeaders(envelope: EventEnvelope, checkpoint: string): Record<string, JsonValue> {
  return headersOf(envelope.streamId, envelope.streamRevision, envelope.globalPosition, checkpoint, envelope.metadata);
}

function headersOf(streamId: string, streamRevision: string, globalPosition: string, checkpoint: string, metadata: EventMetadata): Record<string, JsonValue> {
  const headers: Record<string, JsonValue> = {
    streamId,
    streamRevision,
    globalPosition,
    checkpoint,
    correlationId: metadata.correlationId,
    causationId: metadata.causationId,
    schemaVersion: metadata.schemaVersion,
    context: metadata.context,
  };
  // W3C trace context of the request that appended the event (stored in its metadata), so every
  // subscriber, ours or external, can continue that trace.
  const traceparent = metadata['traceparent'];
  if (typeof traceparent === 'string') headers['traceparent'] = traceparent;
  const tracestate = metadata['tracestate'];
  if (typeof tracestate === 'string') headers['tracestate'] = tracestate;
  return headers;
}

/** An event as the relay publishes it: routing key, body and properties. */
export interface EventMessage {
  envelope: EventEnvelope;
  checkpoint: string;
  routingKey: string;
  /** Why the event has no routing key of its own (it then goes as `unrouted.<type>`), else null. */
  routingError: string | null;
  content: Buffer;
  options: Options.Publish;
}

export function eventMessage(event: RecordedEvent, appId: string): EventMessage {
  const envelope = toEnvelope(event);
  let routingKey: string;
  let routingError: string | null = null;
  try {
    routingKey = routingKeyFor(envelope);
  } catch (error) {
    routingKey = `unrouted.${kebabCase(envelope.type) || 'event'}`;
    routingError = error instanceof Error ? error.message : String(error);
  }
  return {
    envelope,
    checkpoint: event.checkpoint,
    routingKey,
    routingError,
    content: serializeEnvelope(envelope),
    options: {
      persistent: true,
      messageId: envelope.eventId,
      type: envelope.type,
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      timestamp: Math.floor(event.recordedAt.getTime() / 1000),
      correlationId: envelope.metadata.correlationId,
      appId,
      headers: envelopeHeaders(envelope, event.checkpoint),
    },
  };
}

/** An event as the relay publishes it from the log's JSON text ({@link storedEventMessage}). */
export interface StoredEventMessage {
  eventId: string;
  checkpoint: string;
  routingKey: string;
  /** Why the event has no routing key of its own (it then goes as `unrouted.<type>`), else null. */
  routingError: string | null;
  content: Buffer;
  options: Options.Publish;
}

interface Route {
  routingKey: string;
  routingError: string | null;
}

/** Routing keys by event type, then context: the same few pairs all day, each worked out once. */
const routes = new Map<string, Map<string, Route>>();
let routeCount = 0;
const MAX_ROUTES = 10_000;

function routeOf(type: string, metadata: { context: string }): Route {
  const context = typeof metadata.context === 'string' ? metadata.context : null;
  const byContext = context === null ? undefined : routes.get(type);
  const known = context === null ? undefined : byContext?.get(context);
  if (known) return known;
  let route: Route;
  try {
    route = { routingKey: routingKeyFor({ type, metadata }), routingError: null };
  } catch (error) {
    route = { routingKey: `unrouted.${kebabCase(type) || 'event'}`, routingError: error instanceof Error ? error.message : String(error) };
  }
  if (context !== null) {
    if (routeCount >= MAX_ROUTES) {
      routes.clear();
      routeCount = 0;
    }
    let map = routes.get(type);
    if (!map) routes.set(type, (map = new Map()));
    map.set(context, route);
    routeCount++;
  }
  return route;
}

/**
 * The relay's message of an event read as JSON text: the same routing key, properties and headers as
 * {@link eventMessage}, and a body that parses to the same envelope. The body is written around the stored data and
 * metadata text as it is (no parse, no `JSON.stringify` of the data): its whitespace and key order inside `data` and
 * `metadata` are the store's, so it need not be byte for byte what `serializeEnvelope` writes. Consumers parse it
 * (`parseEnvelope`).
 */
export function storedEventMessage(event: LogTextEvent, appId: string): StoredEventMessage {
  const { routingKey, routingError } = routeOf(event.type, event.metadata);
  // Revision, position and the instants are decimal and ISO-8601 strings (LogTextEvent); every other string goes
  // through JSON.stringify.
  const body =
    `{"eventId":${JSON.stringify(event.eventId)},"type":${JSON.stringify(event.type)},"streamId":${JSON.stringify(event.streamId)}` +
    `,"streamRevision":"${event.streamRevision}","globalPosition":"${event.globalPosition}"` +
    `,"occurredAt":"${event.occurredAt}","recordedAt":"${event.recordedAt}"` +
    `,"data":${event.dataJson},"metadata":${event.metadataJson}}`;
  return {
    eventId: event.eventId,
    checkpoint: event.checkpoint,
    routingKey,
    routingError,
    content: Buffer.from(body, 'utf8'),
    options: {
      persistent: true,
      messageId: event.eventId,
      type: event.type,
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      timestamp: Math.floor(Date.parse(event.recordedAt) / 1000),
      correlationId: event.metadata.correlationId,
      appId,
      headers: headersOf(event.streamId, event.streamRevision, event.globalPosition, event.checkpoint, event.metadata),
    },
  };
}

/** AMQP topic matching: words split on '.', `*` is exactly one word, `#` zero or more. */
export function topicMatches(pattern: string, routingKey: string): boolean {
  const p = pattern.split('.');
  const k = routingKey.split('.');
  const match = (i: number, j: number): boolean => {
    if (i === p.length) return j === k.length;
    if (p[i] === '#') return match(i + 1, j) || (j < k.length && match(i, j + 1));
    if (j === k.length) return false;
    return (p[i] === '*' || p[i] === k[j]) && match(i + 1, j + 1);
  };
  return match(0, 0);
}

