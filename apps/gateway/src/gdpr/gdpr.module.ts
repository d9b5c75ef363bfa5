import { DynamicModule, Module } from '@nestjs/common';
import type { Infrastructure } from '@dh/platform';
import { GDPR_EVENT_STORE, GDPR_POOL, GdprController } from './gdpr.controller';

/** GDPR export and erasure for staff; needs `CommandGateway` and `PII_VAULT` from the gateway module (passed in). */
@Module({})
export class GdprModule {
  static forRoot(infrastructure: Pick<Infrastructure, 'pool' | 'eventStore'>): DynamicModule {
    return {
      module: GdprModule,
      providers: [
        { provide: GDPR_POOL, useValue: infrastructure.pool },
        { provide: GDPR_EVENT_STORE, useValue: infrastructure.eventStore },
      ],
      exports: [GDPR_POOL, GDPR_EVENT_STORE],
    };
  }
}

export { GdprController };
