import * as fs from 'fs';
import * as path from 'path';
import { parseCimXml } from '@dh/cim';
import { toInboundEvents } from './inbound-events';

const CIM = path.resolve(__dirname, '../../cim/src');
const example = (file: string) => fs.readFileSync(path.join(CIM, 'testdata/datahub3-examples', file));
const fixture = (file: string) => fs.readFileSync(path.join(CIM, 'fixtures', file));
const info = { messageId: 'm-1', category: 'aggregations', receivedAt: new Date('2026-11-05T08:00:00Z') };

describe('DataHub market data as typed inbound events', () => {
  it('turns each RSM-031 record into ChargeLinksReceived with the links as DataHub sent them', () => {
    const events = toInboundEvents(parseCimXml(example('rsm031-notifybillingmasterdata-chargelinks.xml'), { identifiers: 'lenient' }), info);
    expect(events).toHaveLength(10);
    expect(events.every((e) => e.type === 'ChargeLinksReceived')).toBe(true);
    expect(events[0]!.data).toMatchObject({
      processType: 'D17',
      gsrn: 'MeteringPoint1',
      links: [{ ownerGln: 'Owner1', chargeType: 'D03', chargeCode: 'Charge1', factor: '1', effectiveDate: '2020-12-31T23:00:00Z', terminationDate: '2021-04-30T22:00:00Z' }],
    });
    expect(events[1]!.data.links).toEqual([{ ownerGln: 'Owner2', chargeType: 'D03', chargeCode: 'Charge2', factor: '2', effectiveDate: '2020-12-31T23:00:00Z', terminationDate: null }]);
  });

  it('turns RSM-034 charge information (D18) and prices (D08) into PriceListReceived per charge', () => {
    const information = toInboundEvents(parseCimXml(example('rsm034-notifypricelist-chargeinformation.xml'), { identifiers: 'lenient' }), info);
    expect(information).toHaveLength(10);
    expect(information[1]!).toEqual({
      type: 'PriceListReceived',
      data: expect.objectContaining({
        processType: 'D18',
        ownerGln: 'Owner2',
        chargeType: 'D03',
        chargeCode: 'ChargeId2',
        name: 'Name2',
        description: 'Description2',
        priceResolution: 'PT1H',
        effectiveDate: '2020-12-31T23:00:00Z',
        terminationDate: null,
        vatPayer: 'D01',
        transparentInvoicing: false,
        taxIndicator: true,
        prices: null,
      }),
    });
    const prices = toInboundEvents(parseCimXml(example('rsm034-notifypricelist-prices.xml'), { identifiers: 'lenient' }), info);
    const tariff = prices.find((e) => e.data.chargeCode === 'ChargeId2')!;
    expect(tariff.data).toMatchObject({ processType: 'D08', prices: { resolution: 'PT1H', start: '2020-12-31T23:00Z', end: '2100-03-31T22:00Z' } });
    expect((tariff.data.prices as { points: unknown[] }).points).toHaveLength(24);
  });

  it('turns RSM-014 and RSM-019 series into typed results with their calculation and settlement versions', () => {
    const energy = toInboundEvents(parseCimXml(fixture('rsm014-notifyaggregatedmeasuredata.xml')), info);
    expect(energy.length).toBeGreaterThan(0);
    expect(energy.every((e) => e.type === 'AggregatedMeasureDataReceived')).toBe(true);
    expect(energy[0]!.data).toMatchObject({ gridArea: expect.any(String), meteringPointType: expect.any(String), resolution: expect.stringMatching(/^PT/) });

    const wholesale = toInboundEvents(parseCimXml(fixture('rsm019-notifywholesaleservices.xml')), info);
    expect(wholesale.map((e) => e.type)).toEqual(wholesale.map(() => 'WholesaleServicesReceived'));
    expect(wholesale[0]!.data).toMatchObject({
      processType: 'D05',
      seriesId: 'ws-804-40000-hourly',
      calculationVersion: '1',
      chargeCode: '40000',
      chargeType: 'D03',
      chargeOwnerGln: '5790000432752',
      gridArea: '804',
      energySupplierGln: '5799999933318',
      resolution: 'PT1H',
      points: [
        { position: 1, quantity: '46.572', price: '0.756998', amount: '35.254911', quality: 'A06' },
        { position: 2, quantity: '44.280', price: null, amount: '0', quality: 'A05' },
      ],
    });
    expect(wholesale.find((e) => e.data.seriesId === 'ws-804-total')!.data).toMatchObject({ chargeCode: null, chargeOwnerGln: null, resolution: 'P1M' });
  });
});
