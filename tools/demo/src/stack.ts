import { startServiceProcess, type ServiceProcess } from '@dh/platform';
import { createDatabase, createVhost, type ProvisionedResource } from '@dh/provisioning';

export const SERVICES = ['portfolio', 'projections', 'datahub-integration', 'rates', 'settlement', 'reconciliation', 'gateway'] as const;
export type ServiceName = (typeof SERVICES)[number];

export interface StackResources {
  database: ProvisionedResource;
  vhost: ProvisionedResource;
}

export interface Stack extends StackResources {
  services: Map<ServiceName, ServiceProcess>;
  url(service: ServiceName): string;
  stop(): Promise<void>;
}

/** A fresh PostgreSQL database (event store and read models) and a fresh RabbitMQ vhost. */
export async function provisionStack(names: { database: string; vhost: string }): Promise<StackResources> {
  const database = await createDatabase(names.database, { replace: true });
  const vhost = await createVhost(names.vhost, { replace: true });
  return { database, vhost };
}

/** The embedded default, one machine: every service as its own process, one after another. */
export async function startStack(resources: StackResources, env: Record<string, string>, log: (line: string) => void): Promise<Stack> {
  const services = new Map<ServiceName, ServiceProcess>();
  const fullEnv = { DATABASE_URL: resources.database.url, AMQP_URL: resources.vhost.url, ...env };
  try {
    for (const name of SERVICES) {
      const started = Date.now();
      const service = await startServiceProcess(name, fullEnv, 60_000);
      services.set(name, service);
      log(`${name.padEnd(20)} ready at ${service.url} (pid ${service.child.pid}, ${Date.now() - started} ms)`);
    }
  } catch (error) {
    await Promise.all([...services.values()].map((s) => s.stop()));
    throw error;
  }
  return {
    ...resources,
    services,
    url(service) {
      const running = services.get(service);
      if (!running) throw new Error(`${service} is not running`);
      return running.url;
    },
    async stop() {
      await Promise.all([...services.values()].map((s) => s.stop()));
    },
  };
}
