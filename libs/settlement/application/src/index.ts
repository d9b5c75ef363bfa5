export * from './events';
export * from './ids';
export * from './period';
export * from './invoice-codec';
export * from './settlement-input';
export * from './run';
export * from './commands';
export * from './aconto';
