export * from './consumption.projection';
export * from './deflate-part';
