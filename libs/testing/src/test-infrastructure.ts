import { randomBytes } from 'node:crypto';
import { createDatabase, createVhost, type ProvisionedResource } from '@dh/provisioning';

/**
 * Every test file gets its own PostgreSQL database and RabbitMQ vhost, so runs on one machine
 * (a developer's and CI's, or two Jest workers) never see each other's data.
 */

export function uniqueName(prefix: string): string {
  const safe = prefix.toLowerCase().replace(/[^a-z0-9]+/g, '_').slice(0, 24);
  return `dh_test_${safe}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

export type TestDatabase = ProvisionedResource;
export type TestVhost = ProvisionedResource;

export function createTestDatabase(prefix: string): Promise<TestDatabase> {
  return createDatabase(uniqueName(prefix));
}

export function createTestVhost(prefix: string): Promise<TestVhost> {
  return createVhost(uniqueName(prefix));
}
