import type { Period } from '@dh/dk-time';
import type { DataHubEnergySeries, DataHubWholesaleSeries, InvoicedCharge, MeteredSeries, MeteringPointTypeCode, ResultVersion, SettlementMethodCode } from '@dh/reconciliation-domain';
import type { ChargeInPeriod } from './charges';
import type { ChargeLinkInPeriod } from '@dh/rates-domain';

/** A metering point we supply in the grid area during the period, with the spans we supply it (UTC ms, clamped). */
export interface OurMeteringPoint {
  readonly gsrn: string;
  readonly type: MeteringPointTypeCode;
  readonly settlementMethod: SettlementMethodCode | null;
  readonly spans: readonly { readonly from: number; readonly to: number }[];
}

/** A metering point's metered data in the period as we hold it: the latest version of each day. */
export interface OurSeries {
  readonly gsrn: string;
  readonly series: MeteredSeries;
  /** Days (local dates) for which we hold data. */
  readonly days: number;
}

/** A day of which we received a newer version after DataHub calculated: what DataHub then likely used, and ours. */
export interface VersionChange {
  readonly gsrn: string;
  readonly day: string;
  /** Slot start → milli-kWh, at the series' resolution. */
  readonly previous: ReadonlyMap<number, bigint>;
  readonly latest: ReadonlyMap<number, bigint>;
  readonly resolution: 'PT15M' | 'PT1H';
  readonly receivedAt: string;
}

export interface DataHubResultSet<S> {
  readonly version: ResultVersion;
  readonly receivedAt: Date;
  readonly series: readonly S[];
}

/**
 * What reconciliation reads; adapters in `@dh/reconciliation-infra` (its own copies in schema `reconciliation`,
 * and settlement's metered data store). Metered data is read in batches of metering points, never all at once.
 */
export interface ReconciliationInputs {
  ourMeteringPoints(gridArea: string, period: Period): Promise<OurMeteringPoint[]>;
  /** Metering points DataHub sent us metered data for in the period although we supply them in no part of it. */
  meteringPointsWithDataNotSupplied(period: Period): Promise<string[]>;
  links(gsrns: readonly string[], period: Period): Promise<Map<string, ChargeLinkInPeriod[]>>;
  /** Charges linked to any of these metering points in the period. */
  linkedChargeIds(gsrns: readonly string[], period: Period): Promise<string[]>;
  charges(chargeIds: readonly string[], period: Period): Promise<Map<string, ChargeInPeriod>>;
  meteredData(gsrns: readonly string[], period: Period): Promise<OurSeries[]>;
  /** Days in the period of these metering points with a version received after `after`, and the version before it. */
  versionChanges(gsrns: readonly string[], period: Period, after: Date): Promise<VersionChange[]>;
  datahubEnergy(gridArea: string, period: string): Promise<DataHubResultSet<DataHubEnergySeries> | null>;
  datahubWholesale(gridArea: string, period: string): Promise<DataHubResultSet<DataHubWholesaleSeries> | null>;
  invoiced(gridArea: string, period: Period): Promise<InvoicedCharge[]>;
}
