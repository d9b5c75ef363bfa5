import { Module } from '@nestjs/common';
import { createCustomer, type CreateCustomerRequest } from '@dh/portfolio-application';
import type { JsonValue } from '@dh/event-store';
import { CommandServer, type CommandContext } from '@dh/messaging';
import { runEventRelay, type ServiceDefinition } from '@dh/platform';
import { asCommandReply } from './command-errors';

@Module({})
class PortfolioModule {}

/** Portfolio: customers, metering points, supply periods. Commands arrive over RabbitMQ from the gateway. */
export const portfolioService: ServiceDefinition = {
  name: 'portfolio',
  defaultPort: 3001,
  module: () => ({ module: PortfolioModule }),
  async start(infrastructure) {
    const server = new CommandServer({ connection: infrastructure.amqp });
    const deps = { store: infrastructure.eventStore, protector: infrastructure.vault };
    const contextOf = (context: CommandContext, idempotencyKey: string | undefined) => ({
      correlationId: context.correlationId,
      causationId: context.causationId,
      actor: context.actor ?? 'unknown',
      idempotencyKey,
      now: new Date(),
    });
    await server.handle('portfolio', {
      async CreateCustomer(payload: JsonValue, context) {
        const { idempotencyKey, ...request } = payload as unknown as CreateCustomerRequest & { idempotencyKey?: string };
        const result = await asCommandReply(() => createCustomer(deps, request, contextOf(context, idempotencyKey)));
        return { customerId: result.customerId, alreadyHandled: result.alreadyHandled };
      },
    });
    const stopRelay = await runEventRelay(infrastructure);
    return async () => {
      await server.close();
      await stopRelay();
    };
  },
};
