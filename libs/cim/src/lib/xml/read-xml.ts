import { SaxesParser, type SaxesTagPlain } from 'saxes';
import { CimParseError } from '../errors';
import type { MeasurePoint } from '../model/measure';
import { validateMeasurePoint } from '../codec/validate';
import type { XNode } from '../xnode';

export interface RootDecision {
  /** Read Period/Point as compact validated MeasurePoints (RSM-012/014). */
  readonly compactPoints: boolean;
}

/** Decides from the root element whether the document is supported; throws CimParseError otherwise. */
export type RootResolver = (localName: string, namespace: string | undefined) => RootDecision;

interface PointDraft {
  position: string | undefined;
  quantity: string | undefined;
  quality: string | undefined;
  field: 0 | 1 | 2 | 3;
  text: string;
}


/**
 * Streaming CIM XML reader on saxes. Any DOCTYPE is refused before an entity could be declared or
 * used; undefined entities are refused by saxes itself; size is capped across all chunks.
 */
export class CimXmlTreeReader {
  private readonly parser = new SaxesParser({ xmlns: false, position: true });
  private readonly stack: XNode[] = [];
  private root: XNode | undefined;
  private prefix = '';
  private compactPoints = false;
  private seriesIndex = -1;
  private pointsPath = 'Period.Point';
  private point: PointDraft | undefined;
  /** One reusable draft: a point costs only its field strings and the final MeasurePoint. */
  private readonly draft: PointDraft = { position: undefined, quantity: undefined, quality: undefined, field: 0, text: '' };
  private qPosition = 'position';
  private qQuantity = 'quantity';
  private qQuality = 'quality';
  private pointDepth = 0;
  private bytes = 0;

  constructor(
    private readonly resolveRoot: RootResolver,
    private readonly maxBytes: number,
  ) {
    const p = this.parser;
    p.on('doctype', () => {
      throw new CimParseError('DOCTYPE_FORBIDDEN', `DOCTYPE is not allowed in DataHub documents (line ${p.line})`);
    });
    p.on('error', (err: Error) => {
      throw new CimParseError('MALFORMED_XML', `Malformed XML: ${err.message}`);
    });
    p.on('opentag', (tag) => this.open(tag));
    p.on('closetag', () => this.closeTag());
    p.on('text', (t) => this.text(t));
    p.on('cdata', (t) => this.text(t));
  }

  write(chunk: string): this {
    this.bytes += Buffer.byteLength(chunk, 'utf8');
    if (this.bytes > this.maxBytes) {
      throw new CimParseError('DOCUMENT_TOO_LARGE', `Document exceeds ${this.maxBytes} bytes`);
    }
    this.parser.write(chunk);
    return this;
  }

  close(): XNode {
    this.parser.close();
    if (!this.root) throw new CimParseError('MALFORMED_XML', 'Malformed XML: no root element');
    return this.root;
  }

  private open(tag: SaxesTagPlain): void {
    const qname = tag.name;
    const pt = this.point;
    if (pt) {
      this.pointDepth++;
      pt.field = qname === this.qQuantity ? 2 : qname === this.qPosition ? 1 : qname === this.qQuality ? 3 : (this.local(qname), 0);
      pt.text = '';
      return;
    }
    if (!this.root) {
      this.openRoot(tag);
      return;
    }
    const local = this.local(qname);
    for (const a in tag.attributes) {
      if (a === 'xmlns' || a.startsWith('xmlns:')) {
        throw new CimParseError('WRONG_NAMESPACE', `Element ${qname} redeclares a namespace`, { field: local });
      }
    }
    const parent = this.stack[this.stack.length - 1];
    if (this.stack.length === 1 && local === 'Series') {
      this.seriesIndex++;
      this.pointsPath = `Series[${this.seriesIndex}].Period.Point`;
    }
    if (this.compactPoints && local === 'Point' && parent.name === 'Period') {
      const d = this.draft;
      d.position = d.quantity = d.quality = undefined;
      d.field = 0;
      this.point = d;
      this.pointDepth = 0;
      if (!parent.points) parent.points = [];
      return;
    }
    const attrs = hasKeys(tag.attributes) ? { ...tag.attributes } : undefined;
    const child: XNode = { name: local, attrs, text: '', children: [] };
    parent.children.push(child);
    this.stack.push(child);
  }

  private openRoot(tag: SaxesTagPlain): void {
    const qname = tag.name;
    const colon = qname.indexOf(':');
    this.prefix = colon >= 0 ? qname.slice(0, colon) : '';
    const local = colon >= 0 ? qname.slice(colon + 1) : qname;
    const ns = tag.attributes[this.prefix ? `xmlns:${this.prefix}` : 'xmlns'];
    this.compactPoints = this.resolveRoot(local, ns).compactPoints;
    if (this.prefix) {
      this.qPosition = `${this.prefix}:position`;
      this.qQuantity = `${this.prefix}:quantity`;
      this.qQuality = `${this.prefix}:quality`;
    }
    const attrs: Record<string, string> = {};
    for (const [k, v] of Object.entries(tag.attributes)) {
      if (k !== 'xmlns' && !k.startsWith('xmlns:') && !k.includes(':')) attrs[k] = v;
    }
    this.root = { name: local, attrs: hasKeys(attrs) ? attrs : undefined, text: '', children: [] };
    this.stack.push(this.root);
  }

  private closeTag(): void {
    const pt = this.point;
    if (pt) {
      if (this.pointDepth > 0) {
        if (pt.field === 1) pt.position = pt.text;
        else if (pt.field === 2) pt.quantity = pt.text;
        else if (pt.field === 3) pt.quality = pt.text;
        pt.field = 0;
        this.pointDepth--;
        return;
      }
      const period = this.stack[this.stack.length - 1];
      const points = period.points as MeasurePoint[];
      points.push(
        validateMeasurePoint(pt.position, pt.quantity, pt.quality, this.pointsPath, points.length),
      );
      this.point = undefined;
      return;
    }
    const done = this.stack.pop();
    if (done && done.children.length === 0) done.text = done.text.trim();
  }

  private text(t: string): void {
    const pt = this.point;
    if (pt) {
      if (pt.field !== 0) pt.text += t;
      return;
    }
    const top = this.stack[this.stack.length - 1];
    if (top) top.text += t;
  }

  private local(qname: string): string {
    const p = this.prefix;
    if (p) {
      if (qname.length > p.length && qname.charCodeAt(p.length) === 58 && qname.startsWith(p)) return qname.slice(p.length + 1);
    } else if (qname.indexOf(':') < 0) {
      return qname;
    }
    throw new CimParseError('WRONG_NAMESPACE', `Element ${qname} is not in the document namespace`, { field: qname });
  }
}

function hasKeys(o: object): boolean {
  for (const _ in o) return true;
  return false;
}

export function decodeXmlInput(input: string | Buffer, maxBytes: number): string {
  const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.length;
  if (size > maxBytes) throw new CimParseError('DOCUMENT_TOO_LARGE', `Document is ${size} bytes, the limit is ${maxBytes}`);
  const text = typeof input === 'string' ? input : input.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Reads a whole document already decoded (and size-checked) by {@link decodeXmlInput}. */
export function readXmlText(text: string, resolveRoot: RootResolver): XNode {
  const reader = new CimXmlTreeReader(resolveRoot, Number.POSITIVE_INFINITY);
  reader.write(text);
  return reader.close();
}
