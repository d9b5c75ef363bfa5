import { createHmac } from 'node:crypto';
import { DEFAULT_RETRY_POLICY, retryDelayMs } from './backoff';
import { checkJsonSchema, UnsupportedSchemaError } from './json-schema-check';
import { SecretBox } from './secret-box';
import { generateWebhookSecret, signWebhook, verifyWebhook } from './signature';
import { validateEventTypes, validateTargetUrl, WebhookValidationError } from './target-url';

describe('signature', () => {
  const secret = 'whsec_test';
  const body = '{"eventId":"e1"}';

  it('is v1= hex HMAC-SHA256 over "<timestamp>.<body>" keyed with the secret string', () => {
    const expected = createHmac('sha256', 'whsec_test').update('1767225600.{"eventId":"e1"}').digest('hex');
    expect(signWebhook(secret, 1767225600, body)).toBe(`v1=${expected}`);
  });

  it('verifies, refusing other bodies, other secrets, stale timestamps and missing headers; accepts one of several signatures', () => {
    const now = new Date(1767225600_000);
    const signature = signWebhook(secret, 1767225600, body);
    expect(verifyWebhook({ secret, body, timestamp: '1767225600', signature, now })).toEqual({ ok: true });
    expect(verifyWebhook({ secret, body: body + ' ', timestamp: '1767225600', signature, now })).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyWebhook({ secret: 'whsec_other', body, timestamp: '1767225600', signature, now })).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyWebhook({ secret, body, timestamp: '1767225600', signature, now: new Date(1767225600_000 + 301_000) })).toEqual({ ok: false, reason: 'stale-timestamp' });
    expect(verifyWebhook({ secret, body, timestamp: undefined, signature, now })).toEqual({ ok: false, reason: 'missing-headers' });
    expect(verifyWebhook({ secret, body, timestamp: '1767225600', signature: `v1=${'0'.repeat(64)} ${signature}`, now })).toEqual({ ok: true });
  });

  it('generates distinct 32-byte secrets', () => {
    const a = generateWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(generateWebhookSecret()).not.toBe(a);
  });
});

describe('SecretBox', () => {
  it('round-trips, and refuses another key, another row and tampering', () => {
    const box = new SecretBox(Buffer.alloc(32, 1));
    const sealed = box.seal('whsec_abc', 'sub-1');
    expect(sealed.includes(Buffer.from('whsec_abc'))).toBe(false);
    expect(box.open(sealed, 'sub-1')).toBe('whsec_abc');
    expect(() => new SecretBox(Buffer.alloc(32, 2)).open(sealed, 'sub-1')).toThrow();
    expect(() => box.open(sealed, 'sub-2')).toThrow();
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 1] ^= 1;
    expect(() => box.open(tampered, 'sub-1')).toThrow();
  });
});

describe('retry schedule', () => {
  it('defaults to 12 attempts spread over roughly a day, each wait within the jitter band', () => {
    const waits = (random: () => number) => Array.from({ length: DEFAULT_RETRY_POLICY.maxAttempts - 1 }, (_, i) => retryDelayMs(DEFAULT_RETRY_POLICY, i + 1, random));
    const mid = waits(() => 0.5);
    expect(mid.slice(0, 3)).toEqual([60_000, 120_000, 240_000]);
    expect(mid[mid.length - 1]).toBe(6 * 3600_000);
    const hours = (ms: number[]) => ms.reduce((a, b) => a + b, 0) / 3600_000;
    expect(hours(mid)).toBeCloseTo(20.5, 0);
    expect(hours(waits(() => 0))).toBeGreaterThan(15);
    expect(hours(waits(() => 0.999999))).toBeLessThan(26);
  });
});

describe('registration rules', () => {
  it('allows https anywhere and http to localhost outside production only', () => {
    expect(validateTargetUrl('https://erp.example.com/hooks', { production: true })).toBe('https://erp.example.com/hooks');
    expect(validateTargetUrl('http://localhost:8080/h', { production: false })).toBe('http://localhost:8080/h');
    expect(validateTargetUrl('http://127.0.0.1:8080/h', { production: false })).toBe('http://127.0.0.1:8080/h');
    expect(() => validateTargetUrl('http://127.0.0.1:8080/h', { production: true })).toThrow(WebhookValidationError);
    expect(() => validateTargetUrl('http://10.0.0.1/h', { production: false })).toThrow(/https/);
    expect(() => validateTargetUrl('http://127.0.0.1.example.com/h', { production: false })).toThrow(/https/);
    expect(() => validateTargetUrl('https://a.example.com/h#x', { production: false })).toThrow(/fragment/);
  });

  it('takes public routing keys or *', () => {
    expect(validateEventTypes(['payment.overdue', 'customer.activated', 'payment.overdue'])).toEqual(['customer.activated', 'payment.overdue']);
    expect(validateEventTypes(['customer.activated', '*'])).toEqual(['*']);
    expect(() => validateEventTypes([])).toThrow(WebhookValidationError);
    expect(() => validateEventTypes(['portfolio.customer-created'])).toThrow(/unknown event types/);
  });
});

describe('checkJsonSchema', () => {
  it('refuses keywords it does not implement, so no rule is silently skipped', () => {
    expect(() => checkJsonSchema({ type: 'string', maxLength: 3 }, 'abcd')).toThrow(UnsupportedSchemaError);
    expect(() => checkJsonSchema({ $ref: 'https://elsewhere/x.json' }, 1)).toThrow(UnsupportedSchemaError);
  });

  it('checks the supported keywords', () => {
    const schema = {
      type: 'object',
      required: ['a', 'b'],
      additionalProperties: false,
      properties: { a: { type: ['string', 'null'], pattern: '^\\d+$' }, b: { type: 'array', minItems: 1, items: { $ref: '#/$defs/n' } } },
      $defs: { n: { type: 'integer', minimum: 1, maximum: 4 } },
    };
    expect(checkJsonSchema(schema, { a: '12', b: [1, 4] })).toEqual([]);
    expect(checkJsonSchema(schema, { a: null, b: [1] })).toEqual([]);
    expect(checkJsonSchema(schema, { a: 'x', b: [0, 5, 1.5], c: 1 })).toEqual(['$.a: does not match ^\\d+$', '$.b[0]: below 1', '$.b[1]: above 4', '$.b[2]: must be of type integer', '$: unexpected property c']);
    expect(checkJsonSchema(schema, { a: '1', b: [] })).toEqual(['$.b: fewer than 1 items']);
    expect(checkJsonSchema({ type: 'string', format: 'date-time' }, '2026-13-45T99:00:00Z')).toEqual(['$: not a date-time']);
  });
});
