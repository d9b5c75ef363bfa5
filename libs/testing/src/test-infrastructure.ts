import { createDatabase, createVhost, uniqueResourceName, type ProvisionedResource } from '@dh/provisioning';

/**
 * Every test file gets its own PostgreSQL database and RabbitMQ vhost, so runs on one machine
 * (a developer's and CI's, or two Jest workers) never see each other's data.
 */

export const uniqueName = (prefix: string): string => uniqueResourceName('test', prefix);

export type TestDatabase = ProvisionedResource;
export type TestVhost = ProvisionedResource;

export function createTestDatabase(prefix: string): Promise<TestDatabase> {
  return createDatabase(uniqueName(prefix));
}

export function createTestVhost(prefix: string): Promise<TestVhost> {
  return createVhost(uniqueName(prefix));
}
