export * from './rate-notifications.projection';
export * from './unusual-consumption';
