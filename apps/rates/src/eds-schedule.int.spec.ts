import { startEdsSimulator, type RunningEdsSimulator } from '@dh/eds-sim';
import { createInMemoryEventStore } from '@dh/event-store';
import { EdsClient } from '@dh/rates-application';
import { eventually } from '@dh/testing';
import { DEFAULT_EDS_SCHEDULE, startEdsSchedule, type EdsPlan } from './eds-schedule';

/**
 * The daily Energi Data Service poll on a business clock the test moves (as the demo's simulated clock
 * moves): it catches up at start, waits for the day-ahead auction's results (13:15 Copenhagen time),
 * retries while tomorrow's prices are not published, polls once a day, and catches up after a jump.
 */
describe('EDS schedule on the business clock', () => {
  let sim: RunningEdsSimulator;
  let now = new Date('2026-10-09T07:00:00Z'); // 09:00 in Copenhagen (summer time)
  let ticks = 0;
  let polls = 0;
  let plan: EdsPlan | null = null;
  let stop: () => Promise<void>;
  const store = createInMemoryEventStore();
  const log: string[] = [];

  /** Sets the business clock and waits until the schedule has looked at it twice. */
  const at = async (instant: string): Promise<void> => {
    now = new Date(instant);
    const seen = ticks;
    await eventually(() => expect(ticks).toBeGreaterThanOrEqual(seen + 2), 10_000, 5);
  };
  const day = async (area: string, date: string) => (await store.readStream(`spot-prices-${area}-${date}`)).map((e) => e.data['version']);

  beforeAll(async () => {
    sim = await startEdsSimulator({ port: 0, scenario: { seed: 7 } });
    sim.control.publishThrough('2026-10-09'); // before the auction: tomorrow's prices are not out
    stop = startEdsSchedule({
      store,
      eds: new EdsClient({ baseUrl: sim.url }),
      clock: () => now,
      settings: { ...DEFAULT_EDS_SCHEDULE, tickMs: 10 },
      logger: { log: (m) => log.push(m), warn: (m) => log.push(`WARN ${m}`) },
      onTick: (p, polled) => {
        ticks++;
        if (polled) polls++;
        plan = p;
      },
    });
  });

  afterAll(async () => {
    await stop();
    await sim.stop();
  });

  it('catches up at start (yesterday and today), then waits for 13:15 because tomorrow is not published', async () => {
    await eventually(() => expect(polls).toBe(1), 10_000, 10);
    expect(await day('DK1', '2026-10-08')).toEqual([1]);
    expect(await day('DK2', '2026-10-09')).toEqual([1]);
    expect(await day('DK1', '2026-10-10')).toEqual([]);
    expect(plan).toEqual({ completedFor: null, notBefore: new Date('2026-10-09T11:15:00Z') });
    expect((await store.readStream('charge-5790000432752:D03:41000')).length).toBe(1);
    await at('2026-10-09T11:14:00Z');
    expect(polls).toBe(1);
  });

  it('polls at 13:15 and retries every 15 minutes of business time until tomorrow is published', async () => {
    await at('2026-10-09T11:16:00Z');
    expect(polls).toBe(2);
    expect(plan).toEqual({ completedFor: null, notBefore: new Date('2026-10-09T11:31:00Z') });
    sim.control.publishThrough('2026-10-10');
    await at('2026-10-09T11:25:00Z');
    expect(polls).toBe(2);
    await at('2026-10-09T11:31:00Z');
    expect(polls).toBe(3);
    expect(await day('DK1', '2026-10-10')).toEqual([1]);
    expect(await day('DK2', '2026-10-10')).toEqual([1]);
    expect(plan).toEqual({ completedFor: '2026-10-09', notBefore: null });
  });

  it('polls once a day: nothing more today, the next poll after 13:15 tomorrow', async () => {
    await at('2026-10-09T21:00:00Z');
    await at('2026-10-10T10:00:00Z');
    expect(polls).toBe(3);
    sim.control.publishThrough('2026-10-11');
    await at('2026-10-10T11:15:00Z');
    expect(polls).toBe(4);
    expect(await day('DK1', '2026-10-11')).toEqual([1]);
  });

  it('catches up the days it missed when the clock jumps (service down, or the demo moving a week on)', async () => {
    sim.control.publishThrough(undefined);
    await at('2026-10-16T20:30:00Z');
    expect(polls).toBe(5);
    for (const date of ['2026-10-12', '2026-10-13', '2026-10-14', '2026-10-15', '2026-10-16', '2026-10-17']) expect(await day('DK1', date)).toEqual([1]);
    expect(plan).toEqual({ completedFor: '2026-10-16', notBefore: null });
    expect(log.filter((l) => l.startsWith('WARN'))).toEqual([]);
  });
});
