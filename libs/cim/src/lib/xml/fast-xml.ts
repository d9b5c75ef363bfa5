import { textAt as at, qualityAt, validMeasurePoint } from '../codec/validate';
import type { QualityCode } from '../model/common';
import type { MeasurePoint } from '../model/measure';
import type { ScannedPoints, XNode } from '../xnode';
import type { RootResolver } from './read-xml';

/**
 * Fast reader for the common shape of RSM-012/014 XML: plain elements with a namespace prefix, simple
 * attributes, text without entities or markup. It builds exactly the tree {@link CimXmlTreeReader}
 * builds (the same `XNode`s; points checked by the rules of `validateMeasurePoint`), so the document
 * readers and every field check stay the strict path's.
 *
 * It never rejects: anything outside that subset (a DOCTYPE, comment, CDATA, processing instruction,
 * entity or character reference, non-ASCII or control character in markup, mismatched tag, duplicate
 * attribute, a namespace declaration below the root, a point field given twice, any error at all)
 * makes it return `undefined`, and the caller parses the same text with the strict saxes reader,
 * which produces the error with its code and path. So the fast path can only make a valid document
 * faster, never change what is accepted or refused.
 */

const LT = 60; // <
const GT = 62; // >
const SLASH = 47; // /
const AMP = 38; // &
const EQ = 61; // =
const DQ = 34; // "
const SQ = 39; // '
const COLON = 58; // :

class Bail extends Error {}
const BAIL = new Bail('outside the fast path');

function isWs(c: number): boolean {
  return c === 32 || c === 10 || c === 9 || c === 13;
}

function isNameStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}

function isNameChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 46 || c === 45 || c === COLON;
}

/** Text between tags: no entity, no `>` (so no `]]>`), only XML characters below the surrogates; CR as XML normalises it. */
function checkedText(text: string, from: number, to: number): string {
  let cr = false;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c < 32) {
      if (c === 13) cr = true;
      else if (c !== 10 && c !== 9) throw BAIL;
    } else if (c === AMP || c === GT || c >= 0xd800) {
      throw BAIL;
    }
  }
  const s = text.slice(from, to);
  return cr ? s.replace(/\r\n?/g, '\n') : s;
}

