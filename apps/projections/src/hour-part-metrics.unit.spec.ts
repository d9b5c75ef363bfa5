import { Registry } from 'prom-client';
import type { HourPartFillerStats } from '@dh/read-models';
import { registerHourPartMetrics } from './hour-part-metrics';

describe('hour part metrics', () => {
  it('expose the parts made and whether the filler is failing, as its stats say at each scrape', async () => {
    const registry = new Registry();
    let stats: HourPartFillerStats = { made: 1200, failedRounds: 0, failing: false, lastError: null };
    registerHourPartMetrics(() => stats, registry);
    let text = await registry.metrics();
    expect(text).toMatch(/^dh_consumption_hour_parts_made_total 1200$/m);
    expect(text).toMatch(/^dh_consumption_hour_parts_filler_failing 0$/m);
    stats = { made: 1700, failedRounds: 1, failing: true, lastError: 'connection refused' };
    text = await registry.metrics();
    expect(text).toMatch(/^dh_consumption_hour_parts_made_total 1700$/m);
    expect(text).toMatch(/^dh_consumption_hour_parts_filler_failing 1$/m);
  });
});
