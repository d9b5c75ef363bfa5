export * from './config/service-config';
export * from './pii/pii-vault';
export * from './logging/mask';
export * from './logging/masking-logger';
export * from './health/health';
export * from './http/problem';
export * from './http/validation';
