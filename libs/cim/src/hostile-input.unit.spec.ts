import { changeOfSupplier, quarterHourSeries } from './document-factories';
import { CimParseError, parseCimJson, parseCimXml, parseRsm012Xml, UnwritableXmlTextError, writeCimJson, writeCimXml } from './index';
import { fixture, parseErrorOf } from './test-support';

const RSM014 = fixture('rsm014-notifyaggregatedmeasuredata.xml');
const day = (): string => writeCimXml(quarterHourSeries('2026-03-28T23:00Z', '2026-03-29T22:00Z', 92));

/** Replaces the first occurrence, failing loudly if the fixture no longer contains it. */
function mutate(xml: string, from: string, to: string): string {
  if (!xml.includes(from)) throw new Error(`fixture does not contain ${from}`);
  return xml.replace(from, to);
}

describe('text we write for DataHub', () => {
  it('refuses control characters and unpaired surrogates instead of writing XML nobody can parse (ours included)', () => {
    for (const name of ['Anna\u0000Hansen', 'Anna \u001b[31mHansen', 'Bell\u0007', 'half \ud800 pair']) {
      const doc = changeOfSupplier('E03');
      const record = { ...doc.records[0]!, customerName: name };
      expect(() => writeCimXml({ ...doc, records: [record] })).toThrow(UnwritableXmlTextError);
    }
    const fine = changeOfSupplier('E03');
    const xml = writeCimXml({ ...fine, records: [{ ...fine.records[0]!, customerName: 'Søren Ærø-Østergård & Co 😀' }] });
    expect(parseCimXml(xml).kind).toBe('RequestChangeOfSupplier');
  });
});

