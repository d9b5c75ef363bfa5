import { SaxesParser } from 'saxes';
import { parseCimJson, parseCimXml, writeCimJson, writeCimXml, type MeasurePoint, type NotifyValidatedMeasureData, type QualityCode } from '@dh/cim';
import { gsrnCheckDigit } from '@dh/market-ids';
import { delay, fmt, log, median, msSince, now, result, type BenchResult } from './measure';

/**
 * RSM-012 parse throughput (issue 3). A synthetic NotifyValidatedMeasureData: SERIES metering
 * points × one month (April 2026, no DST change: 30 × 96 = 2,880 PT15M points each), every 7th
 * point estimated (A03). Written with writeCimXml / writeCimJson and parsed with parseCimXml /
 * parseCimJson (full validation: GSRN/GLN, decimals, positions, point count). Baseline: JSON.parse
 * of the same values as a plain array per series of {position, quantity, quality?}. Also shown:
 * the strict path alone (`path: 'strict'`, what every document outside the common RSM-012/014 shape
 * goes through) and the saxes tokenizer alone with no handlers, the floor under the strict XML reader.
 */

const SERIES = Number(process.env.BENCH_CIM_SERIES ?? 50);
const START = '2026-03-31T22:00:00Z';
const END = '2026-04-30T22:00:00Z';
const POINTS = 30 * 96;
const ROUNDS = 5;

function quantity(i: number): string {
  const wh = (i * 37) % 100_000;
  return `${Math.floor(wh / 1000)}.${String(wh % 1000).padStart(3, '0')}`;
}

export function syntheticRsm012(series: number): NotifyValidatedMeasureData {
  return {
    kind: 'NotifyValidatedMeasureData',
    header: {
      mRID: 'bench-rsm012',
      processType: 'E23',
      businessSectorType: '23',
      sender: { id: { codingScheme: 'A10', value: '5790001330552' }, role: 'DGL' },
      receiver: { id: { codingScheme: 'A10', value: '5799999933318' }, role: 'DDQ' },
      createdDateTime: '2026-05-01T05:00:00Z',
    },
    series: Array.from({ length: series }, (_, s) => ({
      mRID: `series-${s + 1}`,
      meteringPointId: `57131318040${String(s).padStart(6, '0')}${gsrnCheckDigit(`57131318040${String(s).padStart(6, '0')}`)}`,
      meteringPointType: 'E17' as const,
      registrationDateTime: '2026-05-01T04:00:00Z',
      product: '8716867000030',
      unit: 'KWH' as const,
      period: {
        resolution: 'PT15M' as const,
        timeInterval: { start: START, end: END },
        points: Array.from({ length: POINTS }, (_, i): MeasurePoint => {
          const q = quantity(s * POINTS + i);
          return i % 7 === 6 ? { position: i + 1, quantity: q, quality: 'A03' as QualityCode } : { position: i + 1, quantity: q };
        }),
      },
    })),
  };
}

function countValues(doc: NotifyValidatedMeasureData): number {
  return doc.series.reduce((sum, s) => sum + s.period.points.length, 0);
}

function time(run: () => number, expected: number, what: string): number {
  const start = now();
  const values = run();
  const ms = msSince(start);
  if (values !== expected) throw new Error(`${what}: parsed ${values} values, expected ${expected}`);
  return (values / ms) * 1000;
}

