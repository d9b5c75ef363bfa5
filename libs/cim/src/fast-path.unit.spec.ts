import { mulberry32 } from '@dh/testing';
import { quarterHourSeries } from './document-factories';
import { CimParseError, packPeriodPoints, packPoints, parseCimJson, parseCimXml, writeCimJson, writeCimXml, type CimParseOptions, type MeasurePoint, type NotifyValidatedMeasureData, type QualityCode } from './index';
import { readJsonTreeFast } from './lib/json/fast-json';
import { resolveDocument } from './lib/registry';
import { readXmlTreeFast } from './lib/xml/fast-xml';
import { decodeXmlInput } from './lib/xml/read-xml';
import { example, fixture } from './test-support';

/**
 * The fast RSM-012/014 readers (fast-xml.ts, fast-json.ts) must give exactly what the strict readers
 * give, and must hand everything they do not expect to the strict reader (which then reports it).
 */

const STRICT: CimParseOptions = { path: 'strict' };

type Outcome = { doc: unknown } | { error: { code: string; path?: string; field?: string; message: string } };

function outcome(parse: () => unknown): Outcome {
  try {
    return { doc: parse() };
  } catch (e) {
    if (!(e instanceof CimParseError)) throw e;
    return { error: { code: e.code, path: e.path, field: e.field, message: e.message } };
  }
}

const xmlTakesFastPath = (xml: string): boolean =>
  readXmlTreeFast(decodeXmlInput(xml, Number.MAX_SAFE_INTEGER), (name, ns) => resolveDocument(name, ns ?? '')) !== undefined;
const jsonTakesFastPath = (json: string): boolean => readJsonTreeFast(json.replace(/^\ufeff/, ''), (name) => resolveDocument(name, undefined)) !== undefined;

function expectSameXml(xml: string, options: CimParseOptions = {}): Outcome {
  const fast = outcome(() => parseCimXml(xml, options));
  expect(fast).toEqual(outcome(() => parseCimXml(xml, { ...options, ...STRICT })));
  return fast;
}

function expectSameJson(json: string, options: CimParseOptions = {}): Outcome {
  const fast = outcome(() => parseCimJson(json, options));
  expect(fast).toEqual(outcome(() => parseCimJson(json, { ...options, ...STRICT })));
  return fast;
}

// ------------------------------------------------------------------------------ generated documents


const QUALITIES: readonly (QualityCode | undefined)[] = [undefined, undefined, undefined, 'A01', 'A02', 'A03', 'A04', 'A05', 'A06'];

/** Copenhagen days as UTC intervals: a normal day, the 23-hour spring day, the 25-hour autumn day. */
const DAYS = [
  { start: '2026-04-14T22:00:00Z', end: '2026-04-15T22:00:00Z', hours: 24 },
  { start: '2026-03-28T23:00:00Z', end: '2026-03-29T22:00:00Z', hours: 23 },
  { start: '2026-10-24T22:00:00Z', end: '2026-10-25T23:00:00Z', hours: 25 },
  { start: '2026-01-31T23:00Z', end: '2026-02-01T23:00Z', hours: 24 },
] as const;

function quantity(next: () => number): string {
  const r = next();
  if (r < 0.1) return String(Math.floor(next() * 1000));
  if (r < 0.15) return `-${(next() * 10).toFixed(3)}`;
  if (r < 0.2) return '12345678901234.123456789';
  return (next() * 5).toFixed(3);
}

function generated(seed: number): NotifyValidatedMeasureData {
  const next = mulberry32(seed);
  const seriesCount = 1 + Math.floor(next() * 4);
  const base = quarterHourSeries('2026-04-14T22:00:00Z', '2026-04-15T22:00:00Z', 96);
  return {
    ...base,
    header: { ...base.header, mRID: `generated-${seed}` },
    series: Array.from({ length: seriesCount }, (_, s) => {
      const day = DAYS[Math.floor(next() * DAYS.length)];
      const resolution = next() < 0.5 ? ('PT15M' as const) : ('PT1H' as const);
      const count = resolution === 'PT15M' ? day.hours * 4 : day.hours;
      const points = Array.from({ length: count }, (_, i): MeasurePoint => {
        const quality = QUALITIES[Math.floor(next() * QUALITIES.length)];
        // A02 (not available) may come without a quantity: the missing positions of a series.
        if (quality === 'A02' && next() < 0.7) return { position: i + 1, quality };
        return quality === undefined ? { position: i + 1, quantity: quantity(next) } : { position: i + 1, quantity: quantity(next), quality };
      });
      const series = base.series[0];
      return {
        ...series,
        mRID: `series-${seed}-${s}`,
        ...(next() < 0.3 ? { originalTransactionIDReference: `orig-${s}` } : {}),
        meteringPointType: next() < 0.8 ? ('E17' as const) : ('E18' as const),
        period: { resolution, timeInterval: { start: day.start, end: day.end }, points },
      };
    }),
  };
}

