export * from './schema';
export * from './copies';
export * from './settle';
export * from './runtime';
export * from './aconto';
export * from './payments';
export * from './reminders';
export * from './explain';
