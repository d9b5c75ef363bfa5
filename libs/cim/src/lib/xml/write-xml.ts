import type { WrittenDocument } from '../registry';
import type { XNode } from '../xnode';

/**
 * Characters XML 1.0 cannot carry at all (C0 controls but tab, newline and carriage return; U+FFFE,
 * U+FFFF; unpaired surrogates). Writing one would give DataHub, and our own parser, a document that
 * is not well-formed, so the writer refuses instead of escaping.
 */
const NOT_XML_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export class UnwritableXmlTextError extends Error {
  override readonly name = 'UnwritableXmlTextError';
}

function xmlText(s: string): string {
  if (NOT_XML_CHAR.test(s)) throw new UnwritableXmlTextError('Text holds a character XML 1.0 cannot carry (a control character or an unpaired surrogate)');
  return s;
}

const escText = (s: string): string => xmlText(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const escAttr = (s: string): string => escText(s).replace(/"/g, '&quot;');

function attrs(a: Record<string, string> | undefined): string {
  if (!a) return '';
  let out = '';
  for (const [k, v] of Object.entries(a)) out += ` ${k}="${escAttr(v)}"`;
  return out;
}

function writeNode(n: XNode, indent: string, out: string[]): void {
  const tag = `cim:${n.name}`;
  if (n.children.length === 0) {
    out.push(`${indent}<${tag}${attrs(n.attrs)}>${escText(n.text)}</${tag}>`);
    return;
  }
  out.push(`${indent}<${tag}${attrs(n.attrs)}>`);
  const inner = `${indent}  `;
  for (const c of n.children) writeNode(c, inner, out);
  out.push(`${indent}</${tag}>`);
}

/** CIM XML as Energinet writes it: prefix `cim`, schemaLocation, elements in XSD order. */
export function serializeXml(doc: WrittenDocument): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const file = doc.namespace.replace(/:/g, '-').replace(/\./g, '-');
  out.push(
    `<cim:${doc.rootName} xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:cim="${doc.namespace}" xsi:schemaLocation="${doc.namespace} ${file}.xsd">`,
  );
  for (const c of doc.children) writeNode(c, '  ', out);
  out.push(`</cim:${doc.rootName}>`);
  return out.join('\n') + '\n';
}
