import { searchKindOf } from './customer-search.controller';

describe('customer search: what a query names', () => {
  it.each([
    ['571313180400000018', 'gsrn'],
    ['010190-1234', 'cpr'],
    ['0101901234', 'cpr'],
    ['12345678', 'cvr'],
    ['D1D73D6F-975C-4F64-8C4D-FF73C4F73321', 'invoice'],
    ['Anna Hansen', 'name'],
    ['  anna  ', 'name'],
    ['12345', 'name'],
  ])('%s → %s', (query, kind) => {
    expect(searchKindOf(query)).toBe(kind);
  });
});
