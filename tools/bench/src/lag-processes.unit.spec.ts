import { monitorEventLoopDelay } from 'node:perf_hooks';
import { LOOP_MONITOR_RESOLUTION_MS, loopDelayFigures, processMonitor } from './lag-processes';
import { tailStages } from './measure';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the lag benchmark’s process figures', () => {
  it('reports an idle event loop as (nearly) undelayed: the monitor’s own timer interval is not a delay', async () => {
    const histogram = monitorEventLoopDelay({ resolution: LOOP_MONITOR_RESOLUTION_MS });
    histogram.enable();
    await sleep(300);
    histogram.disable();
    // The histogram itself records the whole interval between firings: at least the resolution, idle or not.
    expect(histogram.percentile(50) / 1e6).toBeGreaterThanOrEqual(LOOP_MONITOR_RESOLUTION_MS);
    const figures = loopDelayFigures(histogram, LOOP_MONITOR_RESOLUTION_MS);
    expect(figures.p50).toBeGreaterThanOrEqual(0);
    expect(figures.p50).toBeLessThan(LOOP_MONITOR_RESOLUTION_MS / 2);
  });

  it('subtracts the timer interval from every figure and never goes below 0', () => {
    const figures = loopDelayFigures({ percentile: (p: number) => (p === 50 ? 10.25e6 : 34e6), max: 9.9e6 }, 10);
    expect(figures.p50).toBeCloseTo(0.25, 6);
    expect(figures.p99).toBeCloseTo(24, 6);
    expect(figures.max).toBe(0);
  });

  it('blocks of the loop show as delay beyond the interval', async () => {
    const monitor = processMonitor();
    monitor.start();
    for (let i = 0; i < 5; i++) {
      const until = Date.now() + 40;
      while (Date.now() < until) {
        // busy: the loop is blocked for 40 ms
      }
      await sleep(15);
    }
    const figures = monitor.stop();
    expect(figures.max).toBeGreaterThanOrEqual(25);
    expect(figures.max).toBeLessThan(200);
    expect(figures.cpuPercent).toBeGreaterThan(20);
  });

  it('counts garbage collections in the measured period', async () => {
    const monitor = processMonitor();
    monitor.start();
    let keep: { n: number; s: string }[] = [];
    for (let i = 0; i < 400_000; i++) {
      keep.push({ n: i, s: `x${i}` });
      if (keep.length > 10_000) keep = [];
    }
    // GC entries reach the observer asynchronously.
    await sleep(50);
    const figures = monitor.stop();
    expect(keep.length).toBeLessThanOrEqual(10_001);
    expect(figures.gcCount).toBeGreaterThan(0);
    expect(figures.gcMs).toBeGreaterThan(0);
    expect(figures.gcMaxMs).toBeLessThanOrEqual(figures.gcMs);
  });
});

describe('tailStages', () => {
  it('means each stage over the events at or above the threshold only, skipping missing stages', () => {
    const events = [
      { lag: 10, stages: [5, 5] },
      { lag: 100, stages: [20, 80] },
      { lag: 120, stages: [undefined, 90] },
      { lag: 99.9, stages: [1000, 1000] },
    ];
    expect(tailStages(events, ['append', 'consume'], 100)).toEqual([
      { name: 'append', meanMs: 20 },
      { name: 'consume', meanMs: 85 },
    ]);
  });

  it('gives NaN for a stage no tail event has', () => {
    const [only] = tailStages([{ lag: 5, stages: [undefined] }], ['relay'], 1);
    expect(only.name).toBe('relay');
    expect(only.meanMs).toBeNaN();
  });
});
