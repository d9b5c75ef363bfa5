import { shadowRenamer, shadowTableOf } from './rebuild';

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
