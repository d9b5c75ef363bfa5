import type { LocalDate } from '@dh/dk-time';
import type { MasterDataSource, MeteringPointMasterData, SupplyEndReason, SupplyTerms } from './metering-point.events';

export interface RegisterMeteringPoint {
  type: 'RegisterMeteringPoint';
  data: MeteringPointMasterData & { gsrn: string; source: MasterDataSource; now: Date };
}
export interface UpdateMasterData {
  type: 'UpdateMasterData';
  data: MeteringPointMasterData & { gsrn: string; effectiveDate: LocalDate; now: Date };
}
/** `processId` is the case (BRS-001, BRS-009 or BRS-044) that started the supply; it names the period. */
export interface StartSupply {
  type: 'StartSupply';
  data: { gsrn: string; processId: string; customerId: string; startDate: LocalDate; now: Date; terms?: SupplyTerms };
}
export interface EndSupply {
  type: 'EndSupply';
  data: { gsrn: string; processId: string; endDate: LocalDate; reason: SupplyEndReason; now: Date };
}
export interface ReverseSupply {
  type: 'ReverseSupply';
  data: { gsrn: string; processId: string; incorrectSwitchProcessId: string; now: Date };
}

/** A change of the electric-heating registration from `from` (inside a standing supply). */
export interface SetElectricHeating {
  type: 'SetElectricHeating';
  data: { gsrn: string; electricHeating: boolean; from: LocalDate; now: Date };
}
/** Links the production (E18) metering point beside this consumption point, from `from`. */
export interface LinkProductionMeteringPoint {
  type: 'LinkProductionMeteringPoint';
  data: { gsrn: string; productionGsrn: string; from: LocalDate; now: Date };
}

/**
 * The customer supply standing on `from` changes to product `productId` from that day. With `customerId` (the
 * gateway's route names the customer), that supply must be this customer's.
 */
export interface ChangeProduct {
  type: 'ChangeProduct';
  data: { gsrn: string; productId: string; from: LocalDate; customerId?: string; now: Date };
}

export type MeteringPointCommand = RegisterMeteringPoint | UpdateMasterData | StartSupply | EndSupply | ReverseSupply | SetElectricHeating | LinkProductionMeteringPoint | ChangeProduct;
