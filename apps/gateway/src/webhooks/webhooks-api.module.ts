import { Module, type DynamicModule } from '@nestjs/common';
import type { Pool } from 'pg';
import { WebhookStore, type HostResolver, type WebhookTargetPolicy } from '@dh/webhooks';
import { WebhooksController } from './webhooks.controller';

export interface WebhooksApiOptions {
  pool: Pool;
  /** Encrypts the subscription secrets at rest (the service master key, `PII_MASTER_KEY`). */
  masterKey: Buffer;
  /** Where subscriptions may point. Default: from the environment (public addresses only in production). */
  policy?: WebhookTargetPolicy;
  /** For tests: how host names resolve at registration. */
  resolver?: HostResolver;
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
            const store = new WebhookStore(options.pool, {
              masterKey: options.masterKey,
              ...(options.policy === undefined ? {} : { policy: options.policy }),
              ...(options.resolver === undefined ? {} : { resolver: options.resolver }),
            });
            await store.migrate();
            return store;
          },
        },
      ],
    };
  }
}
