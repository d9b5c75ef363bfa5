import { textAt as at, isDecimalAt, positionAt, qualityAt, validMeasurePoint } from '../codec/validate';
import type { QualityCode } from '../model/common';
import type { MeasurePoint } from '../model/measure';
import type { XNode } from '../xnode';

/**
 * Fast reader for CIM JSON of RSM-012/014. It reads the text once and builds the element tree
 * `jsonToTree(parseRawJson(text))` would build, except that a `Period`'s `Point` array becomes the
 * validated compact points (as the XML reader does), so no object is made per JSON value of a point.
 * Numbers stay their source text, as in the strict parser.
 *
 * It never rejects: anything it does not expect (an escape in a string, a duplicate key, a point in
 * another shape, deep nesting, a malformed number, any error) returns `undefined` and the caller
 * parses the text with the strict RFC 8259 parser, which produces the error. See fast-xml.ts.
 */

class Bail extends Error {}
const BAIL = new Bail('outside the fast path');
const MAX_DEPTH = 60;

function isWs(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

export type JsonRootResolver = (rootName: string) => { readonly compactPoints: boolean };

export function readJsonTreeFast(text: string, resolveRoot: JsonRootResolver): XNode | undefined {
  try {
    return new FastJson(text).document(resolveRoot);
  } catch {
    return undefined;
  }
}

class FastJson {
  private i = 0;

  constructor(private readonly text: string) {}

  private ws(): void {
    const t = this.text;
    let i = this.i;
    while (isWs(t.charCodeAt(i))) i++;
    this.i = i;
  }

  private expect(c: number): void {
    this.ws();
    if (this.text.charCodeAt(this.i) !== c) throw BAIL;
    this.i++;
  }

  /** A string without escapes (the strict parser decodes those); `this.i` is at the opening quote. */
  private str(): string {
    const t = this.text;
    const start = this.i + 1;
    let i = start;
    for (;;) {
      const c = t.charCodeAt(i);
      if (c === 34) break;
      if (c === 92 || c < 32 || Number.isNaN(c)) throw BAIL;
      i++;
    }
    this.i = i + 1;
    return t.slice(start, i);
  }

  /** A number's source text, RFC 8259 grammar; `this.i` is at its first character. */
  private num(): string {
    const t = this.text;
    const start = this.i;
    let i = start;
    if (t.charCodeAt(i) === 45) i++;
    let c = t.charCodeAt(i);
    if (c === 48) i++;
    else if (c >= 49 && c <= 57) {
      i++;
      while ((c = t.charCodeAt(i)) >= 48 && c <= 57) i++;
    } else throw BAIL;
    if (t.charCodeAt(i) === 46) {
      c = t.charCodeAt(i + 1);
      if (!(c >= 48 && c <= 57)) throw BAIL;
      i += 2;
      while ((c = t.charCodeAt(i)) >= 48 && c <= 57) i++;
    }
    c = t.charCodeAt(i);
    if (c === 101 || c === 69) {
      i++;
      c = t.charCodeAt(i);
      if (c === 43 || c === 45) i++;
      c = t.charCodeAt(i);
      if (!(c >= 48 && c <= 57)) throw BAIL;
      while ((c = t.charCodeAt(i)) >= 48 && c <= 57) i++;
    }
    this.i = i;
    return t.slice(start, i);
  }

  document(resolveRoot: JsonRootResolver): XNode | undefined {
    this.expect(123);
    this.ws();
    if (this.text.charCodeAt(this.i) !== 34) return undefined;
    const rootName = this.str();
    this.expect(58);
    if (!resolveRoot(rootName).compactPoints) return undefined;
    this.ws();
    if (this.text.charCodeAt(this.i) !== 123) return undefined;
    const out: XNode[] = [];
    this.value(rootName, out, 1, true);
    this.expect(125);
    this.ws();
    if (this.i !== this.text.length || out.length !== 1) return undefined;
    return out[0];
  }

  /** Scalar text as `scalarText` gives it, or undefined for null/objects/arrays (which the strict path refuses or skips). */
  private scalar(): { text: string } | null | undefined {
    this.ws();
    const t = this.text;
    const c = t.charCodeAt(this.i);
    if (c === 34) return { text: this.str() };
    if (c === 45 || (c >= 48 && c <= 57)) return { text: this.num() };
    if (t.startsWith('true', this.i)) {
      this.i += 4;
      return { text: 'true' };
    }
    if (t.startsWith('false', this.i)) {
      this.i += 5;
      return { text: 'false' };
    }
    if (t.startsWith('null', this.i)) {
      this.i += 4;
      return null;
    }
    return undefined;
  }

  /** `toNode(name, value)` of jsonToTree, appending to `out`. */
  private value(name: string, out: XNode[], depth: number, compact: boolean): void {
    if (depth > MAX_DEPTH) throw BAIL;
    this.ws();
    const c = this.text.charCodeAt(this.i);
    if (c === 123) {
      this.object(name, out, depth, compact);
      return;
    }
    if (c === 91) {
      this.i++;
      this.ws();
      if (this.text.charCodeAt(this.i) === 93) {
        this.i++;
        return;
      }
      for (;;) {
        this.value(name, out, depth + 1, compact);
        this.ws();
        const sep = this.text.charCodeAt(this.i++);
        if (sep === 93) return;
        if (sep !== 44) throw BAIL;
      }
    }
    const s = this.scalar();
    if (s === undefined) throw BAIL;
    if (s !== null) out.push({ name, attrs: undefined, text: s.text, children: [] });
  }

  private object(name: string, out: XNode[], depth: number, compact: boolean): void {
    this.i++;
    const children: XNode[] = [];
    const keys: string[] = [];
    let leafKeysOnly = true;
    let valueText: string | undefined;
    let schemeText: string | undefined;
    let leafBroken = false;
    let points: MeasurePoint[] | undefined;
    this.ws();
    if (this.text.charCodeAt(this.i) === 125) {
      this.i++;
      out.push({ name, attrs: undefined, text: '', children });
      return;
    }
    for (;;) {
      this.ws();
      if (this.text.charCodeAt(this.i) !== 34) throw BAIL;
      const key = this.str();
      if (keys.includes(key)) throw BAIL;
      keys.push(key);
      this.expect(58);
      if (key === 'value' || key === 'codingScheme') {
        const start = this.i;
        const s = this.scalar();
        if (s === undefined || s === null) {
          leafBroken = true;
          this.i = start;
          this.value(key, children, depth + 1, compact);
        } else {
          children.push({ name: key, attrs: undefined, text: s.text, children: [] });
          if (key === 'value') valueText = s.text;
          else schemeText = s.text;
        }
      } else {
        leafKeysOnly = false;
        this.ws();
        if (compact && key === 'Point' && name === 'Period' && this.text.charCodeAt(this.i) === 91) {
          if (depth + 3 > MAX_DEPTH) throw BAIL;
          const read = readPoints(this.text, this.i);
          points = read.points;
          this.i = read.end;
        } else {
          this.value(key, children, depth + 1, compact);
        }
      }
      this.ws();
      const sep = this.text.charCodeAt(this.i++);
      if (sep === 125) break;
      if (sep !== 44) throw BAIL;
    }
    if (leafKeysOnly && keys.includes('value')) {
      // isLeafObject: the strict path makes a leaf of it and refuses a value/codingScheme that is not a scalar.
      if (leafBroken || valueText === undefined) throw BAIL;
      out.push({ name, attrs: schemeText === undefined ? undefined : { codingScheme: schemeText }, text: valueText, children: [] });
      return;
    }
    const node: XNode = { name, attrs: undefined, text: '', children };
    if (points) node.points = points;
    out.push(node);
  }
}

// ------------------------------------------------------------------------------------------- points
// A Period's Point array is read with a local index and plain functions (no per-value objects, no
// property writes per character): this is where almost all of a metered-data document's bytes are.

function skipWs(t: string, i: number): number {
  while (isWs(t.charCodeAt(i))) i++;
  return i;
}

/** Index after `c` following optional whitespace at `i`, or a bail. */
function expectAt(t: string, i: number, c: number): number {
  i = skipWs(t, i);
  if (t.charCodeAt(i) !== c) throw BAIL;
  return i + 1;
}

/** Index after the digits at `i`. */
function digitsEnd(t: string, i: number): number {
  let c: number;
  while ((c = t.charCodeAt(i)) >= 48 && c <= 57) i++;
  return i;
}

/** Index after `{ "value" :` and whitespace (`t[i]` is `{`). */
function openValue(t: string, i: number): number {
  i = skipWs(t, i + 1);
  if (!at(t, i, '"value"')) throw BAIL;
  return skipWs(t, expectAt(t, i + 7, 58));
}

/**
 * `[{"position": {"value": n} | n, "quantity": number | null, "quality": {"value": "Axx"} | null}, …]` from
 * `t[i] === '['`, keys in any order, each at most once; a quantity is kept as its source text and must be an
 * exact decimal (no exponent), a position is `checkPosition`'s integer, a quality one of the codes.
 */
function readPoints(t: string, i: number): { points: MeasurePoint[]; end: number } {
  const points: MeasurePoint[] = [];
  i = skipWs(t, i + 1);
  if (t.charCodeAt(i) === 93) return { points, end: i + 1 };
  for (;;) {
    i = expectAt(t, i, 123);
    let position = 0;
    let quantity: string | undefined;
    let quality: QualityCode | undefined;
    let seen = 0;
    for (;;) {
      i = skipWs(t, i);
      let field: number;
      if (at(t, i, '"position"')) {
        field = 1;
        i += 10;
      } else if (at(t, i, '"quantity"')) {
        field = 2;
        i += 10;
      } else if (at(t, i, '"quality"')) {
        field = 4;
        i += 9;
      } else {
        throw BAIL;
      }
      if (seen & field) throw BAIL;
      seen |= field;
      i = skipWs(t, expectAt(t, i, 58));
      const c = t.charCodeAt(i);
      if (field === 1) {
        const braced = c === 123;
        if (braced) i = openValue(t, i);
        const end = digitsEnd(t, i);
        position = positionAt(t, i, end);
        if (position === 0) throw BAIL;
        i = braced ? expectAt(t, end, 125) : end;
      } else if (c === 110) {
        if (!at(t, i, 'null')) throw BAIL;
        i += 4;
      } else if (field === 2) {
        // JSON's grammar minus the exponent is exactly the exact-decimal rule, except for leading zeros.
        const start = i;
        if (c === 45) i++;
        if (t.charCodeAt(i) === 48 && (t.charCodeAt(i + 1) - 48) >>> 0 < 10) throw BAIL;
        i = digitsEnd(t, i);
        if (t.charCodeAt(i) === 46) i = digitsEnd(t, i + 1);
        if (!isDecimalAt(t, start, i)) throw BAIL;
        quantity = t.slice(start, i);
      } else {
        if (c !== 123) throw BAIL;
        i = openValue(t, i);
        if (t.charCodeAt(i) !== 34 || t.charCodeAt(i + 4) !== 34) throw BAIL;
        quality = qualityAt(t, i + 1);
        if (quality === undefined) throw BAIL;
        i = expectAt(t, i + 5, 125);
      }
      i = skipWs(t, i);
      const sep = t.charCodeAt(i++);
      if (sep === 125) break;
      if (sep !== 44) throw BAIL;
    }
    if (position === 0) throw BAIL;
    const point = validMeasurePoint(position, quantity, quality);
    if (!point) throw BAIL;
    points.push(point);
    i = skipWs(t, i);
    const sep = t.charCodeAt(i++);
    if (sep === 93) return { points, end: i };
    if (sep !== 44) throw BAIL;
  }
}