describe('fast RSM-012 readers give what the strict readers give', () => {
  it('on the reference examples (Energinet DataHub 3), and they take the fast path', () => {
    const options: CimParseOptions = { pointCount: 'lenient' };
    for (const file of ['rsm012-notifyvalidatedmeasuredata-pt1h.xml', 'rsm012-notifyvalidatedmeasuredata-two-series.xml']) {
      const xml = example(file).toString('utf8');
      expect(xmlTakesFastPath(xml)).toBe(true);
      const result = expectSameXml(xml, options);
      expect('doc' in result).toBe(true);
      // Under the strict point count both refuse it the same way.
      expect('error' in expectSameXml(xml)).toBe(true);
    }
    const json = example('rsm012-notifyvalidatedmeasuredata-pt1h.json').toString('utf8');
    expect(jsonTakesFastPath(json)).toBe(true);
    expect('doc' in expectSameJson(json, options)).toBe(true);
    const rsm014 = fixture('rsm014-notifyaggregatedmeasuredata.xml');
    expect(xmlTakesFastPath(rsm014)).toBe(true);
    expect('doc' in expectSameXml(rsm014)).toBe(true);
    expect('doc' in expectSameJson(writeCimJson(parseCimXml(rsm014)))).toBe(true);
  });

  it('on generated documents: PT15M and PT1H, 23-, 24- and 25-hour days, every quality code, missing quantities, several series', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const doc = generated(seed);
      const xml = writeCimXml(doc);
      const json = writeCimJson(doc);
      expect(xmlTakesFastPath(xml)).toBe(true);
      expect(jsonTakesFastPath(json)).toBe(true);
      expect(expectSameXml(xml)).toEqual({ doc });
      expect(expectSameJson(json)).toEqual({ doc });
      expect(expectSameXml(xml.replace(/\n/g, '\r\n'))).toEqual({ doc });
      expect(expectSameJson(JSON.stringify(JSON.parse(json.replace(/: (-?\d[\d.]*)/g, ': "§$1§"')) as unknown).replace(/"§(-?[\d.]+)§"/g, '$1'))).toEqual({ doc });
    }
  });

  it('on documents with a missing position, a gap, a duplicate or a wrong count: the same error, with its path', () => {
    const doc = generated(7);
    const xml = writeCimXml(doc);
    const cases = [
      xml.replace('<cim:position>3</cim:position>', ''),
      xml.replace('<cim:position>3</cim:position>', '<cim:position>4</cim:position>'),
      xml.replace('<cim:position>5</cim:position>', '<cim:position>05</cim:position>'),
      xml.replace(/<cim:Point>\s*<cim:position>2<\/cim:position>[\s\S]*?<\/cim:Point>/, ''),
      xml.replace(/<cim:quantity>[^<]*<\/cim:quantity>/, '<cim:quantity>1,5</cim:quantity>'),
      xml.replace(/<cim:quantity>[^<]*<\/cim:quantity>/, '<cim:quantity>1e3</cim:quantity>'),
      xml.replace(/<cim:quantity>[^<]*<\/cim:quantity>/, '<cim:quantity> 1.5</cim:quantity>'),
      xml.replace(/<cim:quantity>[^<]*<\/cim:quantity>/, ''),
      xml.replace(/<cim:quality>[^<]*<\/cim:quality>/, '<cim:quality>A09</cim:quality>'),
      xml.replace('<cim:resolution>', '<cim:resolution>P'),
    ];
    for (const broken of cases) {
      expect(broken).not.toBe(xml);
      expect('error' in expectSameXml(broken)).toBe(true);
      const json = writeCimJson(doc);
      expect('error' in expectSameJson(json.replace('"value": 3\n', '"value": 4\n'))).toBe(true);
    }
  });
});

