import { findCprNumbers, maskPersonalData } from './index';

describe(findCprNumbers.name, () => {
  it('finds CPR numbers with and without dash, not masked ones, GSRNs, GLNs or timestamps', () => {
    expect(findCprNumbers('cpr 010190-1234 and 3112991234 and 010190-XXXX')).toEqual(['010190-1234', '3112991234']);
    expect(findCprNumbers('gsrn 571313174115550012 gln 5790001330583 at 1733340000123')).toEqual([]);
    expect(findCprNumbers('invoice 2026-10-01 amount 1234 order 9913001234')).toEqual([]);
    expect(findCprNumbers('"correlationId":"e36e9133-e8cb-4fe6-bdc2-8c8601976298","traceId":"0101901234ab"')).toEqual([]);
    expect(findCprNumbers('{"cpr":"0101901234"} cpr:010190-1234')).toEqual(['0101901234', '010190-1234']);
  });

  it('finds nothing in what the masking logger writes', () => {
    expect(findCprNumbers(maskPersonalData('customer 010190-1234 and 0101901234 created'))).toEqual([]);
  });
});
