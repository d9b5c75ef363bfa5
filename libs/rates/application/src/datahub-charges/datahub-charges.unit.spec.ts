import { createInMemoryEventStore, type JsonObject } from '@dh/event-store';
import { ChargeDataError } from '@dh/rates-domain';
import { chargeLinksStreamId, priceListStreamId } from '@dh/rates-domain';
import { recordChargeLinks, recordPriceList } from './index';

const ctx = { correlationId: 'c-1', causationId: 'e-1', actor: 'datahub', now: new Date('2026-10-01T06:00:00Z') };
const GSRN = '571313180400000018';
const N1 = '5790001089030';
const common = { documentId: 'doc-1', messageId: 'm-1', category: 'masterdata', receivedAt: '2026-10-01T05:59:00.000Z' };

const linksReceived = (links: JsonObject[], gsrn = GSRN): JsonObject => ({ ...common, processType: 'D17', recordId: 'r-1', gsrn, links });
const link = (code: string, effectiveDate: string, terminationDate: string | null = null, factor = '1'): JsonObject => ({ ownerGln: N1, chargeType: 'D03', chargeCode: code, factor, effectiveDate, terminationDate });

describe('charge links from DataHub (RSM-031) in rates', () => {
  it('records a metering point’s links on its own stream, and nothing again for a redelivery or a repetition', async () => {
    const store = createInMemoryEventStore();
    const received = linksReceived([link('CD', '2026-09-30T22:00:00Z'), { ...link('SUB', '2026-09-30T22:00:00Z'), chargeType: 'D01', factor: '2' }]);
    expect(await recordChargeLinks(store, received, 'evt-1', ctx)).toEqual({ gsrn: GSRN, recorded: 2, alreadyRecorded: false });
    expect(await recordChargeLinks(store, received, 'evt-1', ctx)).toMatchObject({ recorded: 0, alreadyRecorded: true });
    expect(await recordChargeLinks(store, received, 'evt-2', ctx)).toMatchObject({ recorded: 0, alreadyRecorded: false });
    const stream = await store.readStream(chargeLinksStreamId(GSRN));
    expect(stream.map((e) => e.type)).toEqual(['ChargeLinksRecorded']);
    expect(stream[0]!.metadata.context).toBe('rates');
    expect(stream[0]!.data).toMatchObject({
      gsrn: GSRN,
      links: [
        { chargeId: `${N1}:D03:CD`, owner: N1, chargeType: 'D03', code: 'CD', factor: '1', from: '2026-09-30T22:00:00.000Z', to: null },
        { chargeId: `${N1}:D01:SUB`, factor: '2' },
      ],
      source: { documentId: 'doc-1', recordId: 'r-1', processType: 'D17' },
    });
  });

  it('records a termination of a known link as a change of that link only', async () => {
    const store = createInMemoryEventStore();
    await recordChargeLinks(store, linksReceived([link('CD', '2026-09-30T22:00:00Z'), link('CE', '2026-09-30T22:00:00Z')]), 'evt-1', ctx);
    const stopped = await recordChargeLinks(store, linksReceived([link('CD', '2026-09-30T22:00:00Z', '2026-10-15T22:00:00Z'), link('CE', '2026-09-30T22:00:00Z')]), 'evt-2', ctx);
    expect(stopped.recorded).toBe(1);
    const stream = await store.readStream(chargeLinksStreamId(GSRN));
    expect(stream[1]!.data.links).toEqual([expect.objectContaining({ code: 'CD', to: '2026-10-15T22:00:00.000Z' })]);
  });

  it.each<[string, JsonObject, string]>([
    ['a metering point id with a wrong check digit', linksReceived([link('CD', '2026-09-30T22:00:00Z')], '571313180400000019'), 'gsrn'],
    ['an unknown charge type', linksReceived([{ ...link('CD', '2026-09-30T22:00:00Z'), chargeType: 'D04' }]), 'links[0].chargeType'],
    ['a termination before the start', linksReceived([link('CD', '2026-09-30T22:00:00Z', '2026-09-01T22:00:00Z')]), 'links[0].terminationDate'],
    ['a negative factor', linksReceived([link('CD', '2026-09-30T22:00:00Z', null, '-1')]), 'links[0].factor'],
    ['no links', linksReceived([]), 'links'],
  ])('refuses %s, naming the field, and records nothing', async (_what, received, field) => {
    const store = createInMemoryEventStore();
    const error = await recordChargeLinks(store, received, 'evt-1', ctx).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChargeDataError);
    expect((error as ChargeDataError).field).toBe(field);
    expect(await store.readAll()).toEqual([]);
  });
});

describe('price lists from DataHub (RSM-034) in rates', () => {
  const priceList = (fields: JsonObject): JsonObject => ({
    ...common,
    recordId: 'r-1',
    ownerGln: N1,
    chargeType: 'D03',
    chargeCode: 'CD',
    name: null,
    description: null,
    priceResolution: null,
    effectiveDate: '2026-09-30T22:00:00Z',
    terminationDate: null,
    vatPayer: null,
    transparentInvoicing: null,
    taxIndicator: null,
    prices: null,
    ...fields,
  });

  it('records master data once per start date, and every price series', async () => {
    const store = createInMemoryEventStore();
    const information = priceList({ processType: 'D18', name: 'Nettarif C', priceResolution: 'PT1H', vatPayer: 'D01', transparentInvoicing: false, taxIndicator: false });
    expect(await recordPriceList(store, information, 'evt-1', ctx)).toEqual({ chargeId: `${N1}:D03:CD`, information: true, prices: false, alreadyRecorded: false });
    expect(await recordPriceList(store, information, 'evt-2', ctx)).toMatchObject({ information: false, prices: false });
    const prices = priceList({ processType: 'D08', prices: { resolution: 'PT1H', start: '2026-09-30T22:00Z', end: '2100-01-01T00:00Z', points: Array.from({ length: 24 }, (_, i) => ({ position: i + 1, price: i >= 17 && i < 21 ? '0.8' : '0.2' })) } });
    expect(await recordPriceList(store, prices, 'evt-3', ctx)).toMatchObject({ information: false, prices: true });
    const stream = await store.readStream(priceListStreamId(`${N1}:D03:CD`));
    expect(stream.map((e) => e.type)).toEqual(['ChargeInformationRecorded', 'ChargePricesRecorded']);
    expect(stream[0]!.data).toMatchObject({ resolution: 'PT1H', taxIndicator: false, vatPayer: 'D01', from: '2026-09-30T22:00:00.000Z', to: null, name: 'Nettarif C' });
    expect(stream[1]!.data).toMatchObject({ resolution: 'PT1H', start: '2026-09-30T22:00:00.000Z', end: '2100-01-01T00:00:00.000Z' });
  });

  it('refuses a price series DataHub would refuse, naming the field', async () => {
    const store = createInMemoryEventStore();
    const bad = priceList({ processType: 'D08', prices: { resolution: 'P1M', start: '2026-09-30T22:00Z', end: '2026-10-31T23:00Z', points: [{ position: 1, price: '1000000.5' }] } });
    const error = await recordPriceList(store, bad, 'evt-1', ctx).catch((e: unknown) => e);
    expect((error as ChargeDataError).field).toBe('points[0].price');
    expect(await store.readAll()).toEqual([]);
  });
});
