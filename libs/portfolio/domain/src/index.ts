export * from './errors';
export * from './customer/customer.events';
export * from './customer/customer.commands';
export * from './customer/customer.state';
export * from './customer/customer.decide';
