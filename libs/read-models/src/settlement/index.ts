export * from './settlement.projection';
export * from './settlement.entities';
export * from './payments.projection';
export * from './payments.entities';
