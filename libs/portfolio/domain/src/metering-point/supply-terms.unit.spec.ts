import { at, GSRN, onDay, OTHER_GSRN, specFor } from '../testing/decider-spec';
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
