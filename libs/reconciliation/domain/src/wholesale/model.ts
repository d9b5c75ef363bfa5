/**
 * The inputs and results of DataHub's wholesale settlement (BRS-027) as Energinet's engine defines them
 * (opengeh-wholesale `calculation/`, contracts `wholesale_results/amounts_per_charge_v1.py`): metering point
 * periods, their metered series, charge links, charge master data and prices in; amounts per charge,
 * monthly sums and totals out. Instants are epoch milliseconds (UTC); quantities integer milli-kWh
 * (kWh with 3 decimals); prices and amounts integer micro-DKK (6 decimals), as DataHub's Decimal(18,3)
 * and Decimal(18,6).
 */

/** DataHub metering point types (CIM codes) and the names its results use (`codelists/metering_point_type.py`). */
export const METERING_POINT_TYPE_NAMES = {
  E17: 'consumption',
  E18: 'production',
  E20: 'exchange',
  D01: 've_production',
  D05: 'net_production',
  D06: 'supply_to_grid',
  D07: 'consumption_from_grid',
  D08: 'wholesale_services_information',
  D09: 'own_production',
  D10: 'net_from_grid',
  D11: 'net_to_grid',
  D12: 'total_consumption',
  D14: 'electrical_heating',
  D15: 'net_consumption',
  D19: 'capacity_settlement',
} as const;
export type MeteringPointTypeCode = keyof typeof METERING_POINT_TYPE_NAMES;

export function isMeteringPointTypeCode(value: string): value is MeteringPointTypeCode {
  return Object.prototype.hasOwnProperty.call(METERING_POINT_TYPE_NAMES, value);
}

/** Parent metering points carry the energy supplier; child points inherit their parent's (`add_parent_data_to_child_metering_point_periods`). */
export const isParentType = (type: MeteringPointTypeCode): boolean => type === 'E17' || type === 'E18' || type === 'E20';

/** D01 flex, E02 non-profiled (CIM `marketEvaluationPoint.settlementMethod`). */
export type SettlementMethodCode = 'D01' | 'E02';
export const SETTLEMENT_METHOD_NAMES: Readonly<Record<SettlementMethodCode, string>> = { D01: 'flex', E02: 'non_profiled' };

/** D01 subscription, D02 fee, D03 tariff. */
export type ChargeTypeCode = 'D01' | 'D02' | 'D03';
export const CHARGE_TYPE_NAMES: Readonly<Record<ChargeTypeCode, string>> = { D01: 'subscription', D02: 'fee', D03: 'tariff' };

export interface ChargeKey {
  readonly owner: string;
  readonly type: ChargeTypeCode;
  readonly code: string;
}
export const chargeKeyId = (k: ChargeKey): string => `${k.owner}:${k.type}:${k.code}`;

/** Qualities as bits, so a set of them is one byte. DataHub's names: `codelists/quantity_quality.py`. */
export const Q_MEASURED = 1;
export const Q_ESTIMATED = 2;
export const Q_MISSING = 4;
export const Q_CALCULATED = 8;
export type QualityName = 'measured' | 'estimated' | 'missing' | 'calculated';
const QUALITY_BITS: readonly [number, QualityName][] = [
  [Q_MEASURED, 'measured'],
  [Q_ESTIMATED, 'estimated'],
  [Q_MISSING, 'missing'],
  [Q_CALCULATED, 'calculated'],
];
export const qualityNames = (bits: number): QualityName[] => QUALITY_BITS.filter(([b]) => (bits & b) !== 0).map(([, n]) => n);
export function qualityBit(name: string): number {
  const found = QUALITY_BITS.find(([, n]) => n === name);
  if (found === undefined) throw new RangeError(`Unknown quality ${JSON.stringify(name)}`);
  return found[0];
}

/** The calculation period: Copenhagen midnights, `end` exclusive (a month in production, days in Energinet's scenarios). */
export interface CalculationPeriod {
  readonly start: number;
  readonly end: number;
}

