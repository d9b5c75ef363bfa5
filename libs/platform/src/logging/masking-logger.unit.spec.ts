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
});
