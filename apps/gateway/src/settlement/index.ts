export { SettlementController } from './settlement.controller';
export { CustomerBalanceController } from './customer-balance.controller';
export { SETTLEMENT_READ_MODEL_ENTITIES } from '@dh/read-models';
