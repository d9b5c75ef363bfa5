import { Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CommandClient } from '@dh/messaging';
import { AuthModule } from '@dh/auth';
import { allProjections, CustomerReadModel, MeteringPointReadModel, migrateReadModels, ProcessReadModel } from '@dh/read-models';
import type { ServiceDefinition } from '@dh/platform';
import { CommandGateway } from './commands/command-gateway';
import { CustomersController } from './customers/customers.controller';
import { OnboardingService } from './customers/onboarding.service';
import { PortfolioController } from './portfolio/portfolio.controller';
import { ProductChangeController } from './portfolio/product-change.controller';
import { ProcessesController } from './processes/processes.controller';
import { SupplyEndingController } from './processes/supply-ending.controller';
import { QuarantineController } from './staff/quarantine.controller';
import { CustomerSearchController } from './staff/customer-search.controller';
import { ReconciliationController } from './reconciliation/reconciliation.controller';
import { CustomerBalanceController, SettlementController, SETTLEMENT_READ_MODEL_ENTITIES } from './settlement';
import { BetalingsserviceAgreementController, PaymentsController, PAYMENT_READ_MODEL_ENTITIES } from './payments';
import { COMMAND_CLIENT, PII_VAULT } from './tokens';
import { PORTAL_CLOCK, PORTAL_POOL, PortalController, PortalProfileController } from './portal';
import { IDEMPOTENCY_STORE, IdempotencyInterceptor } from './idempotency/idempotency.interceptor';
import { IdempotencyStore } from './idempotency/idempotency.store';
import { WebhooksApiModule } from './webhooks';
import { EdgeModule } from './edge/edge.module';
import { GdprController, GdprModule } from './gdpr/gdpr.module';
import { setupOpenApi } from './openapi/openapi';
import { OpsController, OpsModule } from './ops/ops.module';
import { AuditLogController, DisputeDeskController, DisputeDeskModule } from './dispute-desk';
import { ProductsController, RatesApiModule, StaffRatesController } from './rates';
import { applyCors, applySecurityHeaders } from './edge/security-headers';
import { serveBackOffice } from './edge/back-office';

/** The REST edge: validation, problem+json, commands to the owning services, queries on read models. */
export const gatewayService: ServiceDefinition = {
  name: 'gateway',
  defaultPort: 3000,
  publicHttp: true,
  // The gateway queries read models that the projections service owns; creating them (idempotently)
  // here too means the gateway answers 404 rather than 500 if it starts first.
  start: async (infrastructure, app) => {
    applySecurityHeaders(app);
    applyCors(app);
    await migrateReadModels(infrastructure.pool, allProjections);
    // OpenAPI at /api/docs (JSON: /api/docs/openapi.json), public.
    setupOpenApi(app);
    // The back office web application (apps/back-office), when it was built.
    serveBackOffice(app);
    return async () => undefined;
  },
  module: (infrastructure) => {
    const commandClient = new CommandClient({ connection: infrastructure.amqp, defaultTimeoutMs: infrastructure.config.commandTimeoutMs });
    @Module({
      imports: [
        TypeOrmModule.forRoot({
          type: 'postgres',
          url: infrastructure.config.databaseUrl,
          entities: [CustomerReadModel, ProcessReadModel, MeteringPointReadModel, ...SETTLEMENT_READ_MODEL_ENTITIES, ...PAYMENT_READ_MODEL_ENTITIES],
          synchronize: false,
          extra: { max: 10, application_name: 'gateway-read-models' },
        }),
        TypeOrmModule.forFeature([CustomerReadModel, ProcessReadModel, MeteringPointReadModel, ...SETTLEMENT_READ_MODEL_ENTITIES, ...PAYMENT_READ_MODEL_ENTITIES]),
        AuthModule.forRoot({ pool: infrastructure.pool }),
        WebhooksApiModule.forRoot({ pool: infrastructure.pool, masterKey: infrastructure.config.piiMasterKey }),
        // Rate limits per caller (RATE_LIMITS), JSON-only bodies (415).
        EdgeModule.forRoot(process.env),
        GdprModule.forRoot(infrastructure),
        DisputeDeskModule.forRoot(infrastructure),
        RatesApiModule.forRoot(infrastructure),
        OpsModule.forRoot(infrastructure),
      ],
      controllers: [PortalController, PortalProfileController, CustomersController, SupplyEndingController, ProcessesController, PortfolioController, ProductChangeController, QuarantineController, ReconciliationController, SettlementController, CustomerBalanceController, PaymentsController, BetalingsserviceAgreementController, GdprController, CustomerSearchController, DisputeDeskController, AuditLogController, StaffRatesController, ProductsController, OpsController],
      providers: [
        CommandGateway,
        OnboardingService,
        {
          provide: IDEMPOTENCY_STORE,
          useFactory: async () => {
            const store = new IdempotencyStore(infrastructure.pool);
            await store.migrate();
            return store;
          },
        },
        { provide: APP_INTERCEPTOR, useClass: IdempotencyInterceptor },
        { provide: PII_VAULT, useValue: infrastructure.vault },
        { provide: PORTAL_CLOCK, useValue: infrastructure.clock },
        { provide: PORTAL_POOL, useValue: infrastructure.pool },
        {
          provide: COMMAND_CLIENT,
          useFactory: async () => {
            await commandClient.start();
            return commandClient;
          },
        },
      ],
    })
    class GatewayModule {
      async onApplicationShutdown(): Promise<void> {
        await commandClient.close();
      }
    }
    return { module: GatewayModule };
  },
};
