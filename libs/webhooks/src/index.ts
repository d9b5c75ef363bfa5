export * from './backoff';
export * from './dispatcher';
export * from './json-schema-check';
export * from './migrations';
export * from './secret-box';
export * from './signature';
export * from './target-url';
export * from './webhook-store';
