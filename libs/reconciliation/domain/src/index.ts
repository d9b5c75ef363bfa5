export * from './wholesale/model';
export { PeriodCalendar, MS_HOUR, MS_QUARTER } from './wholesale/calendar';
export { buildChargeSchedules, type ChargeSchedule, type ChargeSlots } from './wholesale/charge-schedule';
export { WholesaleCalculation, sumWithinMonth, type WholesaleCalculationOptions } from './wholesale/wholesale-calculation';
export { amountOf, sumAmounts, totalsPerChargeOwner, totalsPerEnergySupplier } from './wholesale/monthly';
export { EnergyCalculation, roundQuarterQuantity, type EnergyGroupKind, type EnergyGroupResult, type EnergySeries, type GridLossResult } from './wholesale/energy-calculation';
export { settleWholesaleBasis, withParentSuppliers, type WholesaleBasis } from './wholesale/settle-basis';
