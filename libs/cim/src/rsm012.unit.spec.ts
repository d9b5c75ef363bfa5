import { quarterHourSeries } from './document-factories';
import { parseCimJson, parseRsm012Xml, Rsm012XmlStreamParser, writeCimJson, writeCimXml, type NotifyValidatedMeasureData } from './index';
import { fixture, parseErrorOf } from './test-support';

function hourly(start: string, end: string, count: number): NotifyValidatedMeasureData {
  const doc = quarterHourSeries(start, end, count);
  return { ...doc, series: [{ ...doc.series[0], period: { ...doc.series[0].period, resolution: 'PT1H' } }] };
}

describe('RSM-012 point count follows the Copenhagen day, computed from the UTC interval', () => {
  it.each([
    ['spring-forward day 2026-03-29', '2026-03-28T23:00Z', '2026-03-29T22:00Z', 92, 23],
    ['ordinary day 2026-06-01', '2026-05-31T22:00Z', '2026-06-01T22:00Z', 96, 24],
    ['fall-back day 2026-10-25', '2026-10-24T22:00Z', '2026-10-25T23:00Z', 100, 25],
  ])('%s has %i quarter-hours and %i hours', (_, start, end, quarters, hours) => {
    expect(parseRsm012Xml(writeCimXml(quarterHourSeries(start, end, quarters))).series[0].period.points).toHaveLength(quarters);
    expect(parseRsm012Xml(writeCimXml(hourly(start, end, hours))).series[0].period.points).toHaveLength(hours);
    expect(parseErrorOf(() => parseRsm012Xml(writeCimXml(quarterHourSeries(start, end, 96 + (quarters === 96 ? 4 : 0))))).code).toBe('POINT_COUNT_MISMATCH');
  });

  it('reads a month of PT15M for one metering point: 2,972 points in March 2026', () => {
    const doc = quarterHourSeries('2026-02-28T23:00Z', '2026-03-31T22:00Z', 2972);
    const parsed = parseRsm012Xml(writeCimXml(doc));
    expect(parsed).toStrictEqual(doc);
    expect(parsed.series[0].period.points[2971]).toEqual({ position: 2972, quantity: '0.250' });
    expect(parsed.series[0].period.points[6]).toEqual({ position: 7, quantity: '0.250', quality: 'A03' });
  });

  it('refuses an interval that is not a whole number of resolutions', () => {
    const err = parseErrorOf(() => parseRsm012Xml(writeCimXml(quarterHourSeries('2026-03-28T23:00Z', '2026-03-28T23:10Z', 1))));
    expect(err).toMatchObject({ code: 'INVALID_INTERVAL', field: 'timeInterval' });
  });

  it('validates the same way from JSON as from XML', () => {
    const json = writeCimJson(quarterHourSeries('2026-03-28T23:00Z', '2026-03-29T22:00Z', 92)).replace('"quantity": 0.250', '"quantity": "0,250"');
    expect(parseErrorOf(() => parseCimJson(json))).toMatchObject({ code: 'DECIMAL_COMMA', path: 'Series[0].Period.Point[0].quantity' });
  });

  it('parses the same document when it arrives in small chunks', () => {
    const doc = quarterHourSeries('2026-10-24T22:00Z', '2026-10-25T23:00Z', 100);
    const xml = writeCimXml(doc);
    const parser = new Rsm012XmlStreamParser();
    for (let i = 0; i < xml.length; i += 97) parser.write(xml.slice(i, i + 97));
    expect(parser.close()).toStrictEqual(doc);
  });

  it('caps the running total of a chunked stream', () => {
    const xml = writeCimXml(quarterHourSeries('2026-10-24T22:00Z', '2026-10-25T23:00Z', 100));
    const parser = new Rsm012XmlStreamParser({ maxBytes: 2048 });
    expect(parseErrorOf(() => { for (let i = 0; i < xml.length; i += 1000) parser.write(xml.slice(i, i + 1000)); }).code).toBe('DOCUMENT_TOO_LARGE');
  });

  it('parseRsm012Xml refuses any other document', () => {
    expect(parseErrorOf(() => parseRsm012Xml(fixture('rsm014-notifyaggregatedmeasuredata.xml'))).code).toBe('UNSUPPORTED_DOCUMENT');
    expect(parseErrorOf(() => new Rsm012XmlStreamParser().write(fixture('rsm014-notifyaggregatedmeasuredata.xml'))).code).toBe('UNSUPPORTED_DOCUMENT');
  });
});
