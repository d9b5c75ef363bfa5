import { CimParseError } from '../errors';
import type { WrittenDocument } from '../registry';
import { leaf, node, type XNode } from '../xnode';
import { JsonNumber, type JsonObject, type JsonValue } from './raw-json';

/** CIM JSON conventions (EDI CIM JSON writers): codes as {"value"}, ids as {"codingScheme","value"}, quantities bare numbers. */
const WRAPPED = new Set([
  'type',
  'process.processType',
  'businessSector.type',
  'sender_MarketParticipant.marketRole.type',
  'receiver_MarketParticipant.marketRole.type',
  'reason.code',
  'code',
  'marketEvaluationPoint.type',
  'marketEvaluationPoint.settlementMethod',
  'settlementMethod',
  'meteringMethod',
  'connectionState',
  'readCycle',
  'netSettlementGroup',
  'quantity_Measure_Unit.name',
  'price_Measure_Unit.name',
  'currency_Unit.name',
  'quality',
  'settlement_Series.version',
  'chargeType.type',
  'VATPayer',
  'start',
  'end',
  'received_MarketDocument.process.processType',
]);
const WRAPPED_NUMBER = new Set(['position']);
const NUMBERS = new Set(['quantity', 'energy_Quantity.quantity', 'energySum_Quantity.quantity', 'price.amount', 'factor']);
const BOOLEANS = new Set(['taxIndicator', 'transparentInvoicing']);
const ARRAYS = new Set(['Series', 'MktActivityRecord', 'Point', 'ChargeType', 'Reason']);

function isLeafObject(o: JsonObject): boolean {
  if (!('value' in o)) return false;
  return Object.keys(o).every((k) => k === 'value' || k === 'codingScheme');
}

function scalarText(v: JsonValue, path: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  if (v instanceof JsonNumber) return v.raw;
  throw new CimParseError('INVALID_VALUE', `${path} must be a string, number or boolean`, { path });
}

function toNode(name: string, v: JsonValue, path: string, out: XNode[]): void {
  if (v === null) return;
  if (Array.isArray(v)) {
    v.forEach((x, i) => toNode(name, x, `${path}[${i}]`, out));
    return;
  }
  if (typeof v === 'object' && !(v instanceof JsonNumber)) {
    if (isLeafObject(v)) {
      const scheme = v['codingScheme'];
      const attrs = scheme === undefined ? undefined : { codingScheme: scalarText(scheme, `${path}.codingScheme`) };
      out.push(leaf(name, scalarText(v['value'], `${path}.value`), attrs));
      return;
    }
    const children: XNode[] = [];
    for (const k of Object.keys(v)) toNode(k, v[k], `${path}.${k}`, children);
    out.push(node(name, children));
    return;
  }
  out.push(leaf(name, scalarText(v, path)));
}

/** The root object must have exactly one key: the document name. */
export function jsonToTree(json: JsonValue): XNode {
  if (json === null || typeof json !== 'object' || Array.isArray(json) || json instanceof JsonNumber) {
    throw new CimParseError('INVALID_JSON', 'A CIM JSON document is an object with one key, the document name');
  }
  const keys = Object.keys(json);
  if (keys.length !== 1) throw new CimParseError('INVALID_JSON', `A CIM JSON document has exactly one root key, found ${keys.length}`);
  const body = json[keys[0]];
  if (body === null || typeof body !== 'object' || Array.isArray(body) || body instanceof JsonNumber) {
    throw new CimParseError('INVALID_JSON', `${keys[0]} must be an object`, { field: keys[0] });
  }
  const out: XNode[] = [];
  toNode(keys[0], body, '', out);
  return out[0];
}

function leafJson(n: XNode): JsonValue {
  if (n.attrs) return { ...n.attrs, value: n.text };
  if (WRAPPED.has(n.name)) return { value: n.text };
  if (WRAPPED_NUMBER.has(n.name)) return { value: new JsonNumber(n.text) };
  if (NUMBERS.has(n.name)) return new JsonNumber(n.text);
  if (BOOLEANS.has(n.name)) return n.text === 'true';
  return n.text;
}

function objectJson(children: readonly XNode[]): JsonObject {
  const obj: JsonObject = {};
  for (const c of children) {
    const v = c.children.length === 0 ? leafJson(c) : objectJson(c.children);
    if (ARRAYS.has(c.name)) {
      const arr = obj[c.name];
      if (Array.isArray(arr)) arr.push(v);
      else obj[c.name] = [v];
    } else {
      obj[c.name] = v;
    }
  }
  return obj;
}

export function treeToJson(doc: WrittenDocument): JsonValue {
  return { [doc.rootName]: objectJson(doc.children) };
}
