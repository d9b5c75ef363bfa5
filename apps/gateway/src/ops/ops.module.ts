import { DynamicModule, Module } from '@nestjs/common';
import { DeadLetterQueues } from '@dh/messaging';
import type { Infrastructure } from '@dh/platform';
import { DEAD_LETTERS, OPS_POOL, OpsController } from './ops.controller';

/** Operations views for staff; the controller is registered by the gateway module (it needs the audit log of AuthModule). */
@Module({})
export class OpsModule {
  static forRoot(infrastructure: Pick<Infrastructure, 'amqp' | 'pool'>): DynamicModule {
    return {
      module: OpsModule,
      providers: [
        { provide: DEAD_LETTERS, useValue: new DeadLetterQueues(infrastructure.amqp, infrastructure.pool) },
        { provide: OPS_POOL, useValue: infrastructure.pool },
      ],
      exports: [DEAD_LETTERS, OPS_POOL],
    };
  }
}

export { OpsController };
