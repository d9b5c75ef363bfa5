export * from './mask';
export * from './log-scan';
