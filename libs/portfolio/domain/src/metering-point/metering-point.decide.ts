import { DomainRuleViolation } from '../errors';
import { assertValidGsrn } from './gsrn-rule';
import type { MeteringPointCommand } from './metering-point.commands';
import type { MeteringPointEvent, MeteringPointMasterData } from './metering-point.events';
import { evolveMeteringPoint, initialMeteringPointState, masterDataOf, type MeteringPointState, type SupplyPeriod } from './metering-point.state';

type Registered = Extract<MeteringPointState, { status: 'registered' }>;

const TYPES = ['E17', 'E18', 'E20'];
const SETTLEMENT_METHODS = ['D01', 'E02'];
const PRICE_AREAS = ['DK1', 'DK2'];

function assertMasterData(gsrn: string, data: MeteringPointMasterData): void {
  const problems: string[] = [];
  if (!TYPES.includes(data.type)) problems.push(`type ${JSON.stringify(data.type)} is not one of ${TYPES.join(', ')}`);
  if (!SETTLEMENT_METHODS.includes(data.settlementMethod)) problems.push(`settlement method ${JSON.stringify(data.settlementMethod)} is not one of ${SETTLEMENT_METHODS.join(', ')}`);
  if (!/^\d{3}$/.test(data.gridArea)) problems.push(`grid area ${JSON.stringify(data.gridArea)} is not a three-digit code`);
  if (!PRICE_AREAS.includes(data.priceArea)) problems.push(`price area ${JSON.stringify(data.priceArea)} is not DK1 or DK2`);
  if (problems.length > 0) throw new DomainRuleViolation('invalid-master-data', `metering point ${gsrn}: ${problems.join('; ')}`);
  if (data.linkedProductionGsrn !== null) {
    assertValidGsrn(data.linkedProductionGsrn, `linked production GSRN of ${gsrn}`);
    if (data.linkedProductionGsrn === gsrn) throw new DomainRuleViolation('invalid-master-data', `metering point ${gsrn} cannot be its own production point`);
  }
}

const sameMasterData = (a: MeteringPointMasterData, b: MeteringPointMasterData): boolean => JSON.stringify(masterDataOf(a)) === JSON.stringify(masterDataOf(b));

function requireRegistered(state: MeteringPointState, gsrn: string, command: MeteringPointCommand['type']): Registered {
  if (state.status === 'none') throw new DomainRuleViolation('unknown-metering-point', `metering point ${gsrn} is not registered; ${command} needs it`);
  return state;
}

function requirePeriod(state: Registered, processId: string): SupplyPeriod {
  const period = state.supplyPeriods.find((p) => p.processId === processId);
  if (!period) throw new DomainRuleViolation('unknown-supply', `metering point ${state.gsrn} has no supply started by process ${processId}`);
  return period;
}

const describePeriod = (p: SupplyPeriod): string => `supply to customer ${p.customerId} from ${p.startDate}${p.endDate ? ` to ${p.endDate}` : ''} (process ${p.processId})`;

