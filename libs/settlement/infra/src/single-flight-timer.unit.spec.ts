import { singleFlightTimer } from './single-flight-timer';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('singleFlightTimer', () => {
  it('never runs two passes at once, goes on after a failed pass, and stop waits for the pass in flight', async () => {
    let active = 0;
    let most = 0;
    let started = 0;
    let finished = 0;
    const errors: unknown[] = [];
    const timer = singleFlightTimer(
      async () => {
        started += 1;
        active += 1;
        most = Math.max(most, active);
        await sleep(30);
        active -= 1;
        finished += 1;
        if (started === 1) throw new Error('first pass fails');
      },
      5,
      (error) => errors.push(error),
    );
    await sleep(150);
    await timer.stop();
    expect(most).toBe(1);
    expect(started).toBeGreaterThanOrEqual(2);
    expect(finished).toBe(started);
    expect(errors).toEqual([new Error('first pass fails')]);
    const after = started;
    await sleep(30);
    expect(started).toBe(after);
  });

  it('runs nothing with an interval of 0', async () => {
    let started = 0;
    const timer = singleFlightTimer(async () => void (started += 1), 0, () => undefined);
    await sleep(20);
    await timer.stop();
    expect(started).toBe(0);
  });
});
