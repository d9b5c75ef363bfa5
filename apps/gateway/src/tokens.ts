export const COMMAND_CLIENT = Symbol('COMMAND_CLIENT');
export const PII_VAULT = Symbol('PII_VAULT');
