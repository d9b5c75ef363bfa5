export * from './test-infrastructure';
export * from './eventually';
export { POSTGRES_ADMIN_URL, RABBITMQ_ADMIN_URL, RABBITMQ_AMQP_BASE } from '@dh/provisioning';
export * from './private-servers';
export * from './files';
export * from './prometheus';
export * from './prng';
