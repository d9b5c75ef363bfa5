import { el, group, opt } from '../codec/builder';
import type { NodeReader } from '../codec/reader';
import { checkPeriodPointCount, checkPeriodPoints, checkPosition, validateMeasurePoint } from '../codec/validate';
import { rememberPackedPoints } from '../packed/packed-points';
import { QUALITY_CODES, type TimeInterval } from '../model/common';
import type { PricePeriod, PricePoint } from '../model/charges';
import type { MeasurePeriod, MeasurePoint, MeasureResolution } from '../model/measure';
import type { WholesalePeriod, WholesalePoint } from '../model/wholesale';
import { leaf, node, type ScannedPoints, type XNode } from '../xnode';

const MEASURE_RESOLUTIONS: readonly MeasureResolution[] = ['PT15M', 'PT1H'];
const ALL_RESOLUTIONS = ['PT15M', 'PT1H', 'P1D', 'P1M'] as const;

function readInterval(r: NodeReader): TimeInterval {
  const ti = r.child('timeInterval');
  return { start: ti.dateTime('start'), end: ti.dateTime('end') };
}

function writeInterval(ti: TimeInterval): XNode[] {
  return group('timeInterval', el('start', ti.start), el('end', ti.end));
}

export function readMeasurePeriod(r: NodeReader): MeasurePeriod {
  const resolution = r.code('resolution', MEASURE_RESOLUTIONS);
  const timeInterval = readInterval(r);
  const scanned = r.node.scanned;
  if (scanned) {
    checkPeriodPointCount(scanned.count, resolution, timeInterval, r.path, r.ctx);
    return scannedPeriod(resolution, timeInterval, scanned);
  }
  const points: MeasurePoint[] =
    r.node.points ??
    r.all('Point').map((p, i) => validateMeasurePoint(p.optStr('position'), p.optStr('quantity'), p.optStr('quality'), `${r.path}.Point`, i));
  checkPeriodPoints(points, resolution, timeInterval, r.path, r.ctx);
  return { resolution, timeInterval, points };
}

/**
 * A period whose points the XML fast path read without objects (issue 8): `points` is built from the text the first
 * time it is read (the same points the strict reader gives), and the packed form the scan made is remembered for
 * `packPeriodPoints`, so a reader that wants integer thousandths never builds a point object or a quantity string.
 */
function scannedPeriod(resolution: MeasureResolution, timeInterval: TimeInterval, scanned: ScannedPoints): MeasurePeriod {
  let points: readonly MeasurePoint[] | undefined;
  const period: MeasurePeriod = {
    resolution,
    timeInterval,
    get points(): readonly MeasurePoint[] {
      return (points ??= scanned.points());
    },
  };
  if (scanned.thousandths !== null && scanned.count > 0) rememberPackedPoints(period, { firstPosition: 1, wh: scanned.thousandths, qualities: scanned.qualities });
  return period;
}

export function writeMeasurePeriod(p: MeasurePeriod): XNode[] {
  const pts = p.points.map((pt) => {
    const c: XNode[] = [leaf('position', String(pt.position))];
    if (pt.quantity !== undefined) c.push(leaf('quantity', pt.quantity));
    if (pt.quality !== undefined) c.push(leaf('quality', pt.quality));
    return node('Point', c);
  });
  return group('Period', el('resolution', p.resolution), writeInterval(p.timeInterval), pts);
}

export function readWholesalePeriod(r: NodeReader): WholesalePeriod {
  const resolution = r.code('resolution', ALL_RESOLUTIONS);
  const timeInterval = readInterval(r);
  const points = r.all('Point').map((p): WholesalePoint => {
    const point: { position: number; quantity?: string; price?: string; amount: string; quality?: (typeof QUALITY_CODES)[number] } = {
      position: checkPosition(p.str('position'), p.path),
      amount: p.decimal('energySum_Quantity.quantity'),
    };
    const quantity = p.optDecimal('energy_Quantity.quantity');
    const price = p.optDecimal('price.amount');
    const quality = p.optCode('quality', QUALITY_CODES);
    if (quantity !== undefined) point.quantity = quantity;
    if (price !== undefined) point.price = price;
    if (quality !== undefined) point.quality = quality;
    return point;
  });
  checkPeriodPoints(points, resolution, timeInterval, r.path, r.ctx);
  return { resolution, timeInterval, points };
}

export function writeWholesalePeriod(p: WholesalePeriod): XNode[] {
  const pts = p.points.map((pt) =>
    node('Point', [
      ...el('position', String(pt.position)),
      ...opt('energy_Quantity.quantity', pt.quantity),
      ...opt('price.amount', pt.price),
      ...el('energySum_Quantity.quantity', pt.amount),
      ...opt('quality', pt.quality),
    ]),
  );
  return group('Period', el('resolution', p.resolution), writeInterval(p.timeInterval), pts);
}

/** Price series: a price pattern, not an interval-filling series, so only contiguity is checked. */
export function readPricePeriod(r: NodeReader): PricePeriod {
  const resolution = r.code('resolution', ALL_RESOLUTIONS);
  const timeInterval = readInterval(r);
  const points = r.all('Point').map((p): PricePoint => ({ position: checkPosition(p.str('position'), p.path), price: p.decimal('price.amount') }));
  checkPeriodPoints(points, 'pattern', timeInterval, r.path, r.ctx);
  return { resolution, timeInterval, points };
}

export function writePricePeriod(name: string, p: PricePeriod): XNode[] {
  const pts = p.points.map((pt) => node('Point', [...el('position', String(pt.position)), ...el('price.amount', pt.price)]));
  return group(name, el('resolution', p.resolution), writeInterval(p.timeInterval), pts);
}
