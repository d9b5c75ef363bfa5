export { SettlementController, CustomerBalanceController } from './settlement.controller';
export { SETTLEMENT_READ_MODEL_ENTITIES } from '@dh/read-models';
