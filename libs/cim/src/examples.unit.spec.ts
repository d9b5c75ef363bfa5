import * as fs from 'fs';
import { parseCimJson, parseCimXml, type CimDocument, type CimParseOptions } from './index';
import { EXAMPLES_DIR, example, parseErrorOf } from './test-support';

/** Energinet's test files: RSM-012 periods are partial days, the archived charges files use placeholder ids. */
const LENIENT: CimParseOptions = { pointCount: 'lenient', identifiers: 'lenient' };

function narrow<K extends CimDocument['kind']>(doc: CimDocument, kind: K): Extract<CimDocument, { kind: K }> {
  if (doc.kind !== kind) throw new Error(`expected ${kind}, got ${doc.kind}`);
  return doc as Extract<CimDocument, { kind: K }>;
}

describe('the DataHub 3 example documents', () => {
  it('every CIM file parses, and only the ebIX SOAP acknowledgement is refused', () => {
    const files = fs.readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith('.xml') || f.endsWith('.json'));
    expect(files).toHaveLength(15);
    const results = files.map((f) => {
      let text = example(f).toString('utf8');
      if (f.includes('template')) text = fillTemplate(text);
      try {
        const doc = f.endsWith('.json') ? parseCimJson(text, LENIENT) : parseCimXml(text, LENIENT);
        return `${f}: ${doc.kind}`;
      } catch (e) {
        return `${f}: ${(e as Error).name} ${(e as { code?: string }).code ?? ''}`;
      }
    });
    expect(results.sort()).toEqual([
      'reject-requestchangeofpricelist.xml: MarketResponse',
      'rsm001-requestchangeofsupplier.xml: RequestChangeOfSupplier',
      'rsm009-acknowledgement-ebix-dh2-soap.xml: CimParseError UNSUPPORTED_DOCUMENT',
      'rsm012-notifyvalidatedmeasuredata-pt1h.json: NotifyValidatedMeasureData',
      'rsm012-notifyvalidatedmeasuredata-pt1h.xml: NotifyValidatedMeasureData',
      'rsm012-notifyvalidatedmeasuredata-two-series.xml: NotifyValidatedMeasureData',
      'rsm016-requestaggregatedmeasuredata-energysupplier-template.json: RequestAggregatedMeasureData',
      'rsm016-requestaggregatedmeasuredata.json: RequestAggregatedMeasureData',
      'rsm016-requestaggregatedmeasuredata.xml: RequestAggregatedMeasureData',
      'rsm017-requestwholesalesettlement.json: RequestWholesaleSettlement',
      'rsm017-requestwholesalesettlement.xml: RequestWholesaleSettlement',
      'rsm031-notifybillingmasterdata-chargelinks.xml: NotifyBillingMasterData',
      'rsm034-notifypricelist-chargeinformation.json: NotifyPriceList',
      'rsm034-notifypricelist-chargeinformation.xml: NotifyPriceList',
      'rsm034-notifypricelist-prices.xml: NotifyPriceList',
    ]);
  });

  it('refuses the DH2 ebIX SOAP acknowledgement as an unsupported document type/namespace', () => {
    const err = parseErrorOf(() => parseCimXml(example('rsm009-acknowledgement-ebix-dh2-soap.xml')));
    expect(err.code).toBe('UNSUPPORTED_DOCUMENT');
    expect(err.message).toContain('Unsupported document type/namespace: Envelope (http://schemas.xmlsoap.org/soap/envelope/)');
  });

  it('reads RSM-012 PT1H XML: header, GSRN, six points of 56 kWh estimated', () => {
    const doc = narrow(parseCimXml(example('rsm012-notifyvalidatedmeasuredata-pt1h.xml'), { pointCount: 'lenient' }), 'NotifyValidatedMeasureData');
    expect(doc.header).toEqual({
      mRID: '111131835',
      processType: 'E23',
      businessSectorType: '23',
      sender: { id: { codingScheme: 'A10', value: '5790001330552' }, role: 'MDR' },
      receiver: { id: { codingScheme: 'A10', value: '5790000432752' }, role: 'DGL' },
      createdDateTime: '2024-07-30T07:30:54Z',
    });
    expect(doc.series).toHaveLength(1);
    const s = doc.series[0];
    expect(s).toMatchObject({
      mRID: '4413675032_5080574373',
      originalTransactionIDReference: 'C1875000',
      meteringPointId: '571313000000002000',
      meteringPointType: 'E18',
      registrationDateTime: '2022-12-17T07:30:00Z',
      product: '8716867000030',
      unit: 'KWH',
    });
    expect(s.period.resolution).toBe('PT1H');
    expect(s.period.timeInterval).toEqual({ start: '2024-06-28T22:00Z', end: '2024-06-29T22:00Z' });
    expect(s.period.points).toHaveLength(6);
    expect(s.period.points[5]).toEqual({ position: 6, quantity: '56', quality: 'A03' });
  });

  it('refuses the RSM-012 example under the default strict point count: 6 points where the day has 24 hours', () => {
    const err = parseErrorOf(() => parseCimXml(example('rsm012-notifyvalidatedmeasuredata-pt1h.xml')));
    expect(err.code).toBe('POINT_COUNT_MISMATCH');
    expect(err.path).toBe('Series[0].Period');
    expect(err.message).toContain('expected 24');
  });

  it('reads RSM-012 JSON: numbers kept exact, missing quality omitted, missing quantity only with A02', () => {
    const doc = narrow(parseCimJson(example('rsm012-notifyvalidatedmeasuredata-pt1h.json').toString('utf8'), { pointCount: 'lenient' }), 'NotifyValidatedMeasureData');
    expect(doc.header.mRID).toBe('111131835');
    expect(doc.series[0].meteringPointId).toBe('571313000000002000');
    expect(doc.series[0].period.points).toEqual([
      { position: 1, quantity: '242', quality: 'A03' },
      { position: 2, quantity: '242' },
      { position: 3, quantity: '222' },
      { position: 4, quantity: '202' },
      { position: 5, quantity: '191', quality: 'A05' },
      { position: 6, quality: 'A02' },
    ]);
  });

  it('reads the two-series RSM-012 bundle with consecutive days', () => {
    const doc = narrow(parseCimXml(example('rsm012-notifyvalidatedmeasuredata-two-series.xml'), { pointCount: 'lenient' }), 'NotifyValidatedMeasureData');
    expect(doc.series.map((s) => s.mRID)).toEqual(['4413675032_5080574373', '4413675032_5080574374']);
    expect(doc.series[1].period.timeInterval.start).toBe('2024-06-29T22:00Z');
    expect(doc.series.reduce((n, s) => n + s.period.points.length, 0)).toBe(12);
  });

  it('reads RSM-001 (move-in E65) with CPR customer and balance responsible party, only leniently: its GSRN has a wrong check digit', () => {
    expect(() => parseCimXml(example('rsm001-requestchangeofsupplier.xml'))).toThrow(/"579999993331812345" is not a GSRN \(its GS1 check digit is wrong\)/);
    const doc = narrow(parseCimXml(example('rsm001-requestchangeofsupplier.xml'), { identifiers: 'lenient' }), 'RequestChangeOfSupplier');
    expect(doc.header.processType).toBe('E65');
    expect(doc.header.sender).toEqual({ id: { codingScheme: 'A10', value: '5799999933318' }, role: 'DDQ' });
    expect(doc.records).toEqual([
      {
        mRID: '123564789123564789123564789123564789',
        meteringPointId: '579999993331812345',
        energySupplier: { codingScheme: 'A10', value: '5799999933318' },
        balanceResponsibleParty: { codingScheme: 'A10', value: '5799999933340' },
        customerId: { codingScheme: 'ARR', value: '0801741527' },
        customerName: 'Jan Hansen',
        start: '2022-09-07T22:00:00Z',
      },
    ]);
  });

  it('reads RSM-016 XML and ignores biddingZone_Domain ("anvendes ikke")', () => {
    const doc = narrow(parseCimXml(example('rsm016-requestaggregatedmeasuredata.xml')), 'RequestAggregatedMeasureData');
    expect(doc.header.processType).toBe('D05');
    expect(doc.series).toEqual([
      {
        mRID: '123353185',
        settlementVersion: 'D01',
        meteringPointType: 'E17',
        settlementMethod: 'D01',
        start: '2022-06-17T22:00:00Z',
        end: '2022-07-22T22:00:00Z',
        meteringGridArea: '244',
        energySupplier: { codingScheme: 'A10', value: '5790001330552' },
        balanceResponsibleParty: { codingScheme: 'A10', value: '5799999933318' },
      },
    ]);
  });

  it('reads the energy supplier RSM-016 template once its placeholders are filled', () => {
    const doc = narrow(parseCimJson(fillTemplate(example('rsm016-requestaggregatedmeasuredata-energysupplier-template.json').toString('utf8'))), 'RequestAggregatedMeasureData');
    expect(doc.header).toMatchObject({ mRID: 'msg-1', processType: 'D04', sender: { role: 'DDQ' } });
    expect(doc.series[0]).toEqual({ mRID: 'tx-1', start: '2023-01-30T23:00:00Z', end: '2023-02-01T23:00:00Z', settlementMethod: 'D01', meteringPointType: 'E17', meteringGridArea: '804' });
  });

  it('reads RSM-017 with its charge type, but only leniently: the charge owner id has 12 digits', () => {
    expect(parseErrorOf(() => parseCimXml(example('rsm017-requestwholesalesettlement.xml')))).toMatchObject({
      code: 'INVALID_GLN',
      field: 'chargeTypeOwner_MarketParticipant.mRID',
      path: 'Series[0].chargeTypeOwner_MarketParticipant.mRID',
    });
    const doc = narrow(parseCimXml(example('rsm017-requestwholesalesettlement.xml'), LENIENT), 'RequestWholesaleSettlement');
    expect(doc.series[0]).toMatchObject({ mRID: '25836143', resolution: 'P1M', meteringGridArea: '244', chargeTypes: [{ type: 'D03', mRID: 'EA-001' }] });
  });

  it('reads RSM-031 charge links: 10 records, factor and termination date', () => {
    const doc = narrow(parseCimXml(example('rsm031-notifybillingmasterdata-chargelinks.xml'), LENIENT), 'NotifyBillingMasterData');
    expect(doc.header.processType).toBe('D17');
    expect(doc.records).toHaveLength(10);
    expect(doc.records[0]).toEqual({
      mRID: '00000000000000000000000000000000',
      meteringPointId: 'MeteringPoint1',
      chargeTypes: [
        { owner: { codingScheme: 'A10', value: 'Owner1' }, type: 'D03', mRID: 'Charge1', factor: '1', effectiveDate: '2020-12-31T23:00:00Z', terminationDate: '2021-04-30T22:00:00Z' },
      ],
    });
    expect(doc.records[1].chargeTypes[0].terminationDate).toBeUndefined();
  });

  it('reads RSM-034 charge master data (D18) and prices (D08)', () => {
    const info = narrow(parseCimXml(example('rsm034-notifypricelist-chargeinformation.xml'), LENIENT), 'NotifyPriceList');
    expect(info.header.processType).toBe('D18');
    expect(info.records[0].chargeTypes[0]).toEqual({
      owner: { codingScheme: 'A10', value: 'Owner1' },
      type: 'D02',
      mRID: 'ChargeId1',
      name: 'Name1',
      description: 'Description1',
      priceResolution: 'P1M',
      effectiveDate: '2020-12-31T23:00:00Z',
      terminationDate: '2021-04-30T22:00:00Z',
      vatPayer: 'D01',
      transparentInvoicing: false,
      taxIndicator: true,
    });
    const prices = narrow(parseCimXml(example('rsm034-notifypricelist-prices.xml'), LENIENT), 'NotifyPriceList');
    expect(prices.header.processType).toBe('D08');
    const tariff = prices.records[1].chargeTypes[0];
    expect(tariff.type).toBe('D03');
    expect(tariff.prices?.resolution).toBe('PT1H');
    expect(tariff.prices?.points).toHaveLength(24);
    expect(tariff.prices?.points[23]).toEqual({ position: 24, price: '24' });
  });

  it('reads the price-list rejection: reason A02, records with D14 reasons and texts', () => {
    const doc = narrow(parseCimXml(example('reject-requestchangeofpricelist.xml'), LENIENT), 'MarketResponse');
    expect(doc.documentName).toBe('RejectRequestChangeOfPriceList');
    expect(doc.reasonCode).toBe('A02');
    expect(doc.records).toHaveLength(10);
    expect(doc.records[0]).toEqual({
      mRID: '00000000000000000000000000000000',
      originalTransactionIDReference: 'OriginalOperationId1',
      reasons: [{ code: 'D14' }, { code: 'D14', text: 'Text1_2' }],
    });
  });
});

function fillTemplate(text: string): string {
  return text
    .replace('{MessageId}', 'msg-1')
    .replace('{ActorNumber}', '5799999933318')
    .replace('{ActorRole}', 'DDQ')
    .replace('{TransactionId}', 'tx-1');
}
