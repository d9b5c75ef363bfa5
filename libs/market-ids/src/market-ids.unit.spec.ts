import {
  InvalidIdError,
  cprBirthDate,
  cprCentury,
  fiPaymentId71,
  glnCheckDigit,
  gs1CheckDigit,
  gsrnCheckDigit,
  isDanishGsrn,
  isValidCpr,
  isValidCvr,
  isValidFiPaymentId71,
  isValidGln,
  isValidGsrn,
  isValidLuhn,
  luhnCheckDigit,
  maskCpr,
  parseCpr,
  parseCvr,
  parseGln,
  parseGsrn,
  toCpr,
  toGsrn,
  withLuhnCheckDigit,
} from './index';

describe('GSRN (GS1 mod-10)', () => {
  // Hand-computed expectations (see market-facts.md §5).
  it.each([
    ['57131317411555001', 2], // domain.md worked example, sum 88
    ['57123456789123456', 8], // Energinet validator test id 571234567891234568, sum 162
    ['57131315541105308', 7], // real id 571313155411053087
    ['57131315541178207', 9], // real id 571313155411782079
    ['57131318040015335', 6], // real id 571313180400153356
  ])('check digit of %s is %d', (body, expected) => {
    expect(gsrnCheckDigit(body)).toBe(expected);
    const full = body + String(expected);
    const parsed = parseGsrn(full);
    expect(parsed.ok).toBe(true);
    expect(isDanishGsrn(full)).toBe(true);
  });

  it('is not Luhn: the real GSRNs fail Luhn', () => {
    expect(isValidLuhn('571313174115550012')).toBe(false);
    expect(luhnCheckDigit('57123456789123456')).toBe(5);
    expect(isValidGsrn('571234567891234565')).toBe(false);
  });

  it('names a wrong check digit with expected and actual', () => {
    const r = parseGsrn('571313174115550013');
    expect(r).toEqual({
      ok: false,
      error: { kind: 'GSRN', problem: { code: 'check_digit', expected: 2, actual: 3 }, message: 'GSRN: check digit expected 2 got 3' },
    });
  });

  it('rejects wrong length and non-digits', () => {
    const short = parseGsrn('57131317411555001');
    expect(short.ok || short.error.problem).toEqual({ code: 'length', expected: 18, actual: 17 });
    const letters = parseGsrn('5713131741155500a2');
    expect(letters.ok || letters.error.problem).toEqual({ code: 'non_digit', position: 17 });
    expect(parseGsrn(' 71313174115550012').ok).toBe(false);
    expect(parseGsrn(571313174115550012).ok).toBe(false);
    expect(parseGsrn('٥71313174115550012').ok).toBe(false); // Arabic-Indic digit
  });

  it('detects every single-digit substitution', () => {
    const good = '571313174115550012';
    for (let i = 0; i < good.length; i++) {
      for (let d = 0; d <= 9; d++) {
        if (String(d) === good[i]) continue;
        const bad = good.slice(0, i) + String(d) + good.slice(i + 1);
        expect(isValidGsrn(bad)).toBe(false);
      }
    }
  });

  it('isDanishGsrn requires prefix 57', () => {
    const body = '64131317411555001';
    const foreign = body + String(gsrnCheckDigit(body));
    expect(isValidGsrn(foreign)).toBe(true);
    expect(isDanishGsrn(foreign)).toBe(false);
  });

  it('toGsrn throws a typed error; gsrnCheckDigit demands 17 digits', () => {
    expect(toGsrn('571313174115550012')).toBe('571313174115550012');
    expect(() => toGsrn('571313174115550011')).toThrow(InvalidIdError);
    expect(() => gsrnCheckDigit('5713131741155500')).toThrow(RangeError);
    expect(() => gs1CheckDigit('12a')).toThrow(RangeError);
  });
});

describe('GLN', () => {
  it("accepts Energinet's GLN 5790000432752 (hand-computed sum 78 → 2)", () => {
    expect(glnCheckDigit('579000043275')).toBe(2);
    expect(isValidGln('5790000432752')).toBe(true);
  });
  it('rejects bad check digit and length', () => {
    const r = parseGln('5790000432753');
    expect(r.ok || r.error.problem).toEqual({ code: 'check_digit', expected: 2, actual: 3 });
    const l = parseGln('579000043275');
    expect(l.ok || l.error.problem).toEqual({ code: 'length', expected: 13, actual: 12 });
  });
});

