import * as fs from 'fs';
import { cancellation, changeOfSupplier, confirmation, endOfSupply, incorrectSwitch, quarterHourSeries } from './document-factories';
import { parseCimJson, parseCimXml, writeCimJson, writeCimXml, type CimDocument, type CimParseOptions } from './index';
import { FIXTURES_DIR, example, fixture } from './test-support';

const LENIENT: CimParseOptions = { pointCount: 'lenient', identifiers: 'lenient' };

const exampleDocs: [string, CimDocument][] = [
  'rsm012-notifyvalidatedmeasuredata-pt1h.xml',
  'rsm012-notifyvalidatedmeasuredata-pt1h.json',
  'rsm012-notifyvalidatedmeasuredata-two-series.xml',
  'rsm001-requestchangeofsupplier.xml',
  'rsm016-requestaggregatedmeasuredata.xml',
  'rsm016-requestaggregatedmeasuredata.json',
  'rsm017-requestwholesalesettlement.xml',
  'rsm017-requestwholesalesettlement.json',
  'rsm031-notifybillingmasterdata-chargelinks.xml',
  'rsm034-notifypricelist-chargeinformation.xml',
  'rsm034-notifypricelist-chargeinformation.json',
  'rsm034-notifypricelist-prices.xml',
  'reject-requestchangeofpricelist.xml',
].map((f) => [f, f.endsWith('.json') ? parseCimJson(example(f), LENIENT) : parseCimXml(example(f), LENIENT)]);

const fixtureDocs: [string, CimDocument][] = fs
  .readdirSync(FIXTURES_DIR)
  .filter((f) => f.endsWith('.xml'))
  .map((f) => [f, parseCimXml(fixture(f))]);

const builtDocs: [string, CimDocument][] = [
  ['RSM-001 BRS-001 change of supplier (E03)', changeOfSupplier('E03')],
  ['RSM-001 BRS-009 move-in (E65)', changeOfSupplier('E65')],
  ['RSM-002 cancel BRS-001 (E03)', cancellation('E03')],
  ['RSM-002 cancel BRS-002 end of supply (E20)', cancellation('E20')],
  ['RSM-003 BRS-003 incorrect switch', incorrectSwitch()],
  ['RSM-005 BRS-002 end of supply (E20)', endOfSupply('E20')],
  ['RSM-005 BRS-010 move-out (E66)', endOfSupply('E66')],
  ['RSM-005 confirmation', confirmation()],
  ['RSM-012 PT15M spring-forward day', quarterHourSeries('2026-03-28T23:00Z', '2026-03-29T22:00Z', 92)],
];

const all = [...exampleDocs, ...fixtureDocs, ...builtDocs];

describe('round trips', () => {
  it('cover every document kind', () => {
    const kinds = new Set(all.map(([, d]) => d.kind));
    expect([...kinds].sort()).toEqual([
      'AccountingPointCharacteristics',
      'Acknowledgement',
      'GenericNotification',
      'MarketResponse',
      'NotifyAggregatedMeasureData',
      'NotifyBillingMasterData',
      'NotifyPriceList',
      'NotifyValidatedMeasureData',
      'NotifyWholesaleServices',
      'RequestAggregatedMeasureData',
      'RequestCancelChangeOfSupplier',
      'RequestChangeOfSupplier',
      'RequestEndOfSupply',
      'RequestReallocateChangeOfSupplier',
      'RequestWholesaleSettlement',
    ]);
  });

  it.each(all)('%s: parseCimXml(writeCimXml(doc)) equals doc', (_, doc) => {
    expect(parseCimXml(writeCimXml(doc), LENIENT)).toStrictEqual(doc);
  });

  it.each(all)('%s: parseCimJson(writeCimJson(doc)) equals doc', (_, doc) => {
    expect(parseCimJson(writeCimJson(doc), LENIENT)).toStrictEqual(doc);
  });

  it.each([
    ['rsm016-requestaggregatedmeasuredata.json', 'rsm016-requestaggregatedmeasuredata.xml'],
    ['rsm017-requestwholesalesettlement.json', 'rsm017-requestwholesalesettlement.xml'],
    ['rsm034-notifypricelist-chargeinformation.json', 'rsm034-notifypricelist-chargeinformation.xml'],
  ])('writeCimXml(parseCimJson(%s)) equals writeCimXml(parseCimXml(%s))', (json, xml) => {
    const fromJson = writeCimXml(parseCimJson(example(json), LENIENT));
    const fromXml = writeCimXml(parseCimXml(example(xml), LENIENT));
    expect(fromJson).toBe(fromXml);
  });

  it('the RSM-012 JSON/XML pair differs only in its points, as in Energinet\'s source files', () => {
    const fromJson = parseCimJson(example('rsm012-notifyvalidatedmeasuredata-pt1h.json'), LENIENT);
    const fromXml = parseCimXml(example('rsm012-notifyvalidatedmeasuredata-pt1h.xml'), LENIENT);
    if (fromJson.kind !== 'NotifyValidatedMeasureData' || fromXml.kind !== 'NotifyValidatedMeasureData') throw new Error('kind');
    expect(fromJson.header).toStrictEqual(fromXml.header);
    const { period: pj, ...sj } = fromJson.series[0];
    const { period: px, ...sx } = fromXml.series[0];
    expect(sj).toStrictEqual(sx);
    expect({ ...pj, points: [] }).toStrictEqual({ ...px, points: [] });
    expect(pj.points.map((p) => p.quantity)).toEqual(['242', '242', '222', '202', '191', undefined]);
    expect(px.points.map((p) => p.quantity)).toEqual(['56', '56', '56', '56', '56', '56']);
  });

  it('writes CIM JSON in Energinet\'s shape: codes wrapped, ids with codingScheme, quantity a bare number', () => {
    const json = writeCimJson(parseCimXml(example('rsm012-notifyvalidatedmeasuredata-pt1h.xml'), LENIENT));
    const parsed = JSON.parse(json) as { NotifyValidatedMeasureData_MarketDocument: Record<string, unknown> };
    const root = parsed.NotifyValidatedMeasureData_MarketDocument;
    expect(root['type']).toEqual({ value: 'E66' });
    expect(root['sender_MarketParticipant.mRID']).toEqual({ codingScheme: 'A10', value: '5790001330552' });
    expect(json).toContain('"quantity": 56');
    expect(json).toContain('"position": {\n');
  });

  it('keeps quantities exact beyond float precision in JSON', () => {
    const doc = quarterHourSeries('2026-03-28T23:00Z', '2026-03-29T22:00Z', 92);
    const precise: CimDocument = {
      ...doc,
      series: [{ ...doc.series[0], period: { ...doc.series[0].period, points: doc.series[0].period.points.map((p, i) => (i === 0 ? { ...p, quantity: '12345678901234.123456789' } : p)) } }],
    };
    const json = writeCimJson(precise);
    expect(json).toContain('"quantity": 12345678901234.123456789');
    const back = parseCimJson(json);
    if (back.kind !== 'NotifyValidatedMeasureData') throw new Error('kind');
    expect(back.series[0].period.points[0].quantity).toBe('12345678901234.123456789');
  });

  it('escapes XML special characters in text', () => {
    const xml = writeCimXml(changeOfSupplier('E03'));
    expect(xml).toContain('Hansen &amp; Co &lt;ApS&gt;');
  });
});