const DECLARATION = /<\?xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*(?:"1\.0"|'1\.0')(?:[ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*(?:"(?:UTF|utf)-8"|'(?:UTF|utf)-8'))?(?:[ \t\r\n]+standalone[ \t\r\n]*=[ \t\r\n]*(?:"(?:yes|no)"|'(?:yes|no)'))?[ \t\r\n]*\?>/y;

interface Tag {
  qname: string;
  attrs: Record<string, string> | undefined;
  selfClosing: boolean;
  /** Index after the closing `>`. */
  end: number;
}

/** Reads a start tag at `i` (`text[i]` is `<`, `text[i+1]` a name start). */
function readStartTag(text: string, i: number): Tag {
  let j = i + 1;
  const len = text.length;
  while (j < len && isNameChar(text.charCodeAt(j))) j++;
  const qname = text.slice(i + 1, j);
  let attrs: Record<string, string> | undefined;
  for (;;) {
    if (j >= len) throw BAIL;
    let c = text.charCodeAt(j);
    if (c === GT) return { qname, attrs, selfClosing: false, end: j + 1 };
    if (c === SLASH) {
      if (text.charCodeAt(j + 1) !== GT) throw BAIL;
      return { qname, attrs, selfClosing: true, end: j + 2 };
    }
    if (!isWs(c)) throw BAIL;
    while (j < len && isWs(text.charCodeAt(j))) j++;
    c = text.charCodeAt(j);
    if (c === GT || c === SLASH) continue;
    if (!isNameStart(c)) throw BAIL;
    const nameStart = j;
    while (j < len && isNameChar(text.charCodeAt(j))) j++;
    const name = text.slice(nameStart, j);
    while (j < len && isWs(text.charCodeAt(j))) j++;
    if (text.charCodeAt(j) !== EQ) throw BAIL;
    j++;
    while (j < len && isWs(text.charCodeAt(j))) j++;
    const quote = text.charCodeAt(j);
    if (quote !== DQ && quote !== SQ) throw BAIL;
    const valueStart = j + 1;
    const valueEnd = text.indexOf(quote === DQ ? '"' : "'", valueStart);
    if (valueEnd < 0) throw BAIL;
    for (let k = valueStart; k < valueEnd; k++) {
      const v = text.charCodeAt(k);
      if (v < 32 || v === LT || v === AMP || v >= 0xd800) throw BAIL;
    }
    attrs ??= {};
    if (Object.prototype.hasOwnProperty.call(attrs, name)) throw BAIL;
    attrs[name] = text.slice(valueStart, valueEnd);
    j = valueEnd + 1;
  }
}

/** Index after `</qname ws* >` at `i`, or a bail. */
function endTag(text: string, i: number, qname: string): number {
  if (text.charCodeAt(i) !== LT || text.charCodeAt(i + 1) !== SLASH || !text.startsWith(qname, i + 2)) throw BAIL;
  let j = i + 2 + qname.length;
  while (isWs(text.charCodeAt(j))) j++;
  if (text.charCodeAt(j) !== GT) throw BAIL;
  return j + 1;
}

function skipWs(text: string, i: number): number {
  while (isWs(text.charCodeAt(i))) i++;
  return i;
}

/**
 * The tree of `text` (BOM removed, size checked) if it is in the fast subset, else `undefined`.
 * `resolveRoot` decides from the root element as in the strict reader; only documents it marks
 * `compactPoints` are read here.
 */
export function readXmlTreeFast(text: string, resolveRoot: RootResolver): XNode | undefined {
  try {
    return read(text, resolveRoot);
  } catch {
    return undefined;
  }
}

function read(text: string, resolveRoot: RootResolver): XNode | undefined {
  const len = text.length;
  let i = 0;
  if (text.startsWith('<?', 0)) {
    DECLARATION.lastIndex = 0;
    if (!DECLARATION.test(text)) return undefined;
    i = DECLARATION.lastIndex;
  }
  i = skipWs(text, i);
  if (text.charCodeAt(i) !== LT || !isNameStart(text.charCodeAt(i + 1))) return undefined;

  // Root element: prefix, namespace and the root decision exactly as CimXmlTreeReader.openRoot.
  const rootTag = readStartTag(text, i);
  if (rootTag.selfClosing) return undefined;
  const rootQname = rootTag.qname;
  const colon = rootQname.indexOf(':');
  const prefix = colon >= 0 ? rootQname.slice(0, colon) : '';
  const rootLocal = colon >= 0 ? rootQname.slice(colon + 1) : rootQname;
  if (rootLocal.indexOf(':') >= 0 || rootLocal === '') return undefined;
  const rootAttrs = rootTag.attrs ?? {};
  const ns = rootAttrs[prefix ? `xmlns:${prefix}` : 'xmlns'];
  if (!resolveRoot(rootLocal, ns).compactPoints) return undefined;
  const kept: Record<string, string> = {};
  let anyKept = false;
  for (const [k, v] of Object.entries(rootAttrs)) {
    if (k !== 'xmlns' && !k.startsWith('xmlns:') && !k.includes(':')) {
      kept[k] = v;
      anyKept = true;
    }
  }
  const root: XNode = { name: rootLocal, attrs: anyKept ? kept : undefined, text: '', children: [] };
  const pre = prefix ? `${prefix}:` : '';
  const q = pointTags(pre);
  const local = (qname: string): string => {
    if (prefix) {
      if (qname.length > pre.length && qname.startsWith(pre) && qname.indexOf(':', pre.length) < 0) return qname.slice(pre.length);
    } else if (qname.indexOf(':') < 0) {
      return qname;
    }
    throw BAIL;
  };

  const stack: XNode[] = [root];
  const qnames: string[] = [rootQname];
  i = rootTag.end;
  while (stack.length > 0) {
    const next = text.indexOf('<', i);
    if (next < 0) return undefined;
    const top = stack[stack.length - 1];
    if (next > i) top.text += checkedText(text, i, next);
    i = next;
    const c1 = text.charCodeAt(i + 1);
    if (c1 === SLASH) {
      i = endTag(text, i, qnames[qnames.length - 1]);
      const done = stack.pop() as XNode;
      qnames.pop();
      if (done.children.length === 0) done.text = done.text.trim();
      continue;
    }
    if (!isNameStart(c1)) return undefined; // comment, CDATA, DOCTYPE, processing instruction, or malformed
    if (top.name === 'Period' && at(text, i, q.open)) {
      // One run of points per Period (the XSD puts them last); points after another element go to the strict reader.
      if (top.scanned) return undefined;
      const read = scanPoints(text, i, q);
      top.scanned = read.scanned;
      i = read.end;
      continue;
    }
    const tag = readStartTag(text, i);
    const name = local(tag.qname);
    if (tag.attrs) {
      for (const a in tag.attrs) if (a === 'xmlns' || a.startsWith('xmlns:')) return undefined;
    }
    if (name === 'Point' && top.name === 'Period') return undefined; // a point with attributes or self-closing
    const child: XNode = { name, attrs: tag.attrs, text: '', children: [] };
    top.children.push(child);
    i = tag.end;
    if (!tag.selfClosing) {
      stack.push(child);
      qnames.push(tag.qname);
    }
  }
  // Only whitespace may follow the root element.
  if (skipWs(text, i) !== len) return undefined;
  return root;
}

interface PointTags {
  /** The body of one `<P:Point>` after its start tag, through `</P:Point>` (see {@link pointPattern}). */
  readonly point: RegExp;
  /** `<P:Point>`. */
  readonly open: string;
  /** Length of `<P:position>`, `</P:position>`, `<P:quantity>`, `</P:quantity>`, `<P:quality>`, `</P:quality>`. */
  readonly positionOpen: number;
  readonly positionClose: number;
  readonly quantityOpen: number;
  readonly quantityClose: number;
  readonly qualityOpen: number;
  readonly qualityClose: number;
  /** Offset from a field's `<` to the fourth letter of its name: `n` of quantity, `l` of quality. */
  readonly fourthLetter: number;
}

/**
 * The body of one `<P:Point>` from after its start tag as one sticky expression
 * (irregexp's native code checks a point in about a third of the time of the character loops, 2026-12-06): whitespace,
 * `<P:position>` 1..999999 without a leading zero, optionally `<P:quantity>` an exact dot-decimal (`-?\d+(\.\d+)?`),
 * optionally `<P:quality>` `A0` and a digit, each followed by whitespace, then `</P:Point>` and whitespace. Kept per prefix (a
 * document's prefix is nearly always `cim`). Only tested (no match array, no capture strings): a point it accepts is
 * then read by {@link readPointAt}, which relies on that shape.
 */
const pointPatterns = new Map<string, RegExp>();

function pointPattern(pre: string): RegExp {
  let pattern = pointPatterns.get(pre);
  if (pattern === undefined) {
    const p = pre.replace(/[^A-Za-z0-9_]/g, (c) => `\\${c}`);
    const ws = '[ \\t\\r\\n]*';
    pattern = new RegExp(
      `${ws}<${p}position>[1-9][0-9]{0,5}</${p}position>${ws}(?:<${p}quantity>-?[0-9]+(?:\\.[0-9]+)?</${p}quantity>${ws})?(?:<${p}quality>A0[0-9]</${p}quality>${ws})?</${p}Point>${ws}`,
      'y',
    );
    if (pointPatterns.size < 16) pointPatterns.set(pre, pattern);
  }
  return pattern;
}

function pointTags(pre: string): PointTags {
  const n = pre.length;
  return {
    point: pointPattern(pre),
    open: `<${pre}Point>`,
    positionOpen: n + 10,
    positionClose: n + 11,
    quantityOpen: n + 10,
    quantityClose: n + 11,
    qualityOpen: n + 9,
    qualityClose: n + 10,
    fourthLetter: n + 4,
  };
}

/** The largest integer part {@link readPointAt} packs: 12 digits, as `toThousandths`. */
const MAX_INTEGER_DIGITS = 12;

/**
 * One point that {@link pointPattern} accepted, read from after its start tag (`i`): its position, its quantity's
 * span and value in thousandths, its quality. Reused for every point (no object per point).
 */
class PointReader {
  position = 0;
  /** `[quantityFrom, quantityTo)` in the text, equal when the point has no quantity. */
  quantityFrom = 0;
  quantityTo = 0;
  /** The quantity in thousandths, or NaN when it has more than 3 decimals or 12 integer digits (or none). */
  thousandths = Number.NaN;
  quality: QualityCode | undefined = undefined;

  /**
   * Reads the point at `i` (after `<P:Point>`) that {@link pointPattern} accepted (so between its tags there is only
   * whitespace, which `indexOf('<')` skips); false where the strict reader would refuse it (a quality code beyond the
   * list, a missing quantity without A02).
   */
  read(text: string, i: number, q: PointTags): boolean {
    let j = text.indexOf('<', i) + q.positionOpen;
    let position = 0;
    let c = text.charCodeAt(j);
    while (c !== LT) {
      position = position * 10 + c - 48;
      c = text.charCodeAt(++j);
    }
    this.position = position;
    j = text.indexOf('<', j + q.positionClose);
    this.quantityFrom = this.quantityTo = j;
    this.thousandths = Number.NaN;
    this.quality = undefined;
    // `<` then `/` (the Point's end), or a field: quantity and quality differ in their fourth letter.
    if (text.charCodeAt(j + 1) !== SLASH && text.charCodeAt(j + q.fourthLetter) === 110) {
      j += q.quantityOpen;
      this.quantityFrom = j;
      const negative = text.charCodeAt(j) === 45;
      if (negative) j++;
      const intFrom = j;
      let whole = 0;
      while ((c = text.charCodeAt(j)) !== 46 && c !== LT) {
        whole = whole * 10 + c - 48;
        j++;
      }
      const intDigits = j - intFrom;
      let frac = 0;
      let fracDigits = 0;
      if (c === 46) {
        const fracFrom = ++j;
        while ((c = text.charCodeAt(j)) !== LT) {
          frac = frac * 10 + c - 48;
          j++;
        }
        fracDigits = j - fracFrom;
      }
      this.quantityTo = j;
      if (intDigits <= MAX_INTEGER_DIGITS && fracDigits <= 3) {
        const value = whole * 1000 + (fracDigits === 1 ? frac * 100 : fracDigits === 2 ? frac * 10 : frac);
        this.thousandths = negative ? -value : value;
      }
      j = text.indexOf('<', j + q.quantityClose);
    }
    if (text.charCodeAt(j + 1) !== SLASH) {
      const quality = qualityAt(text, j + q.qualityOpen);
      if (quality === undefined) return false;
      this.quality = quality;
    }
    return this.quantityTo > this.quantityFrom || this.quality === 'A02';
  }
}

const reader = new PointReader();

/** Points read by {@link scanPoints}: the packed values now, the point objects on demand (read again from the text). */
class ScannedXmlPoints implements ScannedPoints {
  constructor(
    private readonly text: string,
    /** Index of the first point's `<P:Point>`. */
    private readonly from: number,
    private readonly tags: PointTags,
    readonly count: number,
    readonly thousandths: (number | null)[] | null,
    readonly qualities: [QualityCode | null, number][],
  ) {}

  points(): MeasurePoint[] {
    const { text, tags } = this;
    const out = new Array<MeasurePoint>(this.count);
    const r = new PointReader();
    let i = this.from;
    for (let k = 0; k < this.count; k++) {
      const accepted = r.read(text, i + tags.open.length, tags);
      const quantity = r.quantityTo > r.quantityFrom ? text.slice(r.quantityFrom, r.quantityTo) : undefined;
      const point = accepted ? validMeasurePoint(r.position, quantity, r.quality) : undefined;
      // scanPoints accepted every one of these points from the same text, so this cannot happen short of a bug.
      if (point === undefined) throw new Error(`CIM XML fast path: point ${k + 1} of a period scanned before does not read again`);
      out[k] = point;
      tags.point.lastIndex = i + tags.open.length;
      tags.point.test(text);
      i = tags.point.lastIndex;
    }
    return out;
  }
}

/**
 * Consecutive `<P:Point>` elements of a Period from `i` (at the first one's `<`); returns the points and the index
 * of the first markup that is not a Point. Each point's body is read in the XSD's order: position, quantity
 * (optional), quality (optional), each a leaf written plainly (`<P:quantity>…</P:quantity>`: no attributes, no space
 * in the tags) and separated by whitespace ({@link pointPattern}), and checked by the rules of
 * `validateMeasurePoint`; the positions must run 1, 2, 3, … (what `checkPeriodPoints` asks of them). Anything else
 * (another order, a field twice, a value it would refuse, a gap) is a bail, so the strict reader reads it and reports
 * what is wrong. No object or string is made per point: the quantities are packed into thousandths as they are read,
 * the qualities into runs ({@link ScannedPoints}). The whitespace between points is not kept in the Period's text
 * (the strict reader keeps it, but a Period with points is never read as text: it has children, or, with
 * only points, its whitespace text trims to the same '').
 */
function scanPoints(text: string, i: number, q: PointTags): { scanned: ScannedPoints; end: number } {
  const pattern = q.point;
  const from = i;
  let thousandths: (number | null)[] | null = [];
  const qualities: [QualityCode | null, number][] = [];
  let run: [QualityCode | null, number] | null = null;
  let count = 0;
  for (;;) {
    const body = i + q.open.length;
    pattern.lastIndex = body;
    if (!pattern.test(text)) throw BAIL;
    if (!reader.read(text, body, q) || reader.position !== count + 1) throw BAIL;
    count++;
    if (thousandths !== null) {
      if (reader.quantityTo === reader.quantityFrom) thousandths.push(null);
      else if (Number.isNaN(reader.thousandths)) thousandths = null;
      else thousandths.push(reader.thousandths);
    }
    const quality = reader.quality ?? null;
    if (run !== null && run[0] === quality) {
      run[1]++;
    } else {
      run = [quality, 1];
      qualities.push(run);
    }
    // The pattern took the whitespace after the point: the next point, or the markup after the last one.
    i = pattern.lastIndex;
    if (!at(text, i, q.open)) return { scanned: new ScannedXmlPoints(text, from, q, count, thousandths, qualities), end: i };
  }
}
