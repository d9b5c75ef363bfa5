export * from './create-customer';
