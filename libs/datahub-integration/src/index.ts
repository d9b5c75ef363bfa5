export * from './inbound-events';
export * from './inbound-store';
export * from './quarantine.store';
export * from './datahub-inbox';
export * from './outbound-requests';
export * from './outbound-worker';
export * from './metering-point-lookup';
export * from './betalingsservice';
