export * from './events';
export { chargeLinksOf, priceListOf } from './received';
export { recordChargeLinks, recordPriceList, type RecordChargeLinksResult, type RecordPriceListResult } from './record';
