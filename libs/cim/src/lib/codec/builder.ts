import type { PartyId } from '../model/common';
import { leaf, node, type XNode } from '../xnode';

/** Builders for the element tree, in XSD order; `undefined` values write nothing. */
export const el = (name: string, text: string): XNode[] => [leaf(name, text)];

export const opt = (name: string, text: string | undefined): XNode[] => (text === undefined ? [] : [leaf(name, text)]);

export const optBool = (name: string, v: boolean | undefined): XNode[] => (v === undefined ? [] : [leaf(name, String(v))]);

export const party = (name: string, p: PartyId | undefined): XNode[] =>
  p === undefined ? [] : [leaf(name, p.value, { codingScheme: p.codingScheme })];

export const gsrn = (name: string, v: string | undefined): XNode[] => (v === undefined ? [] : [leaf(name, v, { codingScheme: 'A10' })]);

export const area = (name: string, v: string | undefined): XNode[] => (v === undefined ? [] : [leaf(name, v, { codingScheme: 'NDK' })]);

export const group = (name: string, ...children: XNode[][]): XNode[] => [node(name, children.flat())];

/** Drops keys whose value is undefined, so a parsed model has the same keys as one built by hand. */
export function defined<T extends object>(o: T): T {
  const rec = o as Record<string, unknown>;
  for (const k of Object.keys(rec)) if (rec[k] === undefined) delete rec[k];
  return o;
}
