import { DynamicModule, Module } from '@nestjs/common';
import { DisputeDesk } from '@dh/dispute-desk';
import type { Infrastructure } from '@dh/platform';
import { DISPUTE_DESK } from './dispute-desk.controller';

/** The dispute desk over the event store (read only). Its controllers are registered by the gateway module, which has the command gateway. */
@Module({})
export class DisputeDeskModule {
  static forRoot(infrastructure: Pick<Infrastructure, 'eventStore'>): DynamicModule {
    return { module: DisputeDeskModule, providers: [{ provide: DISPUTE_DESK, useValue: new DisputeDesk(infrastructure.eventStore) }], exports: [DISPUTE_DESK] };
  }
}
