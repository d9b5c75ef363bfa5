import { haltRetryIntervalFromEnvironment, productPriceCorrectionsFromEnvironment, runScheduleFromEnvironment, runStalledAfterFromEnvironment, vatModeFromEnvironment } from './settlement.service-definition';

describe('settlement settings from the environment', () => {
  it('SETTLEMENT_VAT_MODE: per-line by default, invoice-subtotal when asked, anything else refuses to start', () => {
    expect(vatModeFromEnvironment(undefined)).toBe('per-line');
    expect(vatModeFromEnvironment('')).toBe('per-line');
    expect(vatModeFromEnvironment('per-line')).toBe('per-line');
    expect(vatModeFromEnvironment('invoice-subtotal')).toBe('invoice-subtotal');
    expect(() => vatModeFromEnvironment('subtotal')).toThrow('SETTLEMENT_VAT_MODE="subtotal" is not one of per-line, invoice-subtotal');
  });

  it('the run schedule: on by default (a pass every 60 s), explicit 0 = off, deadline 5 business days, 10 later runs, 45 days back; a bad value refuses to start', () => {
    expect(runScheduleFromEnvironment({})).toEqual({ intervalMs: 60_000, settings: { dataDeadlineBusinessDays: 5, laterRunDays: 10, lookbackDays: 45 } });
    expect(runScheduleFromEnvironment({ SETTLEMENT_SCHEDULE_INTERVAL_MS: '' }).intervalMs).toBe(60_000);
    expect(runScheduleFromEnvironment({ SETTLEMENT_SCHEDULE_INTERVAL_MS: '0' }).intervalMs).toBe(0);
    expect(
      runScheduleFromEnvironment({ SETTLEMENT_SCHEDULE_INTERVAL_MS: '60000', SETTLEMENT_DATA_DEADLINE_BUSINESS_DAYS: '3', SETTLEMENT_LATER_RUN_DAYS: '0', SETTLEMENT_SCHEDULE_LOOKBACK_DAYS: '90' }),
    ).toEqual({ intervalMs: 60_000, settings: { dataDeadlineBusinessDays: 3, laterRunDays: 0, lookbackDays: 90 } });
    expect(() => runScheduleFromEnvironment({ SETTLEMENT_DATA_DEADLINE_BUSINESS_DAYS: 'five' })).toThrow('SETTLEMENT_DATA_DEADLINE_BUSINESS_DAYS="five" must be a non-negative integer');
    expect(() => runScheduleFromEnvironment({ SETTLEMENT_LATER_RUN_DAYS: '-1' })).toThrow('SETTLEMENT_LATER_RUN_DAYS="-1"');
  });

  it('SETTLEMENT_PRODUCT_PRICE_CORRECTIONS: automatic by default, review when asked, anything else refuses to start', () => {
    expect(productPriceCorrectionsFromEnvironment(undefined)).toBe('automatic');
    expect(productPriceCorrectionsFromEnvironment('')).toBe('automatic');
    expect(productPriceCorrectionsFromEnvironment('review')).toBe('review');
    expect(() => productPriceCorrectionsFromEnvironment('manual')).toThrow('SETTLEMENT_PRODUCT_PRICE_CORRECTIONS="manual" is not one of automatic, review');
  });

  it('the halted-item retry pass: on by default (every 30 s), every n ms when set, explicit 0 = off; a bad value refuses to start', () => {
    expect(haltRetryIntervalFromEnvironment({})).toBe(30_000);
    expect(haltRetryIntervalFromEnvironment({ SETTLEMENT_HALT_RETRY_INTERVAL_MS: '0' })).toBe(0);
    expect(haltRetryIntervalFromEnvironment({ SETTLEMENT_HALT_RETRY_INTERVAL_MS: '30000' })).toBe(30_000);
    expect(() => haltRetryIntervalFromEnvironment({ SETTLEMENT_HALT_RETRY_INTERVAL_MS: 'often' })).toThrow('SETTLEMENT_HALT_RETRY_INTERVAL_MS="often" must be a non-negative integer');
  });

  it('a stalled run: one hour without progress by default, 0 = never; a bad value refuses to start', () => {
    expect(runStalledAfterFromEnvironment({})).toBe(3_600_000);
    expect(runStalledAfterFromEnvironment({ SETTLEMENT_RUN_STALLED_AFTER_MS: '0' })).toBe(0);
    expect(runStalledAfterFromEnvironment({ SETTLEMENT_RUN_STALLED_AFTER_MS: '600000' })).toBe(600_000);
    expect(() => runStalledAfterFromEnvironment({ SETTLEMENT_RUN_STALLED_AFTER_MS: '1h' })).toThrow('SETTLEMENT_RUN_STALLED_AFTER_MS="1h" must be a non-negative integer');
  });
});
