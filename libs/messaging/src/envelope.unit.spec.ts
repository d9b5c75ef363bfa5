import { toLogTextEvent, type RecordedEvent } from '@dh/event-store';
import { backoffDelay } from './inbox-consumer';
import {
  envelopeHeaders,
  eventMessage,
  kebabCase,
  MalformedMessageError,
  parseEnvelope,
  PUBLIC_EVENT_ROUTING_KEYS,
  routingKeyFor,
  serializeEnvelope,
  storedEventMessage,
  toEnvelope,
  topicMatches,
} from './envelope';

const recorded: RecordedEvent = {
  eventId: '6f1c1f9e-3c0b-4b53-9a43-1b1f3f6c0a01',
  type: 'CustomerCreated',
  streamId: 'customer-42',
  streamRevision: 3n,
  globalPosition: 9007199254740993n,
  checkpoint: '812:9007199254740993',
  occurredAt: new Date('2026-01-31T23:00:00.000Z'),
  recordedAt: new Date('2026-02-01T08:15:30.123Z'),
  data: { name: 'Anna', tags: ['a'] },
  metadata: { correlationId: 'corr-1', causationId: null, actor: 'crm', schemaVersion: 1, context: 'portfolio', tenant: 'x' },
};

describe('toEnvelope', () => {
  it('turns bigints into decimal strings and dates into ISO strings, keeping data and all metadata', () => {
    expect(toEnvelope(recorded)).toEqual({
      eventId: recorded.eventId,
      type: 'CustomerCreated',
      streamId: 'customer-42',
      streamRevision: '3',
      globalPosition: '9007199254740993',
      occurredAt: '2026-01-31T23:00:00.000Z',
      recordedAt: '2026-02-01T08:15:30.123Z',
      data: { name: 'Anna', tags: ['a'] },
      metadata: { correlationId: 'corr-1', causationId: null, actor: 'crm', schemaVersion: 1, context: 'portfolio', tenant: 'x' },
    });
  });

  it('is plain JSON that round-trips through serialize and parse', () => {
    const envelope = toEnvelope(recorded);
    const text = serializeEnvelope(envelope).toString('utf8');
    expect(text).toContain('"globalPosition":"9007199254740993"');
    expect(parseEnvelope(Buffer.from(text))).toEqual(envelope);
  });

  it('puts stream, position, checkpoint and correlation in the headers', () => {
    expect(envelopeHeaders(toEnvelope(recorded), recorded.checkpoint)).toEqual({
      streamId: 'customer-42',
      streamRevision: '3',
      globalPosition: '9007199254740993',
      checkpoint: '812:9007199254740993',
      correlationId: 'corr-1',
      causationId: null,
      schemaVersion: 1,
      context: 'portfolio',
    });
  });
});

describe('storedEventMessage (the relay, from the log as JSON text)', () => {
  const tricky: RecordedEvent = {
    ...recorded,
    type: 'Odd"Type\\',
    streamId: 'stream "quoted" \\ æøå \u2028 😀',
    data: { text: 'line\nbreak "quote" \\ \u0000 \u2028 æøå 😀', n: 1.5, big: 12345678901234567890, neg: -0.001, nested: { list: [null, true, false, {}, []] } },
    metadata: { ...recorded.metadata, context: 'portfolio', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'dh=1', extra: { deep: ['x'] } },
  };

  it.each([
    ['a plain event', recorded],
    ['strings that need escaping, unicode, numbers, trace context', tricky],
    ['an event without a routing key of its own', { ...recorded, type: 'Unrouted', metadata: { ...recorded.metadata, context: 'Not A Word' } }],
    ['a public event type', { ...recorded, type: 'PaymentReceived', metadata: { ...recorded.metadata, context: 'payments' } }],
  ])('gives %s the routing key, properties and parsed body of eventMessage', (_name, event: RecordedEvent) => {
    const expected = eventMessage(event, 'relay:x');
    for (let i = 0; i < 2; i++) {
      // The second time from the routing cache.
      const message = storedEventMessage(toLogTextEvent(event), 'relay:x');
      expect(message.routingKey).toBe(expected.routingKey);
      expect(message.routingError).toBe(expected.routingError);
      expect(message.options).toEqual(expected.options);
      expect(message.eventId).toBe(event.eventId);
      expect(message.checkpoint).toBe(event.checkpoint);
      expect(JSON.parse(message.content.toString('utf8'))).toEqual(JSON.parse(expected.content.toString('utf8')));
      expect(parseEnvelope(message.content)).toEqual(toEnvelope(event));
    }
  });

  it('writes the stored JSON text into the body as it is (whitespace and key order of jsonb text), parsing to the same envelope', () => {
    const text = { ...toLogTextEvent(recorded), dataJson: '{"tags": ["a"], "name": "Anna"}', metadataJson: '{"actor": "crm", "tenant": "x", "context": "portfolio", "causationId": null, "schemaVersion": 1, "correlationId": "corr-1"}' };
    const body = storedEventMessage(text, 'relay:x').content.toString('utf8');
    expect(body).toContain('"data":{"tags": ["a"], "name": "Anna"},"metadata":{"actor": "crm"');
    expect(parseEnvelope(Buffer.from(body))).toEqual(toEnvelope(recorded));
  });
});

