export * from './consumption.projection';
