import { Module, type DynamicModule } from '@nestjs/common';
import type { Pool } from 'pg';
import { WebhookStore } from '@dh/webhooks';
import { WebhooksController } from './webhooks.controller';

export interface WebhooksApiOptions {
  pool: Pool;
  /** Encrypts the subscription secrets at rest (the service master key, `PII_MASTER_KEY`). */
  masterKey: Buffer;
  /** Refuse http targets. Default: NODE_ENV === 'production'. */
  production?: boolean;
}

/** `/api/webhooks`: registration, listing, deletion, delivery log and manual redelivery. Creates schema `webhooks` at start. */
@Module({})
export class WebhooksApiModule {
  static forRoot(options: WebhooksApiOptions): DynamicModule {
    return {
      module: WebhooksApiModule,
      controllers: [WebhooksController],
      providers: [
        {
          provide: WebhookStore,
          useFactory: async () => {
            const store = new WebhookStore(options.pool, { masterKey: options.masterKey, ...(options.production === undefined ? {} : { production: options.production }) });
            await store.migrate();
            return store;
          },
        },
      ],
    };
  }
}
