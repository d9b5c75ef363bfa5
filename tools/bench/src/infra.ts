import type { MessagingLogger } from '@dh/messaging';
import { createDatabase, createVhost, RABBITMQ_ADMIN_URL, uniqueResourceName, type ProvisionedResource } from '@dh/provisioning';

/** A private PostgreSQL database and RabbitMQ vhost per benchmark run, dropped at the end. */
export { RABBITMQ_ADMIN_URL };
export type Disposable = ProvisionedResource;

export const uniqueName = (prefix: string): string => uniqueResourceName('bench', prefix);

export const createBenchDatabase = (prefix: string): Promise<Disposable> => createDatabase(uniqueName(prefix));

/** Needs the rabbitmq_management plugin (`tools/scripts/ensure-services.sh` enables it). */
export const createBenchVhost = (prefix: string): Promise<Disposable> => createVhost(uniqueName(prefix));

/** Relay and consumer chatter ("Relay x: active") stays off stdout; warnings and errors go to stderr. */
export const benchLogger: MessagingLogger = {
  log: () => undefined,
  warn: (message) => console.error(`[warn] ${message}`),
  error: (message, trace) => console.error(`[error] ${message}${trace ? `\n${trace}` : ''}`),
};

/** Last-in-first-out clean-up of everything a run created; every step runs even if one fails. */
export class Cleanup {
  private readonly steps: Array<{ label: string; run: () => Promise<void> }> = [];

  add(label: string, run: () => Promise<void>): void {
    this.steps.push({ label, run });
  }

  async runAll(): Promise<string[]> {
    const failures: string[] = [];
    while (this.steps.length > 0) {
      const step = this.steps.pop();
      if (!step) break;
      try {
        await step.run();
      } catch (error) {
        failures.push(`${step.label}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    return failures;
  }
}