export function decideMeteringPoint(command: MeteringPointCommand, state: MeteringPointState): MeteringPointEvent[] {
  const { gsrn, now } = command.data;
  const at = now.toISOString();
  switch (command.type) {
    case 'RegisterMeteringPoint': {
      assertValidGsrn(gsrn);
      assertMasterData(gsrn, command.data);
      if (state.status === 'registered') {
        if (sameMasterData(state.masterData, command.data)) return [];
        throw new DomainRuleViolation('metering-point-exists', `metering point ${gsrn} is already registered; changed master data arrives as RSM-022 (UpdateMasterData)`);
      }
      return [{ type: 'MeteringPointRegistered', data: { gsrn, ...masterDataOf(command.data), source: command.data.source, at } }];
    }

    case 'UpdateMasterData': {
      const mp = requireRegistered(state, gsrn, command.type);
      assertMasterData(gsrn, command.data);
      const { effectiveDate } = command.data;
      const known = mp.history.find((v) => v.effectiveDate === effectiveDate);
      if (known && sameMasterData(known.masterData, command.data)) return [];
      return [{ type: 'MasterDataUpdated', data: { gsrn, effectiveDate, ...masterDataOf(command.data), source: 'datahub-rsm022', at } }];
    }

    case 'StartSupply': {
      const mp = requireRegistered(state, gsrn, command.type);
      const { processId, customerId, startDate } = command.data;
      const existing = mp.supplyPeriods.find((p) => p.processId === processId);
      if (existing) {
        if (existing.customerId === customerId && existing.startDate === startDate) return [];
        throw new DomainRuleViolation('supply-exists', `metering point ${gsrn} already has a ${describePeriod(existing)}`);
      }
      // We supply a point to one customer at a time: the previous supply must end first.
      const overlapping = mp.supplyPeriods.find((p) => p.reversedBy === null && (p.endDate === null || p.endDate > startDate));
      if (overlapping) {
        throw new DomainRuleViolation('supply-overlap', `metering point ${gsrn} cannot start a supply on ${startDate}: it overlaps the ${describePeriod(overlapping)}; end that supply first`);
      }
      const terms = command.data.terms;
      const facts = terms
        ? {
            productId: terms.productId,
            billingFrequency: terms.billingFrequency,
            paymentModel: terms.paymentModel,
            gridArea: mp.masterData.gridArea,
            priceArea: mp.masterData.priceArea,
            // The CRM's registration (onboarding field `electric_heating`); later changes are `SetElectricHeating`.
            electricHeating: terms.electricHeating === true,
            productionGsrn: mp.productionLink?.productionGsrn ?? mp.masterData.linkedProductionGsrn,
          }
        : {};
      return [{ type: 'SupplyStarted', data: { gsrn, processId, customerId, startDate, at, ...facts } }];
    }

    case 'EndSupply': {
      const mp = requireRegistered(state, gsrn, command.type);
      const { processId, endDate, reason } = command.data;
      const period = requirePeriod(mp, processId);
      if (period.reversedBy !== null) throw new DomainRuleViolation('supply-reversed', `metering point ${gsrn}: the ${describePeriod(period)} was reversed by ${period.reversedBy}`);
      if (period.endDate !== null) {
        if (period.endDate === endDate && period.endReason === reason) return [];
        throw new DomainRuleViolation('supply-ended', `metering point ${gsrn}: the ${describePeriod(period)} has already ended (${period.endReason})`);
      }
      if (endDate <= period.startDate) {
        throw new DomainRuleViolation(
          'invalid-supply-end',
          `metering point ${gsrn}: the ${describePeriod(period)} cannot end on ${endDate}, which is not after its start; a supply void from its start is reversed (BRS-003)`,
        );
      }
      return [{ type: 'SupplyEnded', data: { gsrn, processId, customerId: period.customerId, endDate, reason, at } }];
    }

    case 'ReverseSupply': {
      const mp = requireRegistered(state, gsrn, command.type);
      const { processId, incorrectSwitchProcessId } = command.data;
      const period = requirePeriod(mp, processId);
      if (period.reversedBy === incorrectSwitchProcessId) return [];
      if (period.reversedBy !== null) throw new DomainRuleViolation('supply-reversed', `metering point ${gsrn}: the ${describePeriod(period)} was reversed by ${period.reversedBy}`);
      // BRS-003 undoes only the latest switch on the metering point.
      const latest = mp.supplyPeriods.filter((p) => p.reversedBy === null).reduce((a, b) => (b.startDate > a.startDate ? b : a));
      if (latest !== period) {
        throw new DomainRuleViolation('not-latest-switch', `metering point ${gsrn}: only the latest switch can be reversed (BRS-003); the ${describePeriod(period)} is followed by the ${describePeriod(latest)}`);
      }
      if (period.endReason === 'switched-away') {
        throw new DomainRuleViolation('not-latest-switch', `metering point ${gsrn}: only the latest switch can be reversed (BRS-003); the ${describePeriod(period)} was followed by a switch to another supplier`);
      }
      return [{ type: 'SupplyReversed', data: { gsrn, processId, customerId: period.customerId, startDate: period.startDate, incorrectSwitchProcessId, at } }];
    }

    case 'SetElectricHeating': {
      const mp = requireRegistered(state, gsrn, command.type);
      const { electricHeating, from } = command.data;
      const standing = mp.supplyPeriods.find((p) => p.reversedBy === null && p.startDate <= from && (p.endDate === null || p.endDate > from));
      if (!standing) {
        throw new DomainRuleViolation(
          'no-supply',
          `metering point ${gsrn}: no supply of ours runs on ${from}; electric heating is registered with the supply (electric_heating on the switch or move-in) or changed from a day we supply`,
        );
      }
      const sameDay = (mp.electricHeatingChanges ?? []).filter((c) => c.from === from);
      if (sameDay.length > 0 && sameDay[sameDay.length - 1]!.electricHeating === electricHeating) return [];
      return [{ type: 'ElectricHeatingSet', data: { gsrn, electricHeating, from, at } }];
    }

    case 'LinkProductionMeteringPoint': {
      const mp = requireRegistered(state, gsrn, command.type);
      const { productionGsrn, from } = command.data;
      assertValidGsrn(productionGsrn, `production GSRN linked to ${gsrn}`);
      if (productionGsrn === gsrn) throw new DomainRuleViolation('invalid-master-data', `metering point ${gsrn} cannot be its own production point`);
      if (mp.masterData.type !== 'E17') throw new DomainRuleViolation('invalid-master-data', `metering point ${gsrn} is ${mp.masterData.type}; a production point is linked to a consumption point (E17)`);
      if (mp.productionLink?.productionGsrn === productionGsrn && mp.productionLink.from === from) return [];
      return [{ type: 'ProductionMeteringPointLinked', data: { gsrn, productionGsrn, from, at } }];
    }

    case 'ChangeProduct': {
      const mp = requireRegistered(state, gsrn, command.type);
      const { productId, from } = command.data;
      if (typeof productId !== 'string' || productId.trim() === '') throw new DomainRuleViolation('invalid-product', `metering point ${gsrn}: a product change names the product`);
      const standing = mp.supplyPeriods.find((p) => p.reversedBy === null && p.startDate <= from && (p.endDate === null || p.endDate > from));
      if (!standing) {
        throw new DomainRuleViolation('no-supply', `metering point ${gsrn}: no supply of ours runs on ${from}; a product is chosen with the supply (its terms) or changed from a day we supply`);
      }
      const { customerId } = command.data;
      if (customerId !== undefined && standing.customerId !== customerId) {
        throw new DomainRuleViolation('no-supply', `metering point ${gsrn}: the supply running on ${from} is not customer ${customerId}'s`);
      }
      const sameDay = (mp.productChanges ?? []).filter((c) => c.from === from);
      if (sameDay.length > 0 && sameDay[sameDay.length - 1]!.productId === productId) return [];
      return [{ type: 'ProductChanged', data: { gsrn, customerId: standing.customerId, productId, from, at } }];
    }

    default: {
      const unknownCommand: never = command;
      return unknownCommand;
    }
  }
}

export const meteringPointDecider = {
  decide: decideMeteringPoint,
  evolve: evolveMeteringPoint,
  initialState: initialMeteringPointState(),
};

export const meteringPointStreamId = (gsrn: string): string => `metering-point-${gsrn}`;
