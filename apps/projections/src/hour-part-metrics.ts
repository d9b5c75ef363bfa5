import { Counter, Gauge, type Registry } from 'prom-client';
import type { HourPartFillerStats } from '@dh/read-models';

/**
 * The hour parts' filler (`startHourPartFiller`): parts made (`dh_consumption_hour_parts_made_total`) and whether its
 * last round failed (`dh_consumption_hour_parts_filler_failing`; the reason is in the warning log). While it fails,
 * hour answers stay text (correct, larger).
 */
export function registerHourPartMetrics(stats: () => HourPartFillerStats, registry: Registry): void {
  new Counter({
    name: 'dh_consumption_hour_parts_made_total',
    help: 'Deflate parts of consumption hour rows made by the filler (gzip answers of the portal hour view)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(stats().made);
    },
  });
  new Gauge({
    name: 'dh_consumption_hour_parts_filler_failing',
    help: '1 while the last round of the hour parts filler failed',
    registers: [registry],
    collect() {
      this.set(stats().failing ? 1 : 0);
    },
  });
}
