export * from './settlement.projection';
export * from './settlement.entities';
