export * from './provisioning';
export * from './ports';
