export { chargeLinksOf, priceListOf } from './received';
export { recordChargeLinks, recordPriceList, type RecordChargeLinksResult, type RecordPriceListResult } from './record';
export { DataHubChargeCopy, DATAHUB_CHARGE_COPY_BINDINGS, type ChargeInPeriod, type MeteringPointCharges } from './charge-copy';
