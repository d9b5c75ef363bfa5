export * from './world';
export * from './stack';
