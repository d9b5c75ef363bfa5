import { at, GSRN, onDay, OTHER_GSRN, refusal, specFor } from '../testing/decider-spec';
import type { MeteringPointCommand } from './metering-point.commands';
import { meteringPointDecider, meteringPointStreamId } from './metering-point.decide';
import type { MeteringPointEvent, MeteringPointMasterData, SupplyEndReason } from './metering-point.events';

const given = specFor(meteringPointDecider);

const masterData: MeteringPointMasterData = { type: 'E17', settlementMethod: 'D01', gridArea: '804', priceArea: 'DK1', linkedProductionGsrn: OTHER_GSRN };

const register = (gsrn = GSRN, data: Partial<MeteringPointMasterData> = {}): MeteringPointCommand => ({
  type: 'RegisterMeteringPoint',
  data: { gsrn, ...masterData, ...data, source: 'eloverblik', now: onDay('2026-03-01') },
});
const registered: MeteringPointEvent = { type: 'MeteringPointRegistered', data: { gsrn: GSRN, ...masterData, source: 'eloverblik', at: at('2026-03-01') } };

const updateMasterData = (effectiveDate: string, data: Partial<MeteringPointMasterData>): MeteringPointCommand => ({
  type: 'UpdateMasterData',
  data: { gsrn: GSRN, ...masterData, ...data, effectiveDate, now: onDay(effectiveDate) },
});
const startSupply = (processId: string, customerId: string, startDate: string): MeteringPointCommand => ({
  type: 'StartSupply',
  data: { gsrn: GSRN, processId, customerId, startDate, now: onDay(startDate) },
});
const supplyStarted = (processId: string, customerId: string, startDate: string): MeteringPointEvent => ({
  type: 'SupplyStarted',
  data: { gsrn: GSRN, processId, customerId, startDate, at: at(startDate) },
});
const endSupply = (processId: string, endDate: string, reason: SupplyEndReason): MeteringPointCommand => ({
  type: 'EndSupply',
  data: { gsrn: GSRN, processId, endDate, reason, now: onDay(endDate) },
});
const supplyEnded = (processId: string, customerId: string, endDate: string, reason: SupplyEndReason): MeteringPointEvent => ({
  type: 'SupplyEnded',
  data: { gsrn: GSRN, processId, customerId, endDate, reason, at: at(endDate) },
});
const reverseSupply = (processId: string, today: string, incorrectSwitchProcessId = 'p-3'): MeteringPointCommand => ({
  type: 'ReverseSupply',
  data: { gsrn: GSRN, processId, incorrectSwitchProcessId, now: onDay(today) },
});