export async function runCimParseBench(): Promise<BenchResult[]> {
  const doc = syntheticRsm012(SERIES);
  const values = countValues(doc);
  // As the inbox has them: text decoded from the HTTP body's bytes (a flat string, like the baseline's).
  const xml = Buffer.from(writeCimXml(doc), 'utf8').toString('utf8');
  const json = Buffer.from(writeCimJson(doc), 'utf8').toString('utf8');
  const plain = JSON.stringify(doc.series.map((s) => s.period.points.map((p) => (p.quality ? { position: p.position, quantity: Number(p.quantity), quality: p.quality } : { position: p.position, quantity: Number(p.quantity) }))));
  log(
    `  document: ${SERIES} series × ${POINTS} PT15M points = ${values.toLocaleString('en-US')} values; ` +
      `XML ${(xml.length / 1e6).toFixed(1)} MB, CIM JSON ${(json.length / 1e6).toFixed(1)} MB, plain JSON ${(plain.length / 1e6).toFixed(1)} MB`,
  );

  const parseXml = (): number => {
    const parsed = parseCimXml(xml);
    if (parsed.kind !== 'NotifyValidatedMeasureData') throw new Error(`parseCimXml returned ${parsed.kind}`);
    return countValues(parsed);
  };
  const parseJson = (): number => {
    const parsed = parseCimJson(json);
    if (parsed.kind !== 'NotifyValidatedMeasureData') throw new Error(`parseCimJson returned ${parsed.kind}`);
    return countValues(parsed);
  };
  const parseXmlStrict = (): number => countValues(parseCimXml(xml, { path: 'strict' }) as NotifyValidatedMeasureData);
  const parseJsonStrict = (): number => countValues(parseCimJson(json, { path: 'strict' }) as NotifyValidatedMeasureData);
  const parsePlain = (): number => {
    const parsed: unknown = JSON.parse(plain);
    if (!Array.isArray(parsed)) throw new Error('baseline JSON is not an array');
    return parsed.reduce((sum: number, s: unknown) => sum + (Array.isArray(s) ? s.length : 0), 0);
  };
  const saxesOnly = (): number => {
    const parser = new SaxesParser({ xmlns: false, position: true });
    let points = 0;
    parser.on('opentag', (tag) => {
      if (tag.name === 'cim:Point') points++;
    });
    parser.write(xml).close();
    return points;
  };

  // Warm-up (and a check that every path reads every value).
  time(parseXml, values, 'parseCimXml');
  time(parseJson, values, 'parseCimJson');
  time(parsePlain, values, 'JSON.parse');
  time(saxesOnly, values, 'saxes');
  time(parseXmlStrict, values, 'parseCimXml strict');
  time(parseJsonStrict, values, 'parseCimJson strict');

  const runs = { xml: [] as number[], json: [] as number[], plain: [] as number[], saxes: [] as number[], xmlStrict: [] as number[], jsonStrict: [] as number[] };
  for (let round = 1; round <= ROUNDS; round++) {
    // Lets timers and sockets run between rounds (and the collector settle) instead of one 20 s block.
    await delay(20);
    runs.plain.push(time(parsePlain, values, 'JSON.parse'));
    runs.xml.push(time(parseXml, values, 'parseCimXml'));
    runs.json.push(time(parseJson, values, 'parseCimJson'));
    log(`  round ${round}: XML ${fmt(runs.xml[round - 1], 'values/s')}, CIM JSON ${fmt(runs.json[round - 1], 'values/s')}, JSON.parse ${fmt(runs.plain[round - 1], 'values/s')}`);
  }
  // The strict path and saxes in rounds of their own: their garbage (an object per element, tag and text)
  // would otherwise be collected during the next measurements and tax whichever parser runs then.
  for (let round = 1; round <= ROUNDS; round++) {
    await delay(20);
    runs.plain.push(time(parsePlain, values, 'JSON.parse'));
    runs.xmlStrict.push(time(parseXmlStrict, values, 'parseCimXml strict'));
    runs.jsonStrict.push(time(parseJsonStrict, values, 'parseCimJson strict'));
    runs.saxes.push(time(saxesOnly, values, 'saxes'));
    log(
      `  reference round ${round}: strict XML ${fmt(runs.xmlStrict[round - 1], 'values/s')}, strict CIM JSON ${fmt(runs.jsonStrict[round - 1], 'values/s')}, ` +
        `saxes alone ${fmt(runs.saxes[round - 1], 'values/s')}, JSON.parse ${fmt(runs.plain[ROUNDS + round - 1], 'values/s')}`,
    );
  }
  const baseline = median(runs.plain.slice(0, ROUNDS));
  const strictBaseline = median(runs.plain.slice(ROUNDS));
  return [
    result('RSM-012 parseCimXml', median(runs.xml), baseline, 'values/s', true, 'JSON.parse plain array'),
    result('RSM-012 parseCimJson', median(runs.json), baseline, 'values/s', true, 'JSON.parse plain array'),
    result('RSM-012 parseCimXml, strict path (everything else)', median(runs.xmlStrict), strictBaseline, 'values/s', true, 'JSON.parse plain array'),
    result('RSM-012 parseCimJson, strict path (everything else)', median(runs.jsonStrict), strictBaseline, 'values/s', true, 'JSON.parse plain array'),
    result('RSM-012 strict XML path vs saxes alone', median(runs.xmlStrict), median(runs.saxes), 'values/s', true, 'saxes, one counting handler'),
  ];
}
