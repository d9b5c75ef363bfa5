import type { LocalDate } from '@dh/dk-time';
import type { MeteringPointEvent, MeteringPointMasterData, SupplyEndReason } from './metering-point.events';

export interface SupplyPeriod {
  processId: string;
  customerId: string;
  startDate: LocalDate;
  /** Exclusive; null while open. */
  endDate: LocalDate | null;
  endReason: SupplyEndReason | null;
  reversedBy: string | null;
}

export interface MasterDataVersion {
  /** null for the values known at registration (before any RSM-022). */
  effectiveDate: LocalDate | null;
  masterData: MeteringPointMasterData;
}

export type MeteringPointState =
  | { status: 'none' }
  | {
      status: 'registered';
      gsrn: string;
      /** The latest values by effective date. */
      masterData: MeteringPointMasterData;
      history: MasterDataVersion[];
      /** In start order. */
      supplyPeriods: SupplyPeriod[];
      /** `SetElectricHeating` changes, in the order recorded. */
      electricHeatingChanges?: { from: LocalDate; electricHeating: boolean }[];
      /** The latest `LinkProductionMeteringPoint` (wins over master data's `linkedProductionGsrn` for new supplies). */
      productionLink?: { productionGsrn: string; from: LocalDate } | null;
      /** `ChangeProduct` changes, in the order recorded. */
      productChanges?: { from: LocalDate; productId: string }[];
    };

export const initialMeteringPointState = (): MeteringPointState => ({ status: 'none' });

export const masterDataOf = (data: MeteringPointMasterData): MeteringPointMasterData => ({
  type: data.type,
  settlementMethod: data.settlementMethod,
  gridArea: data.gridArea,
  priceArea: data.priceArea,
  linkedProductionGsrn: data.linkedProductionGsrn,
});

const byEffectiveDate = (a: MasterDataVersion, b: MasterDataVersion): number => (a.effectiveDate ?? '').localeCompare(b.effectiveDate ?? '');

export function evolveMeteringPoint(state: MeteringPointState, event: MeteringPointEvent): MeteringPointState {
  switch (event.type) {
    case 'MeteringPointRegistered': {
      const masterData = masterDataOf(event.data);
      return { status: 'registered', gsrn: event.data.gsrn, masterData, history: [{ effectiveDate: null, masterData }], supplyPeriods: [] };
    }
    case 'MasterDataUpdated': {
      if (state.status === 'none') return state;
      const history = [...state.history.filter((v) => v.effectiveDate !== event.data.effectiveDate), { effectiveDate: event.data.effectiveDate, masterData: masterDataOf(event.data) }].sort(
        byEffectiveDate,
      );
      return { ...state, history, masterData: history[history.length - 1]!.masterData };
    }
    case 'SupplyStarted': {
      if (state.status === 'none') return state;
      const { processId, customerId, startDate } = event.data;
      const period: SupplyPeriod = { processId, customerId, startDate, endDate: null, endReason: null, reversedBy: null };
      return { ...state, supplyPeriods: [...state.supplyPeriods, period] };
    }
    case 'SupplyEnded':
      if (state.status === 'none') return state;
      return {
        ...state,
        supplyPeriods: state.supplyPeriods.map((p) => (p.processId === event.data.processId ? { ...p, endDate: event.data.endDate, endReason: event.data.reason } : p)),
      };
    case 'SupplyReversed':
      if (state.status === 'none') return state;
      return {
        ...state,
        supplyPeriods: state.supplyPeriods.map((p) => (p.processId === event.data.processId ? { ...p, reversedBy: event.data.incorrectSwitchProcessId } : p)),
      };
    case 'ElectricHeatingSet':
      if (state.status === 'none') return state;
      return { ...state, electricHeatingChanges: [...(state.electricHeatingChanges ?? []), { from: event.data.from, electricHeating: event.data.electricHeating }] };
    case 'ProductionMeteringPointLinked':
      if (state.status === 'none') return state;
      return { ...state, productionLink: { productionGsrn: event.data.productionGsrn, from: event.data.from } };
    case 'ProductChanged':
      if (state.status === 'none') return state;
      return { ...state, productChanges: [...(state.productChanges ?? []), { from: event.data.from, productId: event.data.productId }] };
    default: {
      const unknownEvent: never = event;
      return unknownEvent;
    }
  }
}
