/**
 * A compact, exact form of a measure series' points (issue 8): integer thousandths of the unit (Wh for a series
 * in kWh) per consecutive position, and the qualities as runs. `{position, quantity, quality}` per point as JSON
 * costs about ten times the bytes (and a JSON object per value in every `jsonb` that holds it); this form is an
 * array of integers and, typically, one quality run.
 *
 * Exact: a quantity is packed only when it has at most three decimals and fits a safe integer of thousandths;
 * a series with any other quantity, or with positions that are not consecutive and ascending, is not packed
 * (`packPoints` answers null and the caller keeps its points as they are). Unpacking gives each quantity with
 * exactly three decimals: the same number ("1.5" comes back as "1.500").
 */
export interface PackedPoints {
  /** Position of the first value (1 unless the series starts inside the period the positions count from). */
  firstPosition: number;
  /** Thousandths of the unit per position from `firstPosition` (Wh for kWh), null where the point has no quantity. */
  wh: (number | null)[];
  /** The points' quality codes as runs `[code or null, how many]`, in position order, covering `wh`. */
  qualities: [string | null, number][];
}

/** A point as readers see it. */
export interface UnpackedPoint {
  position: number;
  quantity: string | null;
  quality: string | null;
}

/**
 * Integer thousandths of a decimal string with at most three decimals ("1.5" → 1500, "-0.001" → -1), else null:
 * exactly the strings `^-?\d{1,12}(\.\d{1,3})?$` matches (ASCII digits). Read character by character (no regular
 * expression, substrings or `Number` parse per value): every quantity of every RSM-012 series passes here.
 */
export function toThousandths(decimal: string): number | null {
  const len = decimal.length;
  let i = decimal.charCodeAt(0) === 45 ? 1 : 0; // '-'
  const intStart = i;
  let whole = 0;
  for (; i < len; i++) {
    const d = decimal.charCodeAt(i) - 48;
    if (d < 0 || d > 9) break;
    whole = whole * 10 + d;
  }
  const intDigits = i - intStart;
  if (intDigits < 1 || intDigits > 12) return null;
  let frac = 0;
  if (i < len) {
    if (decimal.charCodeAt(i) !== 46) return null; // '.'
    const fracStart = ++i;
    for (; i < len; i++) {
      const d = decimal.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return null;
      frac = frac * 10 + d;
    }
    const fracDigits = i - fracStart;
    if (fracDigits < 1 || fracDigits > 3) return null;
    if (fracDigits === 1) frac *= 100;
    else if (fracDigits === 2) frac *= 10;
  }
  const value = whole * 1000 + frac;
  return intStart === 1 ? -value : value;
}

/** The decimal string of integer thousandths, with three decimals (1500 → "1.500", -1 → "-0.001"). */
export function fromThousandths(value: number): string {
  const abs = Math.abs(value);
  const frac = abs % 1000;
  return `${value < 0 ? '-' : ''}${(abs - frac) / 1000}.${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}`;
}

/** The packed form of points, or null when it cannot hold them exactly (see {@link PackedPoints}). */
export function packPoints(points: readonly { position: number; quantity?: string | null; quality?: string | null }[]): PackedPoints | null {
  if (points.length === 0) return null;
  const firstPosition = points[0]!.position;
  if (!Number.isSafeInteger(firstPosition) || firstPosition < 1) return null;
  const wh: (number | null)[] = new Array<number | null>(points.length);
  const qualities: [string | null, number][] = [];
  let run: [string | null, number] | null = null;
  for (let i = 0; i < points.length; i++) {
    const p = points[i]!;
    if (p.position !== firstPosition + i) return null;
    const q = p.quantity;
    if (q === undefined || q === null) {
      wh[i] = null;
    } else {
      const v = toThousandths(q);
      if (v === null) return null;
      wh[i] = v;
    }
    const quality = p.quality ?? null;
    if (run !== null && run[0] === quality) {
      run[1]++;
    } else {
      run = [quality, 1];
      qualities.push(run);
    }
  }
  return { firstPosition, wh, qualities };
}

/** The packed form a parser read a period's points into (the XML fast path), by period object. */
const packedOfPeriod = new WeakMap<object, PackedPoints>();

/** Remembers the packed form of `period`'s points, read with them (the same as `packPoints(period.points)`). */
export function rememberPackedPoints(period: object, packed: PackedPoints): void {
  packedOfPeriod.set(period, packed);
}

/**
 * `packPoints(period.points)`, taken from the parse when the XML fast path packed the points while reading them
 * (issue 8: then no point object or quantity string is made for them). The answer may be the parse's own arrays,
 * shared by every call for the same period: read it, do not change it.
 */
export function packPeriodPoints(period: { readonly points: readonly { position: number; quantity?: string | null; quality?: string | null }[] }): PackedPoints | null {
  return packedOfPeriod.get(period) ?? packPoints(period.points);
}

/** Whether a value is a well-formed {@link PackedPoints} (runs covering every value, integers or null). */
export function isPackedPoints(value: unknown): value is PackedPoints {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  if (typeof v.firstPosition !== 'number' || !Number.isSafeInteger(v.firstPosition) || v.firstPosition < 1) return false;
  if (!Array.isArray(v.wh) || !Array.isArray(v.qualities)) return false;
  for (const x of v.wh as unknown[]) if (x !== null && !(typeof x === 'number' && Number.isSafeInteger(x))) return false;
  let covered = 0;
  for (const r of v.qualities as unknown[]) {
    if (!Array.isArray(r) || r.length !== 2) return false;
    const [code, count] = r as unknown[];
    if (code !== null && typeof code !== 'string') return false;
    if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1) return false;
    covered += count;
  }
  return covered === v.wh.length;
}

/** The points of a packed series, quantities as decimal strings with three decimals. */
export function unpackPoints(packed: PackedPoints): UnpackedPoint[] {
  const out: UnpackedPoint[] = new Array<UnpackedPoint>(packed.wh.length);
  let i = 0;
  for (const [quality, count] of packed.qualities) {
    for (let k = 0; k < count && i < packed.wh.length; k++, i++) {
      const v = packed.wh[i]!;
      out[i] = { position: packed.firstPosition + i, quantity: v === null ? null : fromThousandths(v), quality };
    }
  }
  return out;
}

/**
 * The points of a series as an event carries them: packed (`firstPosition`, `wh`, `qualities` beside the series'
 * other fields, schema version 2 of the metered-data events) or, as before and when not packable, `points`
 * (`{position, quantity, quality}` each; `quantityField` names the quantity). Null when the data holds neither
 * well-formed (a point that is not an object, a position that is not a number, a quantity or quality that is
 * neither a string nor null).
 */
export function seriesPointsOf(data: Readonly<Record<string, unknown>>, quantityField = 'quantity'): UnpackedPoint[] | null {
  if (Array.isArray(data.points)) {
    const out: UnpackedPoint[] = [];
    for (const p of data.points as unknown[]) {
      if (typeof p !== 'object' || p === null || Array.isArray(p)) return null;
      const r = p as Record<string, unknown>;
      const q = r[quantityField] ?? null;
      const quality = r.quality ?? null;
      // Anything else than a number, a string or null is refused whole, not read as "no quantity".
      if (typeof r.position !== 'number' || (q !== null && typeof q !== 'string') || (quality !== null && typeof quality !== 'string')) return null;
      out.push({ position: r.position, quantity: q, quality });
    }
    return out;
  }
  return isPackedPoints(data) ? unpackPoints(data) : null;
}
