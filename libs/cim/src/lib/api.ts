import { NodeReader } from './codec/reader';
import type { ParseContext, Strictness } from './codec/validate';
import { CimParseError } from './errors';
import { parseRawJson, stringifyRawJson } from './json/raw-json';
import { jsonToTree, treeToJson } from './json/xnode-json';
import type { CimDocument } from './model/document';
import type { NotifyValidatedMeasureData } from './model/measure';
import { resolveDocument, writeDocument, type DocumentEntry } from './registry';
import type { XNode } from './xnode';
import { readJsonTreeFast } from './json/fast-json';
import { CimXmlTreeReader, decodeXmlInput, readXmlText } from './xml/read-xml';
import { readXmlTreeFast } from './xml/fast-xml';
import { serializeXml } from './xml/write-xml';

export const DEFAULT_MAX_BYTES = 50 * 1024 * 1024;

export interface CimParseOptions {
  /** Refuse larger inputs before parsing. Default 50 MiB. */
  readonly maxBytes?: number;
  /** Default strict: points = interval ÷ resolution. lenient: 1..that many, still contiguous from 1. */
  readonly pointCount?: Strictness;
  /** Default strict: GSRN 18 digits, GLN 13 digits. lenient accepts the placeholder ids of Energinet's archived test files. */
  readonly identifiers?: Strictness;
  /**
   * Default `fast`: RSM-012/014 in their common shape are read by a fast scanner, with the strict reader for
   * anything else (same result, same errors). `strict` reads everything with the strict reader (tests compare the two).
   */
  readonly path?: 'fast' | 'strict';
}

function context(o: CimParseOptions): ParseContext {
  return { pointCount: o.pointCount ?? 'strict', identifiers: o.identifiers ?? 'strict' };
}

/** The document a tree read by the fast path gives, or undefined to read the text again with the strict path. */
function readFast(root: XNode | undefined, entry: DocumentEntry | undefined, options: CimParseOptions): CimDocument | undefined {
  if (!root || !entry) return undefined;
  try {
    return entry.read(new NodeReader(root, '', context(options)));
  } catch {
    // The strict path reads the same text again and reports the error as it always has.
    return undefined;
  }
}

/**
 * RSM-012/014 in their common shape go through a fast scanner (fast-xml.ts) that builds the same
 * tree as the strict reader; every other document, and anything the scanner does not expect, is
 * read by the strict saxes reader. Both end in the same document readers and checks.
 */
export function parseCimXml(xml: string | Buffer, options: CimParseOptions = {}): CimDocument {
  const text = decodeXmlInput(xml, options.maxBytes ?? DEFAULT_MAX_BYTES);
  if (options.path !== 'strict') {
    let fastEntry: DocumentEntry | undefined;
    const tree = readXmlTreeFast(text, (name, namespace) => {
      fastEntry = namespace === undefined ? undefined : resolveDocument(name, namespace);
      return { compactPoints: fastEntry?.compactPoints ?? false };
    });
    const fast = readFast(tree, fastEntry, options);
    if (fast) return fast;
  }
  let entry: DocumentEntry | undefined;
  const root = readXmlText(text, (name, namespace) => {
    if (namespace === undefined) {
      throw new CimParseError('WRONG_NAMESPACE', `${name} has no namespace declaration`, { field: name });
    }
    entry = resolveDocument(name, namespace);
    return { compactPoints: entry.compactPoints };
  });
  if (!entry) throw new CimParseError('MALFORMED_XML', 'No root element');
  return entry.read(new NodeReader(root, '', context(options)));
}

/** CIM JSON; RSM-012/014 in their common shape through a fast scanner (fast-json.ts), everything else strict. */
export function parseCimJson(json: string | Buffer, options: CimParseOptions = {}): CimDocument {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const size = typeof json === 'string' ? Buffer.byteLength(json, 'utf8') : json.length;
  if (size > maxBytes) throw new CimParseError('DOCUMENT_TOO_LARGE', `Document is ${size} bytes, the limit is ${maxBytes}`);
  let text = typeof json === 'string' ? json : json.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (options.path !== 'strict') {
    let fastEntry: DocumentEntry | undefined;
    const tree = readJsonTreeFast(text, (name) => {
      fastEntry = resolveDocument(name, undefined);
      return fastEntry;
    });
    const fast = readFast(tree, fastEntry, options);
    if (fast) return fast;
  }
  const root = jsonToTree(parseRawJson(text));
  const entry = resolveDocument(root.name, undefined);
  return entry.read(new NodeReader(root, '', context(options)));
}

function expectRsm012(doc: CimDocument): NotifyValidatedMeasureData {
  if (doc.kind !== 'NotifyValidatedMeasureData') {
    throw new CimParseError('UNSUPPORTED_DOCUMENT', `Expected NotifyValidatedMeasureData, got ${doc.kind}`);
  }
  return doc;
}

/** RSM-012 only: streams with saxes and builds one small object per point (position, quantity string, quality). */
export function parseRsm012Xml(xml: string | Buffer, options: CimParseOptions = {}): NotifyValidatedMeasureData {
  return expectRsm012(parseCimXml(xml, options));
}

/**
 * Incremental RSM-012 reader for input arriving in chunks (e.g. an HTTP body): `write` each chunk, then `close`.
 * The byte limit applies to the running total.
 */
export class Rsm012XmlStreamParser {
  private entry: DocumentEntry | undefined;
  private readonly reader: CimXmlTreeReader;

  constructor(private readonly options: CimParseOptions = {}) {
    this.reader = new CimXmlTreeReader((name, namespace) => {
      if (name !== 'NotifyValidatedMeasureData_MarketDocument') {
        throw new CimParseError('UNSUPPORTED_DOCUMENT', `Expected NotifyValidatedMeasureData_MarketDocument, got ${name}`, { field: name });
      }
      this.entry = resolveDocument(name, namespace ?? '');
      return { compactPoints: true };
    }, options.maxBytes ?? DEFAULT_MAX_BYTES);
  }

  write(chunk: string): this {
    this.reader.write(this.entry === undefined && chunk.charCodeAt(0) === 0xfeff ? chunk.slice(1) : chunk);
    return this;
  }

  close(): NotifyValidatedMeasureData {
    const root = this.reader.close();
    if (!this.entry) throw new CimParseError('MALFORMED_XML', 'No root element');
    return expectRsm012(this.entry.read(new NodeReader(root, '', context(this.options))));
  }
}

export function writeCimXml(doc: CimDocument): string {
  return serializeXml(writeDocument(doc));
}

export function writeCimJson(doc: CimDocument): string {
  return stringifyRawJson(treeToJson(writeDocument(doc))) + '\n';
}
