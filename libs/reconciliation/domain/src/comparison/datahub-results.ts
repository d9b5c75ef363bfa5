import type { ChargeTypeCode, MeteringPointTypeCode, SettlementMethodCode } from '../wholesale/model';

/**
 * A DataHub result as reconciliation keeps it: which calculation it is (business reason, settlement version of a
 * correction, DataHub's calculation version), so that a later calculation of the same period and grid area
 * supersedes an earlier one while both stay readable.
 */
export interface ResultVersion {
  /** D03 preliminary aggregation, D04 balance fixing, D05 wholesale fixing, D32 correction settlement. */
  readonly businessReason: string;
  /** D01–D03 on a correction settlement (first, second, third); null otherwise. */
  readonly settlementVersion: string | null;
  /** DataHub's calculation version (Series `version`); null when DataHub sent none. */
  readonly calculationVersion: number | null;
}

const REASON_RANK: Readonly<Record<string, number>> = { D03: 1, D04: 2, D05: 3, D32: 4 };
const SETTLEMENT_RANK: Readonly<Record<string, number>> = { D01: 1, D02: 2, D03: 3 };

/**
 * Orders calculations of one period: preliminary aggregation < balance fixing < wholesale fixing < first <
 * second < third correction settlement (BRS-023/027; datahub-formats.md §2 "settlement_Series.version"); within
 * the same kind, the higher calculation version. Positive when `a` supersedes `b`.
 */
export function compareResultVersions(a: ResultVersion, b: ResultVersion): number {
  const rank = (v: ResultVersion) => [REASON_RANK[v.businessReason] ?? 0, v.settlementVersion === null ? 0 : (SETTLEMENT_RANK[v.settlementVersion] ?? 0), v.calculationVersion ?? 0];
  const [x, y] = [rank(a), rank(b)];
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
}

export const resultVersionLabel = (v: ResultVersion): string => `${v.businessReason}${v.settlementVersion ? `/${v.settlementVersion}` : ''}${v.calculationVersion === null ? '' : ` v${v.calculationVersion}`}`;

export interface DataHubWholesalePoint {
  readonly time: number;
  /** milli-kWh or milli-pieces; null when DataHub sent none. */
  readonly quantity: bigint | null;
  readonly price: bigint | null;
  /** micro-DKK; DataHub writes 0 where the amount is null (no price). */
  readonly amount: bigint;
}

/** One RSM-019 series: amounts per charge (PT1H, P1D), a monthly sum (P1M with a charge) or a total (P1M without). */
export interface DataHubWholesaleSeries {
  readonly chargeOwner: string | null;
  readonly chargeType: ChargeTypeCode | null;
  readonly chargeCode: string | null;
  readonly meteringPointType: MeteringPointTypeCode | null;
  readonly settlementMethod: SettlementMethodCode | null;
  readonly resolution: 'PT1H' | 'P1D' | 'P1M';
  readonly points: readonly DataHubWholesalePoint[];
}

/** One RSM-014 series for us: energy of a metering point type and settlement method per quarter or hour. */
export interface DataHubEnergySeries {
  readonly meteringPointType: MeteringPointTypeCode;
  readonly settlementMethod: SettlementMethodCode | null;
  readonly resolution: 'PT15M' | 'PT1H';
  readonly start: number;
  /** milli-kWh per slot (null: no value). */
  readonly quantities: readonly (bigint | null)[];
}
