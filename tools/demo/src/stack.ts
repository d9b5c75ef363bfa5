import { startServiceProcess, type ServiceProcess } from '@dh/platform';
import { createDatabase, createVhost, type ProvisionedResource } from '@dh/provisioning';

export const SERVICES = ['portfolio', 'projections', 'datahub-integration', 'rates', 'settlement', 'reconciliation', 'gateway'] as const;
export type ServiceName = (typeof SERVICES)[number];

export interface Stack {
  database: ProvisionedResource;
  vhost: ProvisionedResource;
  services: Map<ServiceName, ServiceProcess>;
  url(service: ServiceName): string;
  stop(): Promise<void>;
}

/**
 * The embedded default, one machine: a fresh PostgreSQL database (event store and read models),
 * a fresh RabbitMQ vhost, and every service as its own process.
 */
export async function startStack(options: { database: string; vhost: string; log: (line: string) => void }): Promise<Stack> {
  const database = await createDatabase(options.database, { replace: true });
  const vhost = await createVhost(options.vhost, { replace: true });
  options.log(`database ${database.name} and RabbitMQ vhost ${vhost.name} created`);
  const services = new Map<ServiceName, ServiceProcess>();
  const env = { DATABASE_URL: database.url, AMQP_URL: vhost.url };
  try {
    for (const name of SERVICES) {
      const started = Date.now();
      const service = await startServiceProcess(name, env);
      services.set(name, service);
      options.log(`${name.padEnd(20)} ready at ${service.url} (pid ${service.child.pid}, ${Date.now() - started} ms)`);
    }
  } catch (error) {
    await Promise.all([...services.values()].map((s) => s.stop()));
    throw error;
  }
  return {
    database,
    vhost,
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
