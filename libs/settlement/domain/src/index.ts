export type { MeteringPoint, SupplyPeriod, BillingPeriod, MeteredInterval, MeteredSeries, Product, SettlementInput, LinkedFee } from './settlement-input';
export type { SettlementHalted, HaltReason } from './settlement-halted';
export type { LineKind, InvoiceLine, InvoiceTotals, Invoice, VatMode } from './invoice';
export { VAT_MODES, isVatMode, withVatMode, feeLineKey } from './invoice';
export type { SettlementResult } from './prepare';
export { settleMeteringPoint, settleMeteringPointOnPrices, type SettleOptions, type MeteringPointOnPrices } from './settle';
export { resolvePeriodPrices, type PeriodPrices, type PeriodDay, type HourlyCharge, type SubscriptionCharge } from './kernel/period-prices';
export {
  INTERVAL_MISSING,
  INTERVAL_MEASURED,
  INTERVAL_ESTIMATED,
  MAX_INTERVAL_WH,
  emptyQuantities,
  intervalStateOf,
  meteredQuantitiesOf,
  maxIntervalWh,
  type MeteredQuantities,
} from './kernel/metered-quantities';
export { packedQuantitiesOf, type PackedMeteredDay } from './kernel/packed-quantities';
export { settleReference } from './settle-reference';
export { electricHeatingThresholdMilliKwh, suppliedDaysInYear } from './supply';
export type { CorrectionLine, CorrectionNote } from './corrections';
export { diffInvoices, creditInFull, correctedTotals, InvoiceMismatchError } from './corrections';
export type { AcontoEstimate, AcontoSettlement, AllInPriceInput } from './aconto';
export { acontoQuarterlyAmount, acontoSettlement, expectedAllInPricePerKwh, vatIncluded, ALL_IN_PRICE_DECIMALS } from './aconto';
export { formatUnitPrice } from './invoice';
export type { ChargeRole, ChargeRowUse, ChargeUse, FeeUse, InputsUsed, SpotDayUse } from './inputs-used';
export { inputsUsed, inputsUsedOrHalted, LINE_PRICE_SOURCES } from './inputs-used';
