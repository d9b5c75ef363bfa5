export * from './test-infrastructure';
export * from './eventually';
export * from './service-process';