describe('the XML fast path packs the points while reading them (issue 8)', () => {
  const series = (doc: ReturnType<typeof parseCimXml>): NotifyValidatedMeasureData['series'] => {
    if (doc.kind !== 'NotifyValidatedMeasureData') throw new Error(doc.kind);
    return doc.series;
  };

  it('answers packPoints of the points, from the parse itself when every quantity fits (the same arrays on every call)', () => {
    let packedByTheParse = 0;
    let notPackable = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const xml = writeCimXml(generated(seed));
      const fast = series(parseCimXml(xml));
      const strict = series(parseCimXml(xml, STRICT));
      fast.forEach((s, i) => {
        const expected = packPoints(strict[i]!.period.points);
        expect(packPeriodPoints(s.period)).toEqual(expected);
        if (expected === null) {
          notPackable++;
        } else {
          // The parse's own packed form: no point object was needed for it.
          expect(packPeriodPoints(s.period)).toBe(packPeriodPoints(s.period));
          packedByTheParse++;
        }
        expect(s.period.points).toEqual(strict[i]!.period.points);
        expect(s.period.points).toBe(s.period.points);
      });
    }
    expect(packedByTheParse).toBeGreaterThan(5);
    expect(notPackable).toBeGreaterThan(5);
  });

  it('packs quantities by the rule of toThousandths: at most 12 integer digits and 3 decimals, a sign, a missing quantity with A02', () => {
    const doc = quarterHourSeries('2026-04-14T22:00:00Z', '2026-04-15T22:00:00Z', 96);
    const withQuantities = (quantities: Record<number, MeasurePoint>): string =>
      writeCimXml({ ...doc, series: [{ ...doc.series[0]!, period: { ...doc.series[0]!.period, points: doc.series[0]!.period.points.map((p, i) => quantities[i] ?? p) } }] });
    const cases: { points: Record<number, MeasurePoint>; wh: (number | null)[] | null }[] = [
      { points: { 0: { position: 1, quantity: '-1.5' }, 1: { position: 2, quantity: '999999999999.999' }, 2: { position: 3, quality: 'A02' }, 3: { position: 4, quantity: '7' } }, wh: [-1500, 999999999999999, null, 7000] },
      { points: { 0: { position: 1, quantity: '-0.000' }, 1: { position: 2, quantity: '0.05' } }, wh: [-0, 50] },
      { points: { 5: { position: 6, quantity: '0.0005' } }, wh: null },
      { points: { 95: { position: 96, quantity: '1000000000000.000' } }, wh: null },
    ];
    for (const c of cases) {
      const xml = withQuantities(c.points);
      expect(xmlTakesFastPath(xml)).toBe(true);
      const [fast] = series(parseCimXml(xml));
      const [strict] = series(parseCimXml(xml, STRICT));
      expect(fast!.period.points).toEqual(strict!.period.points);
      const packed = packPeriodPoints(fast!.period);
      expect(packed).toEqual(packPoints(strict!.period.points));
      if (c.wh === null) expect(packed).toBeNull();
      else expect(packed?.wh.slice(0, c.wh.length)).toEqual(c.wh);
    }
  });

  it('leaves points after another element of the Period, and a point off the run 1, 2, 3, …, to the strict reader', () => {
    const xml = writeCimXml(generated(5));
    const afterAnother = xml.replace(/(<\/cim:Point>)(\s*<cim:Point>\s*<cim:position>2<)/, '$1<cim:x>1</cim:x>$2');
    const startsAtTwo = xml.replace(/<cim:Point>\s*<cim:position>1<\/cim:position>[\s\S]*?<\/cim:Point>\s*/, '');
    for (const variant of [afterAnother, startsAtTwo]) {
      expect(variant).not.toBe(xml);
      expect(xmlTakesFastPath(variant)).toBe(false);
      expectSameXml(variant);
    }
    expect(expectSameXml(startsAtTwo)).toMatchObject({ error: { code: 'POSITION_GAP' } });
  });
});

