export { ChargeDataError } from './errors';
export type { DataHubPriceResolution, PriceSeriesPoint, ChargePriceSeries, PriceSeriesShape, ChargePriceAt } from './price-series';
export { priceTimes, priceSeriesShape, validatePriceSeries, seriesPriceAt, pricesInPeriod } from './price-series';
export type { ChargeKey, ChargeLink, ChargeLinkInPeriod, ChargeInformation } from './charge-links';
export { CHARGE_TYPES, isChargeType, chargeIdOfKey, chargeLinkIdentity, validateChargeLink, currentChargeLinks, linksInPeriod, chargeInformationPeriods } from './charge-links';
export * from './events';
