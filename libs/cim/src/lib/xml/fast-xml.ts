import { textAt as at, qualityAt, validMeasurePoint } from '../codec/validate';
import type { QualityCode } from '../model/common';
import type { MeasurePoint } from '../model/measure';
import type { XNode } from '../xnode';
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
      if (!top.points) top.points = [];
      i = readPoints(text, i, top.points, q);
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
}

/**
 * The body of one `<P:Point>` from after its start tag as one sticky expression
 * (irregexp's native code reads a point in about a third of the time of the character loops, 2026-12-06): whitespace,
 * `<P:position>` 1..999999 without a leading zero, optionally `<P:quantity>` an exact dot-decimal (`-?\d+(\.\d+)?`),
 * optionally `<P:quality>` `A0` and a digit, each followed by whitespace, then `</P:Point>`. Captures: the position's
 * digits, the quantity, the quality's code. Kept per prefix (a document's prefix is nearly always `cim`).
 */
const pointPatterns = new Map<string, RegExp>();

function pointPattern(pre: string): RegExp {
  let pattern = pointPatterns.get(pre);
  if (pattern === undefined) {
    const p = pre.replace(/[^A-Za-z0-9_]/g, (c) => `\\${c}`);
    const ws = '[ \\t\\r\\n]*';
    pattern = new RegExp(
      `${ws}<${p}position>([1-9][0-9]{0,5})</${p}position>${ws}(?:<${p}quantity>(-?[0-9]+(?:\\.[0-9]+)?)</${p}quantity>${ws})?(?:<${p}quality>(A0[0-9])</${p}quality>${ws})?</${p}Point>`,
      'y',
    );
    if (pointPatterns.size < 16) pointPatterns.set(pre, pattern);
  }
  return pattern;
}

function pointTags(pre: string): PointTags {
  return { point: pointPattern(pre), open: `<${pre}Point>` };
}

/**
 * Consecutive `<P:Point>` elements of a Period from `i` (at the first one's `<`); returns the index of
 * the first markup that is not a Point. Each point's body is read in the XSD's order: position, quantity (optional),
 * quality (optional), each a leaf written plainly (`<P:quantity>…</P:quantity>`: no attributes, no space in the
 * tags) and separated by whitespace ({@link pointPattern}), and checked by the rules of `validateMeasurePoint`;
 * anything else (another order, a field twice, a value it would refuse) is a bail, so the strict reader reads it
 * and reports what is wrong. The whitespace between points is not kept in the Period's text
 * (the strict reader keeps it, but a Period with points is never read as text: it has children, or, with
 * only points, its whitespace text trims to the same '').
 */
function readPoints(text: string, i: number, points: MeasurePoint[], q: PointTags): number {
  const pattern = q.point;
  for (;;) {
    pattern.lastIndex = i + q.open.length;
    const m = pattern.exec(text);
    if (m === null) throw BAIL;
    const digits = m[1]!;
    let position = 0;
    for (let k = 0; k < digits.length; k++) position = position * 10 + digits.charCodeAt(k) - 48;
    const code = m[3];
    let quality: QualityCode | undefined;
    if (code !== undefined) {
      quality = qualityAt(code, 0);
      if (quality === undefined) throw BAIL;
    }
    const point = validMeasurePoint(position, m[2], quality);
    if (!point) throw BAIL;
    points.push(point);
    i = pattern.lastIndex;
    const next = skipWs(text, i);
    if (!at(text, next, q.open)) return i;
    i = next;
  }
}
