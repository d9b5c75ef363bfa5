export * from './create-customer';
export * from './payload';
export * from './streams';
export * from './register-metering-point';
export * from './processes';
export * from './customer-identity';
export * from './process-manager';
export * from './effective-date-scheduler';
