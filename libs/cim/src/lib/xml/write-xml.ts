import type { WrittenDocument } from '../registry';
import type { XNode } from '../xnode';

const escText = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
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