describe('routingKeyFor', () => {
  const meta = (context: string) => ({ ...recorded.metadata, context });

  it.each([
    ['CustomerActivated', 'customer.activated'],
    ['CustomerOffboarded', 'customer.offboarded'],
    ['CustomerUpdated', 'customer.updated'],
    ['ProcessStatusChanged', 'process.status_changed'],
    ['SettlementCompleted', 'settlement.completed'],
    ['SettlementCorrectionIssued', 'settlement.correction'],
    ['PaymentReceived', 'payment.received'],
    ['PaymentOverdue', 'payment.overdue'],
  ])('routes the public event %s as %s whatever its context', (type, key) => {
    expect(routingKeyFor({ type, metadata: meta('somewhere-else') })).toBe(key);
  });

  it('has exactly the seven public events of the mission document, customer.updated, reminder.sent, collection.written_off, payment.reversed, the two agreement events and reconciliation\'s two', () => {
    expect(Object.keys(PUBLIC_EVENT_ROUTING_KEYS)).toHaveLength(15);
    expect(PUBLIC_EVENT_ROUTING_KEYS.CollectionWrittenOff).toBe('collection.written_off');
    expect(PUBLIC_EVENT_ROUTING_KEYS.CustomerUpdated).toBe('customer.updated');
    expect(PUBLIC_EVENT_ROUTING_KEYS.ReminderSent).toBe('reminder.sent');
    expect(PUBLIC_EVENT_ROUTING_KEYS.PaymentReversed).toBe('payment.reversed');
    expect(PUBLIC_EVENT_ROUTING_KEYS.BetalingsserviceAgreementRegistered).toBe('betalingsservice.agreement_registered');
    expect(PUBLIC_EVENT_ROUTING_KEYS.BetalingsserviceAgreementCancelled).toBe('betalingsservice.agreement_cancelled');
  });

  it.each([
    ['CustomerCreated', 'portfolio', 'portfolio.customer-created'],
    ['MeteringPointConnected', 'portfolio', 'portfolio.metering-point-connected'],
    ['RSM012Received', 'datahub-integration', 'datahub-integration.rsm012-received'],
    ['SpotPricesImported', 'rates', 'rates.spot-prices-imported'],
    ['InvoiceIssued', 'settlement', 'settlement.invoice-issued'],
  ])('routes %s of %s as %s', (type, context, key) => {
    expect(routingKeyFor({ type, metadata: meta(context) })).toBe(key);
  });

  it('does not treat inherited object keys as public events', () => {
    expect(routingKeyFor({ type: 'toString', metadata: meta('portfolio') })).toBe('portfolio.to-string');
  });

  it('rejects a context that would break the topic words', () => {
    expect(() => routingKeyFor({ type: 'CustomerCreated', metadata: meta('port.folio') })).toThrow(/context/);
    expect(() => routingKeyFor({ type: 'CustomerCreated', metadata: meta('') })).toThrow(/context/);
  });

  it('kebab-cases acronyms and digits', () => {
    expect(kebabCase('HTTPServerError')).toBe('http-server-error');
    expect(kebabCase('Brs001Requested')).toBe('brs001-requested');
  });
});

describe('parseEnvelope', () => {
  it('rejects malformed JSON with the reason', () => {
    expect(() => parseEnvelope(Buffer.from('{"eventId":'))).toThrow(MalformedMessageError);
    expect(() => parseEnvelope(Buffer.from('{"eventId":'))).toThrow(/^malformed JSON/);
  });

  it('rejects JSON that is not an envelope, listing the problems', () => {
    const bad = { ...toEnvelope(recorded), eventId: '', globalPosition: 12 };
    expect(() => parseEnvelope(Buffer.from(JSON.stringify(bad)))).toThrow('invalid envelope: eventId must be a non-empty string; globalPosition must be a decimal string');
    expect(() => parseEnvelope(Buffer.from('[1]'))).toThrow('envelope is not a JSON object');
  });
});

describe('backoffDelay', () => {
  it('grows exponentially from the initial delay and is capped', () => {
    const backoff = { initialDelayMs: 100, factor: 3, maxDelayMs: 1000 };
    expect([1, 2, 3, 4].map((n) => backoffDelay(backoff, n))).toEqual([100, 300, 900, 1000]);
  });
});

describe('topicMatches (AMQP topic exchange rules, for catching up on a binding)', () => {
  it('matches * as exactly one word and # as zero or more', () => {
    expect(topicMatches('portfolio.*', 'portfolio.customer-created')).toBe(true);
    expect(topicMatches('portfolio.*', 'portfolio')).toBe(false);
    expect(topicMatches('portfolio.*', 'portfolio.a.b')).toBe(false);
    expect(topicMatches('portfolio.#', 'portfolio')).toBe(true);
    expect(topicMatches('portfolio.#', 'portfolio.a.b')).toBe(true);
    expect(topicMatches('#', 'anything.at.all')).toBe(true);
    expect(topicMatches('*.customer-created', 'settlement.customer-created')).toBe(true);
    expect(topicMatches('datahub.validated-measure-data-received', 'datahub.validated-measure-data-received')).toBe(true);
    expect(topicMatches('datahub.validated-measure-data-received', 'datahub.validated-measure-data')).toBe(false);
    expect(topicMatches('a.#.z', 'a.z')).toBe(true);
    expect(topicMatches('a.#.z', 'a.b.c.z')).toBe(true);
    expect(topicMatches('a.#.z', 'a.b.c')).toBe(false);
  });
});
