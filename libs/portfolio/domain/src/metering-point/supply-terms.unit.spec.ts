import { at, GSRN, onDay, OTHER_GSRN, refusal, specFor } from '../testing/decider-spec';
import { processDecider } from '../process/process.decide';
import { meteringPointDecider } from './metering-point.decide';
import type { MeteringPointEvent } from './metering-point.events';

const registered: MeteringPointEvent = {
  type: 'MeteringPointRegistered',
  data: { gsrn: GSRN, type: 'E17', settlementMethod: 'D01', gridArea: '791', priceArea: 'DK2', linkedProductionGsrn: OTHER_GSRN, source: 'eloverblik', at: at('2026-03-01') },
};
const terms = { productId: 'green', billingFrequency: 'monthly' as const, paymentModel: 'actual' as const };

describe('supply terms', () => {
  it('SupplyStarted carries the terms and the settlement facts of the metering point when StartSupply has terms', () => {
    const events = specFor(meteringPointDecider)([registered]).when({
      type: 'StartSupply',
      data: { gsrn: GSRN, processId: 'p-1', customerId: 'c-1', startDate: '2026-03-03', now: onDay('2026-03-03'), terms },
    });
    expect(events).toEqual([
      {
        type: 'SupplyStarted',
        data: { gsrn: GSRN, processId: 'p-1', customerId: 'c-1', startDate: '2026-03-03', at: at('2026-03-03'), ...terms, gridArea: '791', priceArea: 'DK2', electricHeating: false, productionGsrn: OTHER_GSRN },
      },
    ]);
  });

  it('a switch request keeps its terms on the started event, and a retry with other terms is a different request', () => {
    const request = { processId: 'p-1', gsrn: GSRN, customerId: 'c-1', effectiveDate: '2026-03-03', now: onDay('2026-03-02'), supplyTerms: terms };
    const [started] = specFor(processDecider)([]).when({ type: 'RequestChangeOfSupplier', data: request });
    expect(started.data).toMatchObject({ supplyTerms: terms });
    const given = specFor(processDecider)(processDecider.decide({ type: 'RequestChangeOfSupplier', data: request }, processDecider.initialState));
    expect(given.when({ type: 'RequestChangeOfSupplier', data: request })).toEqual([]);
    expect(() => given.when({ type: 'RequestChangeOfSupplier', data: { ...request, supplyTerms: { ...terms, productId: 'other' } } })).toThrow('already exists');
  });
});

describe('electric heating and own production', () => {
  const THIRD_GSRN = '571313174115550036';
  const given = specFor(meteringPointDecider);
  const started: MeteringPointEvent = {
    type: 'SupplyStarted',
    data: { gsrn: GSRN, processId: 'p-1', customerId: 'c-1', startDate: '2026-03-03', at: at('2026-03-03'), ...terms, gridArea: '791', priceArea: 'DK2', electricHeating: false, productionGsrn: OTHER_GSRN },
  };

  it('the CRM registration (terms.electricHeating) is carried to SupplyStarted.electricHeating', () => {
    const [event] = given([registered]).when({
      type: 'StartSupply',
      data: { gsrn: GSRN, processId: 'p-1', customerId: 'c-1', startDate: '2026-03-03', now: onDay('2026-03-03'), terms: { ...terms, electricHeating: true } },
    });
    expect(event!.data).toMatchObject({ electricHeating: true, productionGsrn: OTHER_GSRN });
  });

  it('a process request keeps electricHeating only when registered, so older requests compare equal on retry', () => {
    const request = { processId: 'p-1', gsrn: GSRN, customerId: 'c-1', effectiveDate: '2026-03-03', now: onDay('2026-03-02') };
    const [withFlag] = specFor(processDecider)([]).when({ type: 'RequestChangeOfSupplier', data: { ...request, supplyTerms: { ...terms, electricHeating: true } } });
    expect(withFlag.data).toMatchObject({ supplyTerms: { ...terms, electricHeating: true } });
    const [without] = specFor(processDecider)([]).when({ type: 'RequestChangeOfSupplier', data: { ...request, supplyTerms: { ...terms, electricHeating: false } } });
    expect(without.data).toMatchObject({ supplyTerms: terms });
    expect(Object.keys((without.data as { supplyTerms: object }).supplyTerms)).not.toContain('electricHeating');
  });

  it('SetElectricHeating records a change from a day we supply; the same change again appends nothing', () => {
    const command = { type: 'SetElectricHeating' as const, data: { gsrn: GSRN, electricHeating: true, from: '2026-05-01', now: onDay('2026-04-20') } };
    const events = given([registered, started]).when(command);
    expect(events).toEqual([{ type: 'ElectricHeatingSet', data: { gsrn: GSRN, electricHeating: true, from: '2026-05-01', at: at('2026-04-20') } }]);
    expect(given([registered, started, ...events]).when(command)).toEqual([]);
    expect(given([registered, started, ...events]).when({ ...command, data: { ...command.data, electricHeating: false } })).toHaveLength(1);
  });

  it('SetElectricHeating is refused for a day without a supply of ours', () => {
    expect(refusal(() => given([registered, started]).when({ type: 'SetElectricHeating', data: { gsrn: GSRN, electricHeating: true, from: '2026-03-01', now: onDay('2026-03-01') } })).code).toBe(
      'no-supply',
    );
  });

  it('LinkProductionMeteringPoint links an E18 point; a supply started later carries it as productionGsrn', () => {
    const link = { type: 'LinkProductionMeteringPoint' as const, data: { gsrn: GSRN, productionGsrn: THIRD_GSRN, from: '2026-06-01', now: onDay('2026-05-20') } };
    const events = given([registered]).when(link);
    expect(events).toEqual([{ type: 'ProductionMeteringPointLinked', data: { gsrn: GSRN, productionGsrn: THIRD_GSRN, from: '2026-06-01', at: at('2026-05-20') } }]);
    expect(given([registered, ...events]).when(link)).toEqual([]);
    const [supply] = given([registered, ...events]).when({ type: 'StartSupply', data: { gsrn: GSRN, processId: 'p-1', customerId: 'c-1', startDate: '2026-06-01', now: onDay('2026-06-01'), terms } });
    expect(supply!.data).toMatchObject({ productionGsrn: THIRD_GSRN, electricHeating: false });
  });

  it('LinkProductionMeteringPoint refuses an invalid GSRN and the point itself', () => {
    expect(refusal(() => given([registered]).when({ type: 'LinkProductionMeteringPoint', data: { gsrn: GSRN, productionGsrn: '571313174115550013', from: '2026-06-01', now: onDay('2026-05-20') } })).code).toBe(
      'invalid-gsrn',
    );
    expect(refusal(() => given([registered]).when({ type: 'LinkProductionMeteringPoint', data: { gsrn: GSRN, productionGsrn: GSRN, from: '2026-06-01', now: onDay('2026-05-20') } })).code).toBe(
      'invalid-master-data',
    );
  });
});