describe('the fast readers hand what they do not expect to the strict reader', () => {
  const xml = writeCimXml(generated(3));
  const json = writeCimJson(generated(3));

  const xmlVariants: Record<string, string> = {
    'a comment': xml.replace('<cim:mRID>', '<!-- hi --><cim:mRID>'),
    'a CDATA section': xml.replace(/<cim:mRID>([^<]*)</, '<cim:mRID><![CDATA[$1]]><'),
    'an entity reference': xml.replace(/<cim:mRID>([^<]*)</, '<cim:mRID>&amp;$1<'),
    'an undefined entity': xml.replace(/<cim:mRID>([^<]*)</, '<cim:mRID>&boom;<'),
    'a character reference in a quantity': xml.replace(/<cim:quantity>(\d)/, '<cim:quantity>&#49;'),
    'a DOCTYPE': xml.replace('?>', '?><!DOCTYPE x>'),
    'a processing instruction': xml.replace('<cim:mRID>', '<?pi x?><cim:mRID>'),
    'a mismatched end tag': xml.replace('</cim:mRID>', '</cim:mrid>'),
    'an unclosed element': xml.replace('</cim:Period>', ''),
    'text after the root': `${xml}junk`,
    'a second root': `${xml}<cim:x/>`,
    'a point with an attribute': xml.replace('<cim:Point>', '<cim:Point a="1">'),
    'a self-closing point': xml.replace('<cim:Point>', '<cim:Point/><cim:Point>'),
    'a point field given twice': xml.replace('<cim:position>1</cim:position>', '<cim:position>1</cim:position><cim:position>1</cim:position>'),
    'an unknown point field': xml.replace('<cim:position>1</cim:position>', '<cim:position>1</cim:position><cim:extra>x</cim:extra>'),
    'an element in another namespace': xml.replace('<cim:mRID>', '<other:mRID>').replace('</cim:mRID>', '</other:mRID>'),
    'a namespace redeclared below the root': xml.replace('<cim:Series>', '<cim:Series xmlns:cim="urn:x">'),
    'a duplicate attribute': xml.replace('codingScheme="A10"', 'codingScheme="A10" codingScheme="A01"'),
    'a control character': xml.replace(/<cim:mRID>([^<]*)</, '<cim:mRID>\u0001$1<'),
    'an unquoted attribute': xml.replace('codingScheme="A10"', 'codingScheme=A10'),
    'another XML version': xml.replace('version="1.0"', 'version="1.1"'),
    'a wrong namespace': xml.replace('notifyvalidatedmeasuredata:0:1"', 'notifyvalidatedmeasuredata:0:2"'),
    'a missing header field': xml.replace(/<cim:createdDateTime>[^<]*<\/cim:createdDateTime>/, ''),
    'an invalid GSRN': xml.replace(/<cim:marketEvaluationPoint.mRID codingScheme="A10">\d+</, '<cim:marketEvaluationPoint.mRID codingScheme="A10">12345<'),
    'non-ASCII text in a header field': xml.replace(/<cim:mRID>([^<]*)</, '<cim:mRID>Søren $1<'),
    'a surrogate pair': xml.replace(/<cim:mRID>([^<]*)</, '<cim:mRID>😀$1<'),
    'a greater-than in text': xml.replace(/<cim:mRID>([^<]*)</, '<cim:mRID>$1]]><'),
    'an attribute on a header field': xml.replace('<cim:mRID>', '<cim:mRID x:y="1">'),
    'a quality code beyond A06': xml.replace(/<cim:quality>[^<]*<\/cim:quality>/, '<cim:quality>A07</cim:quality>'),
    'a quality code of four characters': xml.replace(/<cim:quality>[^<]*<\/cim:quality>/, '<cim:quality>A041</cim:quality>'),
    'a position of seven digits': xml.replace('<cim:position>1</cim:position>', '<cim:position>1000000</cim:position>'),
    'a quantity with a trailing dot': xml.replace(/<cim:quantity>(\d+)[^<]*<\/cim:quantity>/, '<cim:quantity>$1.</cim:quantity>'),
    'a quantity with a plus sign': xml.replace(/<cim:quantity>[^<]*<\/cim:quantity>/, '<cim:quantity>+1.5</cim:quantity>'),
    'a space inside a point field tag': xml.replace('<cim:position>1</cim:position>', '<cim:position >1</cim:position >'),
    'the quality before the quantity': xml.replace(/(<cim:quantity>[^<]*<\/cim:quantity>)(\s*)(<cim:quality>[^<]*<\/cim:quality>)/, '$3$2$1'),
    'a tab and a carriage return between point fields': xml.replace(/<\/cim:position>\s*<cim:quantity>/, '</cim:position>\t\r<cim:quantity>'),
  };

  it.each(Object.entries(xmlVariants))('XML with %s: the same result as the strict reader', (_what, variant) => {
    expect(variant).not.toBe(xml);
    expectSameXml(variant);
  });

  it('reads points under any namespace prefix on the fast path (one with a dot and a dash), and none that break the rules', () => {
    const prefixed = xml.replace(/cim:/g, 'n-s.1:').replace('xmlns:cim=', 'xmlns:n-s.1=');
    expect(prefixed).not.toContain('cim:');
    expect(xmlTakesFastPath(prefixed)).toBe(true);
    expect(expectSameXml(prefixed)).toEqual({ doc: generated(3) });
    // The dot of the prefix is a dot, not any character.
    const otherPrefix = prefixed.replace('<n-s.1:position>2</n-s.1:position>', '<n-sx1:position>2</n-s.1:position>');
    expect(xmlTakesFastPath(otherPrefix)).toBe(false);
    expect('error' in expectSameXml(otherPrefix)).toBe(true);
    for (const name of ['a quality code beyond A06', 'a position of seven digits', 'a quantity with a trailing dot', 'the quality before the quantity']) {
      expect(xmlTakesFastPath(xmlVariants[name]!)).toBe(false);
    }
  });

  const jsonVariants: Record<string, string> = {
    'an escape in a string': json.replace('"mRID": "generated-3"', '"mRID": "gener\\u0061ted-3"'),
    'a duplicate key': json.replace('"mRID": "generated-3",', '"mRID": "generated-3", "mRID": "x",'),
    'a duplicate point key': json.replace(/"quantity": ([\d.]+)/, '"quantity": $1, "quantity": $1'),
    'a quantity as a string': json.replace(/"quantity": ([\d.]+)/, '"quantity": "$1"'),
    'a position as a string': json.replace('"value": 1\n', '"value": "1"\n'),
    'a bare position': json.replace(/"position": \{\s*"value": 1\s*\}/, '"position": 1'),
    'a null quantity without quality': json.replace(/"quantity": ([\d.]+)/, '"quantity": null'),
    'a quality with a coding scheme': json.replace(/"quality": \{\s*"value": "(A\d\d)"\s*\}/, '"quality": {"value": "$1", "codingScheme": "x"}'),
    'an unknown point key': json.replace(/"quantity": ([\d.]+)/, '"quantity": $1, "x": 1'),
    'a leading-zero number': json.replace(/"quantity": ([\d.]+)/, '"quantity": 0$1'),
    'an exponent': json.replace(/"quantity": ([\d.]+)/, '"quantity": 1e3'),
    'trailing characters': `${json}x`,
    'a second root key': json.replace(/\}\s*$/, ', "x": {}}'),
    'a trailing comma': json.replace(/"quantity": ([\d.]+)/, '"quantity": $1,'),
    'a null header field': json.replace('"mRID": "generated-3"', '"mRID": null'),
    'a value that is an object': json.replace('"value": "E23"', '"value": {"x": 1}'),
    'a value that is null': json.replace('"value": "E23"', '"value": null'),
    'a control character in a string': json.replace('"mRID": "generated-3"', '"mRID": "gen\u0001"'),
    'a Period as an array': json.replace(/"Period": (\{[\s\S]*?"Point")/, '"Period": [$1').replace(/(\]\s*)\}(\s*\}\s*\]\s*\}\s*\}\s*)$/, '$1}]$2'),
    'a Point that is an object': json.replace(/"Point": \[\s*(\{[\s\S]*?\})\s*,\s*\{[\s\S]*\}\s*\]/, '"Point": $1'),
    'a wrong type code': json.replace('"value": "E66"', '"value": "E31"'),
    'deep nesting': json.replace('"mRID": "generated-3"', `"mRID": ${'['.repeat(70)}1${']'.repeat(70)}`),
  };

  it.each(Object.entries(jsonVariants))('JSON with %s: the same result as the strict parser', (_what, variant) => {
    expect(variant).not.toBe(json);
    expectSameJson(variant);
  });
});