describe('CVR (modulus 11)', () => {
  it("accepts Energinet's CVR 28980671 (sum 187 = 11·17)", () => {
    expect(isValidCvr('28980671')).toBe(true);
  });
  it('rejects a wrong checksum, length, non-digit', () => {
    const r = parseCvr('28980672');
    expect(r.ok || r.error.problem).toEqual({ code: 'checksum' });
    expect(isValidCvr('2898067')).toBe(false);
    expect(isValidCvr('2898067x')).toBe(false);
  });
});

function passesMod11(cpr10: string): boolean {
  const w = [4, 3, 2, 7, 6, 5, 4, 3, 2, 1];
  let s = 0;
  for (let i = 0; i < 10; i++) s += Number(cpr10[i]) * w[i]!;
  return s % 11 === 0;
}

describe('CPR', () => {
  it('accepts with or without dash and normalises to 10 digits', () => {
    expect(toCpr('010190-1234')).toBe('0101901234');
    expect(toCpr('0101901234')).toBe('0101901234');
  });

  it('does NOT enforce modulus 11', () => {
    expect(passesMod11('0101901234')).toBe(false);
    expect(isValidCpr('0101901234')).toBe(true);
  });

  it.each([
    [0, 37, 1900],
    [3, 5, 1900],
    [4, 36, 2000],
    [4, 37, 1900],
    [9, 36, 2000],
    [9, 99, 1900],
    [5, 57, 2000],
    [8, 58, 1800],
  ])('7th digit %d with YY %d → century %d', (seventh, yy, century) => {
    expect(cprCentury(yy, seventh)).toBe(century);
  });

  it('validates the date with the century rule', () => {
    expect(isValidCpr('290200-4000')).toBe(true); // 2000-02-29
    expect(isValidCpr('290200-1000')).toBe(false); // 1900 is not a leap year
    expect(isValidCpr('290256-5000')).toBe(true); // 2056
    expect(isValidCpr('290258-5000')).toBe(false); // 1858 not leap
    expect(isValidCpr('311190-1234')).toBe(false);
    expect(isValidCpr('011390-1234')).toBe(false);
    expect(isValidCpr('000190-1234')).toBe(false);
    expect(cprBirthDate(toCpr('150537-4321'))).toBe('1937-05-15');
    expect(cprBirthDate(toCpr('150536-4321'))).toBe('2036-05-15');
  });

  it('never echoes the CPR in errors', () => {
    const inputs = ['311190-1234', '3111901234', '311190 1234', '31119O1234', '31119012345'];
    for (const input of inputs) {
      const r = parseCpr(input);
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error.message).not.toContain('311190');
        expect(r.error.message).not.toContain('1234');
        expect(JSON.stringify(r.error)).not.toContain('311190');
      }
      try {
        maskCpr(input);
        throw new Error('maskCpr accepted an invalid CPR');
      } catch (e: unknown) {
        expect(e).toBeInstanceOf(InvalidIdError);
        expect((e as Error).message).not.toContain('311190');
      }
    }
  });

  it('masks as DDMMYY-XXXX', () => {
    expect(maskCpr('0101901234')).toBe('010190-XXXX');
    expect(maskCpr('010190-1234')).toBe('010190-XXXX');
  });
});

describe('Luhn (FI +71 payment id)', () => {
  it.each([
    ['1', 8],
    ['2', 6],
    ['00000000012345', 5],
    ['7992739871', 3],
  ])('check digit of %s is %d', (body, expected) => {
    expect(luhnCheckDigit(body)).toBe(expected);
    expect(isValidLuhn(body + String(expected))).toBe(true);
    expect(isValidLuhn(body + String((expected + 1) % 10))).toBe(false);
  });

  it('builds and validates a +71 payment id', () => {
    expect(fiPaymentId71(12345)).toBe('000000000123455');
    expect(fiPaymentId71(12345n)).toBe('000000000123455');
    expect(withLuhnCheckDigit('00000000012345')).toBe('000000000123455');
    expect(isValidFiPaymentId71('000000000123455')).toBe(true);
    expect(isValidFiPaymentId71('000000000123454')).toBe(false);
    expect(isValidFiPaymentId71('00000000123455')).toBe(false);
    expect(() => fiPaymentId71('123456789012345')).toThrow(RangeError);
    expect(isValidLuhn('12a')).toBe(false);
  });
});
