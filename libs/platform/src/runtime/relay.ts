import { createRelay } from '@dh/messaging';
import type { Infrastructure } from './infrastructure';

/**
 * Every writing service runs a relay instance for the shared event store; an advisory lock lets one
 * publish while the others stand by, so the bus keeps flowing when any one process stops. Its state is
 * in readiness and metrics through the connection's worker registry (see `workersHealthCheck`).
 */
export async function runEventRelay(infrastructure: Infrastructure): Promise<() => Promise<void>> {
  const relay = createRelay({
    eventStore: infrastructure.eventStore,
    connection: infrastructure.amqp,
    pool: infrastructure.pool,
    name: 'domain-events',
    exchange: infrastructure.config.exchange,
  });
  await relay.start();
  return () => relay.stop();
}
