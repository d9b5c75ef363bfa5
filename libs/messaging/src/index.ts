export * from './envelope';
export * from './topology';
export * from './logger';
export * from './schema';
export * from './amqp-connection';
export * from './relay';
export * from './inbox-consumer';
export * from './command-bus';
