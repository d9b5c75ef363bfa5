import { eventsOfTypes, positionsByType, shadowRenamer, shadowTableOf } from './rebuild';

describe('shadow tables', () => {
  it('builds a table in <schema>_rebuild and retires it to <schema>_retired, under its own name', () => {
    expect(shadowTableOf('read_models.customers')).toEqual({
      live: 'read_models.customers',
      schema: 'read_models',
      table: 'customers',
      shadowSchema: 'read_models_rebuild',
      shadow: 'read_models_rebuild.customers',
      retiredSchema: 'read_models_retired',
      retired: 'read_models_retired.customers',
    });
  });

  it('refuses a table name it could not rename safely', () => {
    expect(() => shadowTableOf('customers')).toThrow('must be named schema.table');
    expect(() => shadowTableOf('read_models."Customers"')).toThrow('must be named schema.table');
  });

  it('renames whole qualified table names only', () => {
    const rename = shadowRenamer([shadowTableOf('read_models.consumption_values'), shadowTableOf('read_models.consumption_daily')]);
    expect(
      rename(
        'DELETE FROM read_models.consumption_values v USING read_models.consumption_values_archive a, other.read_models.consumption_values x ' +
          'JOIN read_models.consumption_daily d ON d.gsrn = v.gsrn JOIN read_models.metering_points m ON true',
      ),
    ).toBe(
      'DELETE FROM read_models_rebuild.consumption_values v USING read_models.consumption_values_archive a, other.read_models.consumption_values x ' +
        'JOIN read_models_rebuild.consumption_daily d ON d.gsrn = v.gsrn JOIN read_models.metering_points m ON true',
    );
  });
});

describe('a page cut by event type', () => {
  const page = ['A', 'B', 'C', 'A', 'B', 'D', 'A'].map((type, n) => ({ type, n }));
  const byType = positionsByType(page);
  const of = (...types: string[]) => eventsOfTypes(page, byType, new Set(types)).map((e) => e.n);

  it('keeps the events of the types asked for in the order of the page, types merged', () => {
    expect(of('A')).toEqual([0, 3, 6]);
    expect(of('B', 'A')).toEqual([0, 1, 3, 4, 6]);
    expect(of('D', 'C', 'B')).toEqual([1, 2, 4, 5]);
  });

  it('gives nothing when no type is on the page, and the page itself when every type is', () => {
    expect(of('E')).toEqual([]);
    expect(eventsOfTypes(page, byType, new Set(['A', 'B', 'C', 'D', 'E']))).toBe(page);
  });

  it('orders positions past 10 numerically', () => {
    const long = Array.from({ length: 25 }, (_, n) => ({ type: n % 3 === 0 ? 'X' : n % 3 === 1 ? 'Y' : 'Z', n }));
    expect(eventsOfTypes(long, positionsByType(long), new Set(['X', 'Y'])).map((e) => e.n)).toEqual(long.filter((e) => e.type !== 'Z').map((e) => e.n));
  });
});
