import { RunActivity } from './runs';

describe('RunActivity (what a reconciliation run waits on, for the scheduler watchdog)', () => {
  it('names every call in flight with how long it has waited, and forgets each when it settles', async () => {
    const activity = new RunActivity();
    let release: () => void = () => undefined;
    const stuck = activity.track('inputs.meteredData', () => new Promise<void>((resolve) => (release = resolve)));
    const failed = activity.track('event store.appendToStream', () => Promise.reject(new Error('refused')));
    await expect(failed).rejects.toThrow('refused');
    const at = Date.now() + 95_000;
    expect(activity.describe(at)).toMatch(/^inputs\.meteredData for 9[45] s$/);
    release();
    await stuck;
    expect(activity.describe()).toBe('nothing (computing)');
  });
});
