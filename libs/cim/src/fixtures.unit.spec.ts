import { parseCimXml, type CimDocument } from './index';
import { fixture } from './test-support';

function parse<K extends CimDocument['kind']>(file: string, kind: K): Extract<CimDocument, { kind: K }> {
  const doc = parseCimXml(fixture(file));
  if (doc.kind !== kind) throw new Error(`expected ${kind}, got ${doc.kind}`);
  return doc as Extract<CimDocument, { kind: K }>;
}

describe('our fixtures for documents without a public example', () => {
  it('RSM-014: quantities and qualities per position; a measured point has no quality', () => {
    const doc = parse('rsm014-notifyaggregatedmeasuredata.xml', 'NotifyAggregatedMeasureData');
    expect(doc.series[0]).toMatchObject({ meteringGridArea: '804', meteringPointType: 'E17', settlementMethod: 'D01', version: '3' });
    expect(doc.series[0].period.points.map((p) => [p.quantity, p.quality])).toEqual([
      ['1234.567', undefined],
      ['1100.001', 'A03'],
      ['998.5', 'A06'],
      ['0', 'A05'],
    ]);
  });

  it('RSM-019: charge 40000 amount 46.572 × 0.756998 = 35.254911, and a monthly total without price', () => {
    const doc = parse('rsm019-notifywholesaleservices.xml', 'NotifyWholesaleServices');
    expect(doc.series[0]).toMatchObject({ chargeCode: '40000', chargeType: 'D03', chargeOwner: { codingScheme: 'A10', value: '5790000432752' }, currency: 'DKK' });
    expect(doc.series[0].period.points[0]).toEqual({ position: 1, quantity: '46.572', price: '0.756998', amount: '35.254911', quality: 'A06' });
    expect(doc.series[0].period.points[1]).toEqual({ position: 2, quantity: '44.280', amount: '0', quality: 'A05' });
    expect(doc.series[1].period).toMatchObject({ resolution: 'P1M', points: [{ position: 1, amount: '6757.999993' }] });
  });

  it('RSM-009: the reasons for a rejected transaction, code and text kept', () => {
    const doc = parse('rsm009-acknowledgement.xml', 'Acknowledgement');
    expect(doc.receivedMarketDocument).toEqual({ mRID: 'our-request-0001', processType: 'E03' });
    expect(doc.series).toEqual([
      { mRID: 'our-transaction-0001', reasons: [{ code: 'D16', text: 'Fysisk CPR/CVR stemmer ikke / CPR/CVR does not match' }, { code: 'E10' }] },
    ]);
  });

  it('RSM-022: metering point master data with grid area, settlement method, supplier and address', () => {
    const doc = parse('rsm022-accountingpointcharacteristics.xml', 'AccountingPointCharacteristics');
    expect(doc.records[0].validityStart).toBe('2026-03-31T22:00:00Z');
    expect(doc.records[0].meteringPoint).toMatchObject({
      mRID: '571313180400000025',
      type: 'E17',
      settlementMethod: 'D01',
      meteringGridArea: '804',
      energySupplier: { codingScheme: 'A10', value: '5799999933318' },
      supplyStart: '2026-03-31T22:00:00Z',
      mainAddress: { streetName: 'Vestergade', buildingNumber: '12', postalCode: '8000', townName: 'Aarhus C' },
    });
  });

  it('RSM-004: notice of the switch date to the old supplier', () => {
    const doc = parse('rsm004-genericnotification.xml', 'GenericNotification');
    expect(doc.header.processType).toBe('E03');
    expect(doc.records).toEqual([{ mRID: 'stop-of-supply-0001', validityStart: '2026-03-31T22:00:00Z', meteringPointId: '571313180400000025' }]);
  });

  it('RSM-001 rejection: A02 with reason D16 for our transaction', () => {
    const doc = parse('rejectrequestchangeofsupplier.xml', 'MarketResponse');
    expect(doc).toMatchObject({ documentName: 'RejectRequestChangeOfSupplier', reasonCode: 'A02' });
    expect(doc.records[0]).toEqual({
      mRID: 'reject-0001',
      originalTransactionIDReference: 'our-transaction-0001',
      meteringPointId: '571313180400000025',
      start: '2026-03-31T22:00:00Z',
      reasons: [{ code: 'D16', text: 'CPR/CVR stemmer ikke' }],
    });
  });
});
