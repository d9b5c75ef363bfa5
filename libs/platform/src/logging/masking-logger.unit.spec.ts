import { runTraced } from '@dh/messaging';
import { registerTracing } from '../observability/tracing';
import { MaskingLogger } from './masking-logger';

describe(MaskingLogger.name, () => {
  let written: string;
  let spies: jest.SpyInstance[];

  beforeEach(() => {
    written = '';
    const capture = (chunk: string | Uint8Array) => {
      written += chunk.toString();
      return true;
    };
    spies = [jest.spyOn(process.stdout, 'write').mockImplementation(capture), jest.spyOn(process.stderr, 'write').mockImplementation(capture)];
  });
  afterEach(() => spies.forEach((s) => s.mockRestore()));

  it('masks a CPR in messages, objects and stack traces', () => {
    const sut = new MaskingLogger('test', { colors: false });
    sut.log('customer 010190-1234 created');
    sut.log({ cpr: '0101901234' });
    sut.error('failed', 'Error: bad 010190-1234\n    at x');
    expect(written).toContain('010190-XXXX');
    expect(written).not.toMatch(/0101901234|010190-1234/);
  });

  it('logs an error without a stack trace', () => {
    const sut = new MaskingLogger('test', { colors: false });
    expect(() => sut.error('just a message')).not.toThrow();
    expect(written).toContain('just a message');
  });

  it('writes one JSON object per line naming the service, with the correlation id and the trace of the work in hand, personal data masked', async () => {
    registerTracing('unit-test', {});
    const sut = new MaskingLogger('CommandServer', { json: true, prefix: 'portfolio' });
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    await runTraced({ name: 'command portfolio/CreateCustomer', kind: 'server', carrier: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` }, correlationId: 'corr-42' }, async () => {
      sut.log('customer 010190-1234 created');
    });
    sut.warn('outside any request');
    const [inside, outside] = written.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(inside).toMatchObject({ level: 'log', service: 'portfolio', context: 'CommandServer', message: 'customer 010190-XXXX created', correlationId: 'corr-42', traceId });
    expect(inside!.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(inside!.spanId).not.toBe('00f067aa0ba902b7');
    expect(inside!.time).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(outside).toMatchObject({ level: 'warn', service: 'portfolio', message: 'outside any request' });
    expect(outside).not.toHaveProperty('correlationId');
    expect(outside).not.toHaveProperty('traceId');
  });
});