describe('hostile and broken input', () => {
  it('refuses a DOCTYPE outright, even without entities', () => {
    const xml = day().replace('<?xml version="1.0" encoding="UTF-8"?>', '<?xml version="1.0"?><!DOCTYPE x>');
    const err = parseErrorOf(() => parseCimXml(xml));
    expect(err).toBeInstanceOf(CimParseError);
    expect(err.code).toBe('DOCTYPE_FORBIDDEN');
  });

  it('refuses an external entity (XXE) without reading it', () => {
    const xml = `<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<cim:NotifyValidatedMeasureData_MarketDocument xmlns:cim="urn:ediel.org:measure:notifyvalidatedmeasuredata:0:1"><cim:mRID>&xxe;</cim:mRID></cim:NotifyValidatedMeasureData_MarketDocument>`;
    expect(parseErrorOf(() => parseCimXml(xml)).code).toBe('DOCTYPE_FORBIDDEN');
  });

  it('refuses billion laughs before any expansion', () => {
    const ents = Array.from({ length: 9 }, (_, i) => `<!ENTITY l${i + 1} "${`&l${i};`.repeat(10)}">`).join('');
    const xml = `<?xml version="1.0"?><!DOCTYPE d [<!ENTITY l0 "lol">${ents}]><cim:Acknowledgement_MarketDocument xmlns:cim="urn:ediel.org:general:acknowledgement:0:1"><cim:mRID>&l9;</cim:mRID></cim:Acknowledgement_MarketDocument>`;
    expect(parseErrorOf(() => parseCimXml(xml)).code).toBe('DOCTYPE_FORBIDDEN');
  });

  it('refuses an undefined entity reference as malformed', () => {
    const xml = mutate(day(), '<cim:mRID>rsm012-pt15m</cim:mRID>', '<cim:mRID>&boom;</cim:mRID>');
    expect(parseErrorOf(() => parseCimXml(xml)).code).toBe('MALFORMED_XML');
  });

  it('refuses a document over the byte limit before parsing it', () => {
    const xml = day();
    expect(parseErrorOf(() => parseCimXml(xml, { maxBytes: 1000 })).code).toBe('DOCUMENT_TOO_LARGE');
    expect(parseErrorOf(() => parseCimXml(Buffer.from(xml), { maxBytes: 1000 })).code).toBe('DOCUMENT_TOO_LARGE');
    expect(parseErrorOf(() => parseCimJson(writeCimJson(parseCimXml(xml)), { maxBytes: 1000 })).code).toBe('DOCUMENT_TOO_LARGE');
    expect(parseErrorOf(() => parseCimXml('<not even xml', { maxBytes: 5 })).code).toBe('DOCUMENT_TOO_LARGE');
  });

  it('refuses a known document in the wrong namespace', () => {
    const xml = mutate(day(), 'xmlns:cim="urn:ediel.org:measure:notifyvalidatedmeasuredata:0:1"', 'xmlns:cim="urn:ediel.org:measure:notifyaggregatedmeasuredata:0:1"');
    const err = parseErrorOf(() => parseCimXml(xml));
    expect(err.code).toBe('WRONG_NAMESPACE');
    expect(err.field).toBe('NotifyValidatedMeasureData_MarketDocument');
  });

  it('refuses elements outside the document namespace', () => {
    const xml = mutate(day(), '<cim:product>', '<x:product xmlns:x="urn:other">').replace('</cim:product>', '</x:product>');
    expect(parseErrorOf(() => parseCimXml(xml)).code).toBe('WRONG_NAMESPACE');
  });

  it('refuses an unknown root document', () => {
    const err = parseErrorOf(() => parseCimXml('<cim:Foo_MarketDocument xmlns:cim="urn:ediel.org:measure:foo:0:1"/>'));
    expect(err.code).toBe('UNSUPPORTED_DOCUMENT');
    expect(parseErrorOf(() => parseCimJson('{"Foo_MarketDocument":{}}')).code).toBe('UNSUPPORTED_DOCUMENT');
  });

  it('refuses a wrong type code for the document', () => {
    const err = parseErrorOf(() => parseCimXml(mutate(day(), '<cim:type>E66</cim:type>', '<cim:type>E31</cim:type>')));
    expect(err).toMatchObject({ code: 'WRONG_TYPE_CODE', field: 'type' });
  });

  it('refuses an unknown quality code, naming the point', () => {
    const err = parseErrorOf(() => parseCimXml(mutate(day(), '<cim:quality>A03</cim:quality>', '<cim:quality>Z99</cim:quality>')));
    expect(err).toMatchObject({ code: 'UNKNOWN_CODE', field: 'quality', path: 'Series[0].Period.Point[6].quality' });
  });

  it('refuses an unknown metering point type and resolution', () => {
    expect(parseErrorOf(() => parseCimXml(mutate(day(), '<cim:marketEvaluationPoint.type>E17', '<cim:marketEvaluationPoint.type>X17')))).toMatchObject({
      code: 'UNKNOWN_CODE',
      field: 'marketEvaluationPoint.type',
    });
    expect(parseErrorOf(() => parseCimXml(mutate(day(), '<cim:resolution>PT15M', '<cim:resolution>PT5M')))).toMatchObject({ code: 'UNKNOWN_CODE', field: 'resolution' });
  });

  it('refuses a gap in positions', () => {
    const err = parseErrorOf(() => parseCimXml(mutate(day(), '<cim:position>3</cim:position>', '<cim:position>4</cim:position>')));
    expect(err).toMatchObject({ code: 'POSITION_GAP', field: 'position', path: 'Series[0].Period.Point[2]' });
  });

  it('refuses a duplicate position', () => {
    const err = parseErrorOf(() => parseCimXml(mutate(day(), '<cim:position>3</cim:position>', '<cim:position>2</cim:position>')));
    expect(err).toMatchObject({ code: 'POSITION_DUPLICATE', path: 'Series[0].Period.Point[2]' });
  });

  it('refuses a point count that does not fill the interval: 96 quarters on the 23-hour day', () => {
    const xml = writeCimXml(quarterHourSeries('2026-03-28T23:00Z', '2026-03-29T22:00Z', 96));
    const err = parseErrorOf(() => parseCimXml(xml));
    expect(err).toMatchObject({ code: 'POINT_COUNT_MISMATCH', path: 'Series[0].Period' });
    expect(err.message).toContain('expected 92');
  });

  it('refuses a quantity with a decimal comma, naming the field', () => {
    const err = parseErrorOf(() => parseCimXml(mutate(day(), '<cim:quantity>0.250</cim:quantity>', '<cim:quantity>0,250</cim:quantity>')));
    expect(err).toMatchObject({ code: 'DECIMAL_COMMA', field: 'quantity', path: 'Series[0].Period.Point[0].quantity' });
    expect(err.message).toContain('quantity "0,250"');
  });

  it('refuses a non-numeric quantity, in XML and in JSON', () => {
    expect(parseErrorOf(() => parseCimXml(mutate(day(), '<cim:quantity>0.250</cim:quantity>', '<cim:quantity>NaN</cim:quantity>')))).toMatchObject({
      code: 'INVALID_DECIMAL',
      field: 'quantity',
    });
    const json = writeCimJson(parseCimXml(day())).replace('"quantity": 0.250', '"quantity": "1e3"');
    expect(parseErrorOf(() => parseCimJson(json))).toMatchObject({ code: 'INVALID_DECIMAL', field: 'quantity' });
  });

  it('refuses a missing quantity unless the quality is A02', () => {
    const xml = mutate(day(), '<cim:quantity>0.250</cim:quantity>', '');
    expect(parseErrorOf(() => parseCimXml(xml))).toMatchObject({ code: 'MISSING_QUANTITY', field: 'quantity', path: 'Series[0].Period.Point[0].quantity' });
    const ok = parseRsm012Xml(mutate(day(), '<cim:quantity>0.250</cim:quantity>', '<cim:quality>A02</cim:quality>'));
    expect(ok.series[0].period.points[0]).toEqual({ position: 1, quality: 'A02' });
  });

  it('refuses a malformed GSRN (not 18 digits)', () => {
    const err = parseErrorOf(() => parseCimXml(mutate(day(), '>571313180400000025<', '>57131318040000002<')));
    expect(err).toMatchObject({ code: 'INVALID_GSRN', field: 'marketEvaluationPoint.mRID', path: 'Series[0].marketEvaluationPoint.mRID' });
    const grid = parseErrorOf(() => parseCimXml(mutate(RSM014, '>5799999933318</cim:energySupplier', '>57999999333X8</cim:energySupplier')));
    expect(grid).toMatchObject({ code: 'INVALID_GLN', field: 'energySupplier_MarketParticipant.mRID' });
  });

  it('refuses, in strict mode, a GSRN or GLN whose GS1 check digit is wrong, in XML and JSON; lenient mode keeps it', () => {
    const wrongDigit = mutate(day(), '>571313180400000025<', '>571313180400000028<');
    for (const parse of [() => parseCimXml(wrongDigit), () => parseRsm012Xml(wrongDigit), () => parseCimJson(writeCimJson(parseCimXml(wrongDigit, { identifiers: 'lenient' })))]) {
      const err = parseErrorOf(parse);
      expect(err).toMatchObject({ code: 'INVALID_GSRN', field: 'marketEvaluationPoint.mRID', path: 'Series[0].marketEvaluationPoint.mRID' });
      expect(err.message).toContain('"571313180400000028" is not a GSRN (its GS1 check digit is wrong)');
    }
    expect(parseRsm012Xml(wrongDigit, { identifiers: 'lenient' }).series[0].meteringPointId).toBe('571313180400000028');
    const gln = parseErrorOf(() => parseCimXml(mutate(RSM014, '>5799999933318</cim:energySupplier', '>5799999933317</cim:energySupplier')));
    expect(gln).toMatchObject({ code: 'INVALID_GLN', field: 'energySupplier_MarketParticipant.mRID' });
    expect(gln.message).toContain('its GS1 check digit is wrong');
  });

  it('refuses a malformed date-time', () => {
    const err = parseErrorOf(() => parseCimXml(mutate(day(), '<cim:createdDateTime>2026-03-02T09:30:47Z', '<cim:createdDateTime>2026-03-02 09:30')));
    expect(err).toMatchObject({ code: 'INVALID_DATETIME', field: 'createdDateTime' });
  });

  it('refuses truncated XML', () => {
    const xml = day();
    expect(parseErrorOf(() => parseCimXml(xml.slice(0, Math.floor(xml.length / 2)))).code).toBe('MALFORMED_XML');
    expect(parseErrorOf(() => parseCimXml('')).code).toBe('MALFORMED_XML');
  });

  it('refuses invalid JSON, duplicate keys and runaway nesting', () => {
    const json = writeCimJson(parseCimXml(day()));
    expect(parseErrorOf(() => parseCimJson(json.slice(0, json.length - 10))).code).toBe('INVALID_JSON');
    expect(parseErrorOf(() => parseCimJson('{"a":1,}')).code).toBe('INVALID_JSON');
    expect(parseErrorOf(() => parseCimJson('{"x":{"a":1,"a":2}}')).code).toBe('INVALID_JSON');
    expect(parseErrorOf(() => parseCimJson(`{"x":${'['.repeat(500)}${']'.repeat(500)}}`)).code).toBe('INVALID_JSON');
    expect(parseErrorOf(() => parseCimJson('[]')).code).toBe('INVALID_JSON');
  });

  it('refuses a missing mandatory field, naming it', () => {
    expect(parseErrorOf(() => parseCimXml(mutate(day(), '<cim:mRID>series-1</cim:mRID>', '')))).toMatchObject({ code: 'MISSING_FIELD', path: 'Series[0].mRID' });
  });
});
