export * from './test-infrastructure';
export * from './eventually';
