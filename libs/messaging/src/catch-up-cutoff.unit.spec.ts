import { catchUpCutoffFromEnv, DEFAULT_CATCH_UP_CUTOFF } from './catch-up-cutoff';

describe('catchUpCutoffFromEnv', () => {
  const queue = 'datahub.outbound-requests';

  it('defaults to a window of one day', () => {
    expect(catchUpCutoffFromEnv({}, queue)).toEqual({ windowMs: 24 * 3_600_000 });
    expect(DEFAULT_CATCH_UP_CUTOFF).toEqual({ windowMs: 86_400_000 });
  });

  it('takes the most specific setting: the queue’s instant, the queue’s window, the global instant, the global window', () => {
    const all = {
      CATCH_UP_FROM_DATAHUB_OUTBOUND_REQUESTS: '2026-12-01T00:00:00Z',
      CATCH_UP_WINDOW_HOURS_DATAHUB_OUTBOUND_REQUESTS: '2',
      CATCH_UP_FROM: '2026-11-01T00:00:00+01:00',
      CATCH_UP_WINDOW_HOURS: '0.5',
    };
    expect(catchUpCutoffFromEnv(all, queue)).toEqual({ from: new Date('2026-12-01T00:00:00Z') });
    expect(catchUpCutoffFromEnv({ ...all, CATCH_UP_FROM_DATAHUB_OUTBOUND_REQUESTS: '' }, queue)).toEqual({ windowMs: 7_200_000 });
    expect(catchUpCutoffFromEnv({ CATCH_UP_FROM: all.CATCH_UP_FROM, CATCH_UP_WINDOW_HOURS: '0.5' }, queue)).toEqual({ from: new Date('2026-10-31T23:00:00Z') });
    expect(catchUpCutoffFromEnv({ CATCH_UP_WINDOW_HOURS: '0.5' }, queue)).toEqual({ windowMs: 1_800_000 });
    // Another queue does not see this one's settings.
    expect(catchUpCutoffFromEnv({ CATCH_UP_WINDOW_HOURS_DATAHUB_OUTBOUND_REQUESTS: '2' }, 'webhooks.dispatcher')).toEqual(DEFAULT_CATCH_UP_CUTOFF);
    expect(catchUpCutoffFromEnv({ CATCH_UP_WINDOW_HOURS_WEBHOOKS_DISPATCHER: '0' }, 'webhooks.dispatcher')).toEqual({ windowMs: 0 });
  });

  it('refuses a value that does not parse, naming the variable', () => {
    expect(() => catchUpCutoffFromEnv({ CATCH_UP_FROM: '2026-12-01' }, queue)).toThrow(/CATCH_UP_FROM must be an ISO instant with a zone/);
    expect(() => catchUpCutoffFromEnv({ CATCH_UP_FROM: 'yesterday' }, queue)).toThrow(/CATCH_UP_FROM/);
    expect(() => catchUpCutoffFromEnv({ CATCH_UP_WINDOW_HOURS_DATAHUB_OUTBOUND_REQUESTS: '-1' }, queue)).toThrow(/CATCH_UP_WINDOW_HOURS_DATAHUB_OUTBOUND_REQUESTS must be a number of hours/);
    expect(() => catchUpCutoffFromEnv({ CATCH_UP_WINDOW_HOURS: 'a day' }, queue)).toThrow(/CATCH_UP_WINDOW_HOURS/);
  });
});
