export {
  startDataHubChargeIntake,
  recordDataHubChargeMessage,
  RATES_SCHEMA,
  RATES_DATAHUB_CHARGES_QUEUE,
  RATES_DATAHUB_CHARGES_BINDINGS,
  CHARGE_DATA_REJECTED,
  chargeDataRejectionsStreamId,
} from './datahub-charge-intake';
