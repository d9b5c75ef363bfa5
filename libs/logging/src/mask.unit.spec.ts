import { maskPersonalData } from './mask';

describe('maskPersonalData', () => {
  it('masks CPR numbers with and without dash', () => {
    expect(maskPersonalData('cpr 010190-1234 and 0101901234')).toBe('cpr 010190-XXXX and 010190-XXXX');
  });

  it('masks e-mail addresses but keeps the domain for support', () => {
    expect(maskPersonalData('mail anna.hansen@example.dk failed')).toBe('mail a***@example.dk failed');
  });

  it('leaves GSRNs (18 digits) untouched', () => {
    expect(maskPersonalData('gsrn 571313174115550012')).toBe('gsrn 571313174115550012');
  });
});
