import { createHmac } from 'node:crypto';
import { DEFAULT_RETRY_POLICY, retryDelayMs } from './backoff';
import { checkJsonSchema, UnsupportedSchemaError } from './json-schema-check';
import { SecretBox } from './secret-box';
import { generateWebhookSecret, signWebhook, verifyWebhook } from './signature';
import { validateEventTypes, validateTargetUrl, validateTargetUrlResolved, WebhookValidationError } from './target-url';
import { isAllowedAddress, webhookTargetPolicyFromEnv } from './target-policy';

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
  const production = { allowLoopback: false, allowedNetworks: [] };
  const development = { allowLoopback: true, allowedNetworks: [] };

  it('allows https to public hosts, and http to loopback outside production only', () => {
    expect(validateTargetUrl('https://erp.example.com/hooks', production)).toBe('https://erp.example.com/hooks');
    expect(validateTargetUrl('http://localhost:8080/h', development)).toBe('http://localhost:8080/h');
    expect(validateTargetUrl('http://127.0.0.1:8080/h', development)).toBe('http://127.0.0.1:8080/h');
    expect(() => validateTargetUrl('http://127.0.0.1:8080/h', production)).toThrow(WebhookValidationError);
    expect(() => validateTargetUrl('http://10.0.0.1/h', development)).toThrow(/https/);
    expect(() => validateTargetUrl('http://127.0.0.1.example.com/h', development)).toThrow(/https/);
    expect(() => validateTargetUrl('https://a.example.com/h#x', development)).toThrow(/fragment/);
  });

  it('refuses loopback, link-local, private, unique-local, mapped and internal names in production', () => {
    for (const url of [
      'https://127.0.0.1/h',
      'https://127.1.2.3/h',
      'https://localhost/h',
      'https://[::1]/h',
      'https://169.254.169.254/h',
      'https://10.1.2.3/h',
      'https://172.31.255.1/h',
      'https://192.168.0.1/h',
      'https://100.100.1.1/h',
      'https://0.0.0.0/h',
      'https://224.0.0.1/h',
      'https://[fe80::1]/h',
      'https://[fc00::5]/h',
      'https://[::ffff:10.0.0.1]/h',
      'https://[::ffff:7f00:1]/h',
      'https://[64:ff9b::a00:1]/h',
      'https://[2002:a00:1::]/h',
      'https://0x7f000001/h',
      'https://rabbitmq/h',
      'https://rabbitmq:15672/api',
      'https://eventstore.internal/h',
      'https://printer.local/h',
      'https://kube-dns.svc.cluster.local/h',
    ]) {
      expect(() => validateTargetUrl(url, production)).toThrow(WebhookValidationError);
    }
  });

  it('lets an operator trust a named private network', () => {
    const erpNetwork = { allowLoopback: false, allowedNetworks: ['10.20.0.0/16'] };
    expect(validateTargetUrl('https://10.20.1.5/h', erpNetwork)).toBe('https://10.20.1.5/h');
    expect(() => validateTargetUrl('https://10.21.1.5/h', erpNetwork)).toThrow(WebhookValidationError);
    expect(isAllowedAddress('::ffff:10.20.1.5', erpNetwork)).toBe(true);
  });

  it('judges every address a name resolves to, refusing a name with any internal address', async () => {
    const resolver = async (host: string) =>
      host === 'split.example.com'
        ? [
            { address: '93.184.215.14', family: 4 },
            { address: '10.0.0.1', family: 4 },
          ]
        : [{ address: '93.184.215.14', family: 4 }];
    await expect(validateTargetUrlResolved('https://erp.example.com/h', production, resolver)).resolves.toBe('https://erp.example.com/h');
    await expect(validateTargetUrlResolved('https://split.example.com/h', production, resolver)).rejects.toThrow(WebhookValidationError);
    await expect(validateTargetUrlResolved('https://gone.example.com/h', production, async () => Promise.reject(new Error('ENOTFOUND')))).rejects.toThrow('url host does not resolve');
  });

  it('reads the policy from the environment', () => {
    expect(webhookTargetPolicyFromEnv({ NODE_ENV: 'production' })).toEqual(production);
    expect(webhookTargetPolicyFromEnv({ NODE_ENV: 'development', WEBHOOK_ALLOWED_NETWORKS: '10.20.0.0/16, fd12::/48' })).toEqual({ allowLoopback: true, allowedNetworks: ['10.20.0.0/16', 'fd12::/48'] });
    expect(() => webhookTargetPolicyFromEnv({ WEBHOOK_ALLOWED_NETWORKS: '10.20.0.0' })).toThrow(/CIDR/);
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