describe('a product change from a date', () => {
  const given = specFor(meteringPointDecider);
  const started: MeteringPointEvent = {
    type: 'SupplyStarted',
    data: { gsrn: GSRN, processId: 'p-1', customerId: 'c-1', startDate: '2026-03-03', at: at('2026-03-03'), ...terms, gridArea: '791', priceArea: 'DK2', electricHeating: false, productionGsrn: null },
  };

  it('ChangeProduct records the new product of the supply standing on that day, with its customer; the same change again appends nothing', () => {
    const command = { type: 'ChangeProduct' as const, data: { gsrn: GSRN, productId: 'fixed', from: '2026-05-16', now: onDay('2026-06-03') } };
    const events = given([registered, started]).when(command);
    expect(events).toEqual([{ type: 'ProductChanged', data: { gsrn: GSRN, customerId: 'c-1', productId: 'fixed', from: '2026-05-16', at: at('2026-06-03') } }]);
    expect(given([registered, started, ...events]).when(command)).toEqual([]);
    expect(given([registered, started, ...events]).when({ ...command, data: { ...command.data, productId: 'green' } })).toHaveLength(1);
  });

  it('ChangeProduct is refused for a day without a supply of ours, and without a product', () => {
    expect(refusal(() => given([registered, started]).when({ type: 'ChangeProduct', data: { gsrn: GSRN, productId: 'fixed', from: '2026-03-02', now: onDay('2026-03-02') } })).code).toBe('no-supply');
    expect(refusal(() => given([registered, started]).when({ type: 'ChangeProduct', data: { gsrn: GSRN, productId: ' ', from: '2026-05-16', now: onDay('2026-05-16') } })).code).toBe('invalid-product');
  });

  it('ChangeProduct naming a customer: only that customer’s supply changes; another customer’s is refused as no supply of theirs', () => {
    const change = (customerId: string) => ({ type: 'ChangeProduct' as const, data: { gsrn: GSRN, productId: 'fixed', from: '2026-05-16', customerId, now: onDay('2026-05-16') } });
    expect(given([registered, started]).when(change('c-1'))).toEqual([{ type: 'ProductChanged', data: { gsrn: GSRN, customerId: 'c-1', productId: 'fixed', from: '2026-05-16', at: at('2026-05-16') } }]);
    const refused = refusal(() => given([registered, started]).when(change('c-2')));
    expect(refused.code).toBe('no-supply');
    expect(refused.message).toContain('not customer c-2');
  });
});