/** A metering point in a period of unchanged master data (`metering_point_periods`). */
export interface MeteringPointPeriod {
  readonly meteringPointId: string;
  readonly type: MeteringPointTypeCode;
  readonly settlementMethod: SettlementMethodCode | null;
  readonly gridArea: string;
  readonly resolution: 'PT15M' | 'PT1H';
  readonly fromGridArea: string | null;
  readonly toGridArea: string | null;
  readonly parentMeteringPointId: string | null;
  /** Null on child metering points until resolved from the parent. */
  readonly energySupplier: string | null;
  readonly balanceResponsible: string | null;
  readonly from: number;
  /** Exclusive; null open-ended. */
  readonly to: number | null;
}

/**
 * A metering point's metered values over the calculation period at its resolution: slot i starts at
 * period start + i × resolution. `qualities[i] === 0` means DataHub has no value (padded as missing, 0).
 */
export interface MeteredSeries {
  readonly resolution: 'PT15M' | 'PT1H';
  /** Integer milli-kWh (Wh). */
  readonly quantities: ArrayLike<number>;
  readonly qualities: ArrayLike<number>;
}

export interface ChargeLinkPeriod {
  readonly charge: ChargeKey;
  readonly meteringPointId: string;
  /** Pieces of a subscription or fee (DataHub's link "quantity"); not used for tariffs. */
  readonly quantity: number;
  readonly from: number;
  readonly to: number | null;
}

export type ChargeResolution = 'PT1H' | 'P1D' | 'P1M';

export interface ChargePriceInformationPeriod {
  readonly charge: ChargeKey;
  readonly resolution: ChargeResolution;
  readonly isTax: boolean;
  readonly from: number;
  readonly to: number | null;
}

export interface ChargePricePoint {
  readonly charge: ChargeKey;
  /** micro-DKK per kWh or per piece. */
  readonly price: bigint;
  readonly time: number;
}

/** One row of `amounts_per_charge` (hourly tariff, daily tariff, subscription or fee). */
export interface AmountPerCharge {
  readonly gridArea: string;
  readonly energySupplier: string;
  readonly charge: ChargeKey;
  readonly isTax: boolean;
  readonly resolution: 'PT1H' | 'P1D';
  readonly time: number;
  readonly meteringPointType: MeteringPointTypeCode;
  readonly settlementMethod: SettlementMethodCode | null;
  /** milli-kWh for tariffs, milli-pieces for subscriptions and fees (DataHub's Decimal(18,3)). */
  readonly quantity: bigint;
  /** Bits of the qualities of the metered values behind a tariff amount; null for subscriptions and fees. */
  readonly qualities: number | null;
  readonly price: bigint | null;
  readonly amount: bigint | null;
}

export interface MonthlyAmountPerCharge {
  readonly gridArea: string;
  readonly energySupplier: string;
  readonly charge: ChargeKey;
  readonly isTax: boolean;
  readonly time: number;
  readonly amount: bigint | null;
}

export interface TotalMonthlyAmount {
  readonly gridArea: string;
  readonly energySupplier: string;
  /** Null on the total per energy supplier. */
  readonly chargeOwner: string | null;
  readonly time: number;
  readonly amount: bigint | null;
}

export interface WholesaleResults {
  readonly hourlyTariffs: AmountPerCharge[];
  readonly dailyTariffs: AmountPerCharge[];
  readonly subscriptions: AmountPerCharge[];
  readonly fees: AmountPerCharge[];
  readonly monthlyTariffsFromHourly: MonthlyAmountPerCharge[];
  readonly monthlyTariffsFromDaily: MonthlyAmountPerCharge[];
  readonly monthlySubscriptions: MonthlyAmountPerCharge[];
  readonly monthlyFees: MonthlyAmountPerCharge[];
  readonly totalsPerChargeOwner: TotalMonthlyAmount[];
  readonly totalsPerEnergySupplier: TotalMonthlyAmount[];
}