describe('metering point decider', () => {
  it('names its stream after the GSRN', () => {
    expect(meteringPointStreamId(GSRN)).toBe('metering-point-571313174115550012');
  });

  describe('registration', () => {
    it('registers a metering point with its master data from Eloverblik', () => {
      expect(given([]).when(register())).toEqual([registered]);
    });

    it('refuses a GSRN with a wrong check digit, naming it and the expected digit', () => {
      expect(refusal(() => given([]).when(register('571313174115550013')))).toMatchObject({
        code: 'invalid-gsrn',
        message: 'GSRN "571313174115550013" has check digit 3; the GS1 check digit of 57131317411555001 is 2',
      });
    });

    it('refuses a GSRN that Luhn would accept but GS1 does not', () => {
      // Luhn check digit of 57131317411555001 is 9; GS1 says 2.
      expect(refusal(() => given([]).when(register('571313174115550019'))).message).toContain('check digit of 57131317411555001 is 2');
    });

    it('refuses a malformed GSRN and a wrong linked production GSRN', () => {
      expect(refusal(() => given([]).when(register('5713131741155500'))).message).toContain('expected 18 digits');
      expect(refusal(() => given([]).when(register(GSRN, { linkedProductionGsrn: '571313174115550020' })))).toMatchObject({
        code: 'invalid-gsrn',
        message: `linked production GSRN of ${GSRN} "571313174115550020" has check digit 0; the GS1 check digit of 57131317411555002 is 9`,
      });
    });

    it('refuses master data outside the market codes', () => {
      const bad = { priceArea: 'DK3', gridArea: '80' } as unknown as Partial<MeteringPointMasterData>;
      expect(refusal(() => given([]).when(register(GSRN, bad)))).toMatchObject({
        code: 'invalid-master-data',
        message: `metering point ${GSRN}: grid area "80" is not a three-digit code; price area "DK3" is not DK1 or DK2`,
      });
    });

    it('treats the same registration as a retry, and changed data as a conflict', () => {
      expect(given([registered]).when(register())).toEqual([]);
      expect(refusal(() => given([registered]).when(register(GSRN, { priceArea: 'DK2' }))).code).toBe('metering-point-exists');
    });
  });

  describe('master data from RSM-022', () => {
    it('records the new values from their effective date', () => {
      const spec = given([registered]);
      const events = spec.when(updateMasterData('2026-05-01', { settlementMethod: 'E02', linkedProductionGsrn: null }));
      expect(events).toEqual([
        {
          type: 'MasterDataUpdated',
          data: { gsrn: GSRN, ...masterData, settlementMethod: 'E02', linkedProductionGsrn: null, effectiveDate: '2026-05-01', source: 'datahub-rsm022', at: at('2026-05-01') },
        },
      ]);
      expect(given([registered, ...events]).state).toMatchObject({ masterData: { settlementMethod: 'E02', linkedProductionGsrn: null } });
      expect(given([registered, ...events]).when(updateMasterData('2026-05-01', { settlementMethod: 'E02', linkedProductionGsrn: null }))).toEqual([]);
    });

    it('keeps the latest effective values current when an older correction arrives later', () => {
      const later = given([registered]).when(updateMasterData('2026-06-01', { gridArea: '791' }));
      const earlier = given([registered, ...later]).when(updateMasterData('2026-05-01', { gridArea: '740' }));
      expect(given([registered, ...later, ...earlier]).state).toMatchObject({ masterData: { gridArea: '791' } });
    });

    it('needs a registered metering point', () => {
      expect(refusal(() => given([]).when(updateMasterData('2026-05-01', {}))).code).toBe('unknown-metering-point');
    });
  });

  describe('supply periods', () => {
    it('starts a supply, and a repeated start changes nothing', () => {
      expect(given([registered]).when(startSupply('p-1', 'c-1', '2026-04-01'))).toEqual([supplyStarted('p-1', 'c-1', '2026-04-01')]);
      expect(given([registered, supplyStarted('p-1', 'c-1', '2026-04-01')]).when(startSupply('p-1', 'c-1', '2026-04-01'))).toEqual([]);
    });

    it('refuses a second supply that overlaps the running one', () => {
      expect(refusal(() => given([registered, supplyStarted('p-1', 'c-1', '2026-04-01')]).when(startSupply('p-2', 'c-2', '2026-06-01')))).toMatchObject({
        code: 'supply-overlap',
        message: `metering point ${GSRN} cannot start a supply on 2026-06-01: it overlaps the supply to customer c-1 from 2026-04-01 (process p-1); end that supply first`,
      });
    });

    it('starts the next customer on the day the previous supply ended (end dates are exclusive)', () => {
      const history = [registered, supplyStarted('p-1', 'c-1', '2026-04-01'), supplyEnded('p-1', 'c-1', '2026-06-01', 'move-out')];
      expect(given(history).when(startSupply('p-2', 'c-2', '2026-06-01'))).toEqual([supplyStarted('p-2', 'c-2', '2026-06-01')]);
      expect(refusal(() => given(history).when(startSupply('p-2', 'c-2', '2026-05-31'))).code).toBe('supply-overlap');
    });

    it('ends a supply with its reason, once', () => {
      const history = [registered, supplyStarted('p-1', 'c-1', '2026-04-01')];
      expect(given(history).when(endSupply('p-1', '2026-06-01', 'end-of-supply'))).toEqual([supplyEnded('p-1', 'c-1', '2026-06-01', 'end-of-supply')]);
      const ended = [...history, supplyEnded('p-1', 'c-1', '2026-06-01', 'end-of-supply')];
      expect(given(ended).when(endSupply('p-1', '2026-06-01', 'end-of-supply'))).toEqual([]);
      expect(refusal(() => given(ended).when(endSupply('p-1', '2026-07-01', 'switched-away'))).code).toBe('supply-ended');
    });

    it('refuses an end on or before the start: a void supply is reversed instead', () => {
      expect(refusal(() => given([registered, supplyStarted('p-1', 'c-1', '2026-04-01')]).when(endSupply('p-1', '2026-04-01', 'move-out')))).toMatchObject({
        code: 'invalid-supply-end',
        message: expect.stringContaining('reversed (BRS-003)'),
      });
      expect(refusal(() => given([registered]).when(endSupply('p-9', '2026-04-01', 'move-out'))).code).toBe('unknown-supply');
    });
  });

  describe('BRS-003 reversal', () => {
    it('voids the latest supply from its start', () => {
      const history = [registered, supplyStarted('p-1', 'c-1', '2026-04-01')];
      expect(given(history).when(reverseSupply('p-1', '2026-05-01'))).toEqual([
        { type: 'SupplyReversed', data: { gsrn: GSRN, processId: 'p-1', customerId: 'c-1', startDate: '2026-04-01', incorrectSwitchProcessId: 'p-3', at: at('2026-05-01') } },
      ]);
    });

    it('refuses to reverse a supply that a later switch followed', () => {
      const history = [
        registered,
        supplyStarted('p-1', 'c-1', '2026-04-01'),
        supplyEnded('p-1', 'c-1', '2026-05-01', 'move-out'),
        supplyStarted('p-2', 'c-2', '2026-05-01'),
      ];
      expect(refusal(() => given(history).when(reverseSupply('p-1', '2026-05-10')))).toMatchObject({
        code: 'not-latest-switch',
        message: expect.stringContaining('is followed by the supply to customer c-2 from 2026-05-01 (process p-2)'),
      });
      expect(given(history).when(reverseSupply('p-2', '2026-05-10'))).toHaveLength(1);
    });

    it('refuses to reverse a supply that ended because another supplier took over', () => {
      const history = [registered, supplyStarted('p-1', 'c-1', '2026-04-01'), supplyEnded('p-1', 'c-1', '2026-05-01', 'switched-away')];
      expect(refusal(() => given(history).when(reverseSupply('p-1', '2026-05-10'))).message).toContain('followed by a switch to another supplier');
    });

    it('records a repeated reversal once; a reversed period no longer blocks a new supply nor can end', () => {
      const reversed: MeteringPointEvent = {
        type: 'SupplyReversed',
        data: { gsrn: GSRN, processId: 'p-1', customerId: 'c-1', startDate: '2026-04-01', incorrectSwitchProcessId: 'p-3', at: at('2026-05-01') },
      };
      const history = [registered, supplyStarted('p-1', 'c-1', '2026-04-01'), reversed];
      expect(given(history).when(reverseSupply('p-1', '2026-05-02'))).toEqual([]);
      expect(refusal(() => given(history).when(reverseSupply('p-1', '2026-05-02', 'p-4'))).code).toBe('supply-reversed');
      expect(refusal(() => given(history).when(endSupply('p-1', '2026-06-01', 'move-out'))).code).toBe('supply-reversed');
      expect(given(history).when(startSupply('p-5', 'c-9', '2026-04-01'))).toEqual([supplyStarted('p-5', 'c-9', '2026-04-01')]);
    });
  });
});
