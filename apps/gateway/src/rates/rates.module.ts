import { DynamicModule, Module } from '@nestjs/common';
import type { Infrastructure } from '@dh/platform';
import { RATES_CLOCK, RATES_EVENT_STORE, RATES_POOL } from './staff-rates.controller';

/** What the rates controllers read: the read models' pool, the rates streams, and business time (today). */
@Module({})
export class RatesApiModule {
  static forRoot(infrastructure: Pick<Infrastructure, 'pool' | 'eventStore' | 'clock'>): DynamicModule {
    return {
      module: RatesApiModule,
      providers: [
        { provide: RATES_POOL, useValue: infrastructure.pool },
        { provide: RATES_EVENT_STORE, useValue: infrastructure.eventStore },
        { provide: RATES_CLOCK, useValue: infrastructure.clock },
      ],
      exports: [RATES_POOL, RATES_EVENT_STORE, RATES_CLOCK],
    };
  }
}
