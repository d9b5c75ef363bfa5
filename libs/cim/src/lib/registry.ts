import type { NodeReader } from './codec/reader';
import * as charges from './documents/charges';
import * as master from './documents/master-data';
import * as measure from './documents/measure-data';
import * as requests from './documents/requests';
import * as responses from './documents/responses';
import * as supplier from './documents/supplier-processes';
import * as wholesale from './documents/wholesale';
import { CimParseError } from './errors';
import type { CimDocument } from './model/document';
import type { MarketResponseDocumentName } from './model/responses';
import type { XNode } from './xnode';

export interface DocumentEntry {
  readonly rootName: string;
  readonly namespace: string;
  readonly compactPoints: boolean;
  readonly read: (r: NodeReader) => CimDocument;
}

const ns = (category: string, name: string): string => `urn:ediel.org:${category}:${name.toLowerCase()}:0:1`;

function entry(name: string, category: string, read: (r: NodeReader) => CimDocument, compactPoints = false): DocumentEntry {
  return { rootName: `${name}_MarketDocument`, namespace: ns(category, name), compactPoints, read };
}

const ENTRIES: readonly DocumentEntry[] = [
  entry('NotifyValidatedMeasureData', 'measure', measure.readNotifyValidatedMeasureData, true),
  entry('NotifyAggregatedMeasureData', 'measure', measure.readNotifyAggregatedMeasureData, true),
  entry('NotifyWholesaleServices', 'measure', wholesale.readNotifyWholesaleServices),
  entry('RequestAggregatedMeasureData', 'measure', requests.readRequestAggregatedMeasureData),
  entry('RequestWholesaleSettlement', 'measure', requests.readRequestWholesaleSettlement),
  entry('Acknowledgement', 'general', responses.readAcknowledgement),
  entry('AccountingPointCharacteristics', 'structure', master.readAccountingPointCharacteristics),
  entry('GenericNotification', 'structure', supplier.readGenericNotification),
  entry('RequestChangeOfSupplier', 'structure', supplier.readRequestChangeOfSupplier),
  entry('RequestCancelChangeOfSupplier', 'structure', supplier.readRequestCancelChangeOfSupplier),
  entry('RequestReallocateChangeOfSupplier', 'structure', supplier.readRequestReallocateChangeOfSupplier),
  entry('RequestEndOfSupply', 'structure', supplier.readRequestEndOfSupply),
  entry('NotifyBillingMasterData', 'structure', charges.readNotifyBillingMasterData),
  entry('NotifyPriceList', 'structure', charges.readNotifyPriceList),
  ...(Object.keys(responses.RESPONSE_SPECS) as MarketResponseDocumentName[]).map((name) =>
    entry(name, responses.RESPONSE_SPECS[name].category, (r) => responses.readMarketResponse(name, r)),
  ),
];

const BY_ROOT = new Map(ENTRIES.map((e) => [e.rootName, e]));

/** Finds the document by root element and checks its namespace; everything else is refused by name. */
export function resolveDocument(rootName: string, namespace: string | undefined): DocumentEntry {
  const e = BY_ROOT.get(rootName);
  if (!e) {
    throw new CimParseError(
      'UNSUPPORTED_DOCUMENT',
      `Unsupported document type/namespace: ${rootName}${namespace ? ` (${namespace})` : ''} is not a supported DataHub 3 CIM document`,
      { field: rootName },
    );
  }
  if (namespace !== undefined && namespace !== e.namespace) {
    throw new CimParseError('WRONG_NAMESPACE', `${rootName} must be in namespace ${e.namespace}, not ${namespace}`, { field: rootName });
  }
  return e;
}

export interface WrittenDocument {
  readonly rootName: string;
  readonly namespace: string;
  readonly children: XNode[];
}

function written(name: string, children: XNode[]): WrittenDocument {
  const e = BY_ROOT.get(`${name}_MarketDocument`);
  if (!e) throw new Error(`No registry entry for ${name}`);
  return { rootName: e.rootName, namespace: e.namespace, children };
}

export function writeDocument(doc: CimDocument): WrittenDocument {
  switch (doc.kind) {
    case 'NotifyValidatedMeasureData':
      return written(doc.kind, measure.writeNotifyValidatedMeasureData(doc));
    case 'NotifyAggregatedMeasureData':
      return written(doc.kind, measure.writeNotifyAggregatedMeasureData(doc));
    case 'NotifyWholesaleServices':
      return written(doc.kind, wholesale.writeNotifyWholesaleServices(doc));
    case 'RequestAggregatedMeasureData':
      return written(doc.kind, requests.writeRequestAggregatedMeasureData(doc));
    case 'RequestWholesaleSettlement':
      return written(doc.kind, requests.writeRequestWholesaleSettlement(doc));
    case 'Acknowledgement':
      return written(doc.kind, responses.writeAcknowledgement(doc));
    case 'AccountingPointCharacteristics':
      return written(doc.kind, master.writeAccountingPointCharacteristics(doc));
    case 'GenericNotification':
      return written(doc.kind, supplier.writeGenericNotification(doc));
    case 'RequestChangeOfSupplier':
      return written(doc.kind, supplier.writeRequestChangeOfSupplier(doc));
    case 'RequestCancelChangeOfSupplier':
      return written(doc.kind, supplier.writeRequestCancelChangeOfSupplier(doc));
    case 'RequestReallocateChangeOfSupplier':
      return written(doc.kind, supplier.writeRequestReallocateChangeOfSupplier(doc));
    case 'RequestEndOfSupply':
      return written(doc.kind, supplier.writeRequestEndOfSupply(doc));
    case 'NotifyBillingMasterData':
      return written(doc.kind, charges.writeNotifyBillingMasterData(doc));
    case 'NotifyPriceList':
      return written(doc.kind, charges.writeNotifyPriceList(doc));
    case 'MarketResponse':
      return written(doc.documentName, responses.writeMarketResponse(doc));
    default: {
      const never: never = doc;
      throw new Error(`Unknown document ${JSON.stringify(never)}`);
    }
  }
}
