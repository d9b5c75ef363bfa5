import type { LocalDate } from '@dh/dk-time';

/** E17 consumption, E18 production, E20 exchange. */
export type MeteringPointType = 'E17' | 'E18' | 'E20';
/** DataHub 3 codes: D01 flex, E02 non-profiled (as in `libs/cim`). */
export type SettlementMethod = 'D01' | 'E02';
export type PriceArea = 'DK1' | 'DK2';
/** Eloverblik before we supply the point (with consent); RSM-022 from DataHub once we do. */
export type MasterDataSource = 'eloverblik' | 'datahub-rsm022';

export type MeteringPointMasterData = {
  type: MeteringPointType;
  settlementMethod: SettlementMethod;
  /** Three-digit grid area code, e.g. "804". */
  gridArea: string;
  priceArea: PriceArea;
  /** The production point beside a consumption point (own solar), when there is one. */
  linkedProductionGsrn: string | null;
};

export interface MeteringPointRegistered {
  type: 'MeteringPointRegistered';
  data: MeteringPointMasterData & { gsrn: string; source: MasterDataSource; at: string };
}
/** RSM-022 received; it arrives on (or for) the date from which the new values apply. */
export interface MasterDataUpdated {
  type: 'MasterDataUpdated';
  data: MeteringPointMasterData & { gsrn: string; effectiveDate: LocalDate; source: MasterDataSource; at: string };
}

export type BillingFrequency = 'monthly' | 'quarterly';
export type PaymentModel = 'aconto' | 'actual';

/**
 * What the customer bought with a supply: chosen on the request (BRS-001/009) or a default product (BRS-044).
 * `electricHeating`: the home is registered for electric heating (elvarme, reduced tax above the yearly
 * threshold), a CRM onboarding field; absent = false.
 */
export type SupplyTerms = { productId: string; billingFrequency: BillingFrequency; paymentModel: PaymentModel; electricHeating?: boolean };

/** What settlement needs about a supply, fixed when it starts (master data as of the start). */
export type SupplySettlementFacts = SupplyTerms & {
  gridArea: string;
  priceArea: PriceArea;
  electricHeating: boolean;
  productionGsrn: string | null;
};

/**
 * A supply period is [startDate, endDate): the end date is the first day no longer supplied.
 * The settlement facts are present when `StartSupply` carried `terms` (the application always does).
 */
export interface SupplyStarted {
  type: 'SupplyStarted';
  data: { gsrn: string; processId: string; customerId: string; startDate: LocalDate; at: string } & Partial<SupplySettlementFacts>;
}

export type SupplyEndReason = 'switched-away' | 'move-out' | 'end-of-supply';

export interface SupplyEnded {
  type: 'SupplyEnded';
  data: { gsrn: string; processId: string; customerId: string; endDate: LocalDate; reason: SupplyEndReason; at: string };
}
/** BRS-003: the period is void from its start; everything invoiced for it is to be credited. */
export interface SupplyReversed {
  type: 'SupplyReversed';
  data: { gsrn: string; processId: string; customerId: string; startDate: LocalDate; incorrectSwitchProcessId: string; at: string };
}

/**
 * The electric-heating registration of the supplied home changed from `from` (a local date inside a
 * standing supply): settlement applies the flag in force (libs/settlement/infra README). The flag a
 * supply starts with is `SupplyStarted.electricHeating` (the CRM's `electric_heating`).
 */
export interface ElectricHeatingSet {
  type: 'ElectricHeatingSet';
  data: { gsrn: string; electricHeating: boolean; from: LocalDate; at: string };
}

/**
 * The production (E18) metering point beside this consumption point (own solar), from `from`:
 * settlement nets its RSM-012 series hourly against consumption. A supply started later carries it
 * as `SupplyStarted.productionGsrn`.
 */
export interface ProductionMeteringPointLinked {
  type: 'ProductionMeteringPointLinked';
  data: { gsrn: string; productionGsrn: string; from: LocalDate; at: string };
}

/**
 * The customer supply standing on `from` changes product from that day (a customer moving from one of our
 * products to another without a new supply): settlement prices the supplied days from `from` with
 * `productId` and corrects invoices already issued for them. The product a supply starts with is
 * `SupplyStarted.productId`.
 */
export interface ProductChanged {
  type: 'ProductChanged';
  data: { gsrn: string; customerId: string; productId: string; from: LocalDate; at: string };
}

export type MeteringPointEvent = MeteringPointRegistered | MasterDataUpdated | SupplyStarted | SupplyEnded | SupplyReversed | ElectricHeatingSet | ProductionMeteringPointLinked | ProductChanged;
