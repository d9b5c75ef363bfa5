import { ratesSettings } from './rates.service-definition';

describe('rates settings', () => {
  it('has no EDS and no schedule by default', () => {
    expect(ratesSettings({})).toEqual({ edsUrl: null, pollIntervalMs: 0 });
  });
  it('reads EDS_URL and EDS_POLL_INTERVAL_MS', () => {
    expect(ratesSettings({ EDS_URL: 'http://127.0.0.1:4030', EDS_POLL_INTERVAL_MS: '900000' })).toEqual({ edsUrl: 'http://127.0.0.1:4030', pollIntervalMs: 900000 });
  });
  it('refuses a schedule without a URL and a bad interval', () => {
    expect(() => ratesSettings({ EDS_POLL_INTERVAL_MS: '1000' })).toThrow(/needs EDS_URL/);
    expect(() => ratesSettings({ EDS_URL: 'http://x', EDS_POLL_INTERVAL_MS: '-1' })).toThrow(/non-negative integer/);
  });
});
