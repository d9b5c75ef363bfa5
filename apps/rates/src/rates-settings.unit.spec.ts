import { DEFAULT_EDS_SCHEDULE } from './eds-schedule';
import { ENERGI_DATA_SERVICE_URL, ratesSettings } from './rates.service-definition';

describe('rates settings', () => {
  it('polls daily at 13:15 after the day-ahead auction whenever an Energi Data Service is configured', () => {
    expect(ratesSettings({ EDS_URL: 'http://127.0.0.1:4030' })).toEqual({ edsUrl: 'http://127.0.0.1:4030', schedule: DEFAULT_EDS_SCHEDULE });
    expect(ratesSettings({ NODE_ENV: 'production' })).toEqual({ edsUrl: ENERGI_DATA_SERVICE_URL, schedule: DEFAULT_EDS_SCHEDULE });
  });
  it('has no EDS (and no schedule) outside production unless configured', () => {
    expect(ratesSettings({})).toEqual({ edsUrl: null, schedule: null });
  });
  it('reads EDS_SCHEDULE, EDS_POLL_AT and EDS_RETRY_MINUTES', () => {
    expect(ratesSettings({ EDS_URL: 'http://x', EDS_SCHEDULE: 'off' })).toEqual({ edsUrl: 'http://x', schedule: null });
    expect(ratesSettings({ EDS_URL: 'http://x', EDS_POLL_AT: '14:05', EDS_RETRY_MINUTES: '5' }).schedule).toMatchObject({ pollAt: { hour: 14, minute: 5 }, retryMs: 300_000 });
  });
  it('refuses bad settings and the retired interval poll', () => {
    expect(() => ratesSettings({ EDS_SCHEDULE: 'daily' })).toThrow(/needs EDS_URL/);
    expect(() => ratesSettings({ EDS_URL: 'http://x', EDS_POLL_AT: '25:00' })).toThrow(/HH:MM/);
    expect(() => ratesSettings({ EDS_URL: 'http://x', EDS_RETRY_MINUTES: '0' })).toThrow(/1 to 1440/);
    expect(() => ratesSettings({ EDS_URL: 'http://x', EDS_SCHEDULE: 'hourly' })).toThrow(/daily/);
    expect(() => ratesSettings({ EDS_URL: 'http://x', EDS_POLL_INTERVAL_MS: '900000' })).toThrow(/replaced by the daily schedule/);
  });
});
