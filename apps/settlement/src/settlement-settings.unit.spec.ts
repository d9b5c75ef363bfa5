import { vatModeFromEnvironment } from './settlement.service-definition';

describe('settlement settings from the environment', () => {
  it('SETTLEMENT_VAT_MODE: per-line by default, invoice-subtotal when asked, anything else refuses to start', () => {
    expect(vatModeFromEnvironment(undefined)).toBe('per-line');
    expect(vatModeFromEnvironment('')).toBe('per-line');
    expect(vatModeFromEnvironment('per-line')).toBe('per-line');
    expect(vatModeFromEnvironment('invoice-subtotal')).toBe('invoice-subtotal');
    expect(() => vatModeFromEnvironment('subtotal')).toThrow('SETTLEMENT_VAT_MODE="subtotal" is not one of per-line, invoice-subtotal');
  });
});
