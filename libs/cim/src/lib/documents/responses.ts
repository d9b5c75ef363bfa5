import { defined, el, gsrn, opt } from '../codec/builder';
import type { NodeReader } from '../codec/reader';
import type { Reason } from '../model/common';
import type { Acknowledgement, MarketResponse, MarketResponseDocumentName } from '../model/responses';
import { leaf, node, type XNode } from '../xnode';
import { readHeader, readHeaderWithoutType, writeHeader } from './header';

function readReasons(r: NodeReader): Reason[] {
  return r.all('Reason').map((x) => defined({ code: x.str('code'), text: x.optStr('text') }));
}

function writeReasons(reasons: readonly Reason[]): XNode[] {
  return reasons.map((x) => node('Reason', [leaf('code', x.code), ...opt('text', x.text)]));
}

const RECEIVED_MRID = 'received_MarketDocument.mRID';
const RECEIVED_PROCESS = 'received_MarketDocument.process.processType';

export function readAcknowledgement(r: NodeReader): Acknowledgement {
  return {
    kind: 'Acknowledgement',
    header: readHeaderWithoutType(r),
    receivedMarketDocument: defined({ mRID: r.optStr(RECEIVED_MRID), processType: r.optStr(RECEIVED_PROCESS) }),
    series: r.all('Series').map((s) => ({ mRID: s.str('mRID'), reasons: readReasons(s) })),
  };
}

export function writeAcknowledgement(doc: Acknowledgement): XNode[] {
  return [
    ...writeHeader(doc.header, undefined),
    ...opt(RECEIVED_MRID, doc.receivedMarketDocument.mRID),
    ...opt(RECEIVED_PROCESS, doc.receivedMarketDocument.processType),
    ...doc.series.map((s) => node('Series', [...el('mRID', s.mRID), ...writeReasons(s.reasons)])),
  ];
}

export interface ResponseSpec {
  readonly typeCode: string;
  readonly category: 'structure' | 'measure';
  readonly record: 'MktActivityRecord' | 'Series';
}

/** E44 for supplier-process answers (XSD); D11 price list reject (archived charges); ERR request rejects (EDI XSD). */
export const RESPONSE_SPECS: Readonly<Record<MarketResponseDocumentName, ResponseSpec>> = {
  ConfirmRequestChangeOfSupplier: { typeCode: 'E44', category: 'structure', record: 'MktActivityRecord' },
  RejectRequestChangeOfSupplier: { typeCode: 'E44', category: 'structure', record: 'MktActivityRecord' },
  ConfirmRequestCancelChangeOfSupplier: { typeCode: 'E44', category: 'structure', record: 'MktActivityRecord' },
  RejectRequestCancelChangeOfSupplier: { typeCode: 'E44', category: 'structure', record: 'MktActivityRecord' },
  ConfirmRequestReallocateChangeOfSupplier: { typeCode: 'E44', category: 'structure', record: 'MktActivityRecord' },
  RejectRequestReallocateChangeOfSupplier: { typeCode: 'E44', category: 'structure', record: 'MktActivityRecord' },
  ConfirmRequestEndOfSupply: { typeCode: 'E44', category: 'structure', record: 'MktActivityRecord' },
  RejectRequestEndOfSupply: { typeCode: 'E44', category: 'structure', record: 'MktActivityRecord' },
  RejectRequestChangeOfPriceList: { typeCode: 'D11', category: 'structure', record: 'MktActivityRecord' },
  RejectRequestAggregatedMeasureData: { typeCode: 'ERR', category: 'measure', record: 'Series' },
  RejectRequestWholesaleSettlement: { typeCode: 'ERR', category: 'measure', record: 'Series' },
};

export function readMarketResponse(documentName: MarketResponseDocumentName, r: NodeReader): MarketResponse {
  const spec = RESPONSE_SPECS[documentName];
  const original = `originalTransactionIDReference_${spec.record}.mRID`;
  return {
    kind: 'MarketResponse',
    documentName,
    header: readHeader(r, spec.typeCode),
    reasonCode: r.code('reason.code', ['A01', 'A02'] as const),
    records: r.all(spec.record).map((m) =>
      defined({
        mRID: m.str('mRID'),
        originalTransactionIDReference: m.optStr(original),
        meteringPointId: m.optGsrn('marketEvaluationPoint.mRID'),
        start: m.optDateTime('start_DateAndOrTime.dateTime'),
        reasons: readReasons(m),
      }),
    ),
  };
}

export function writeMarketResponse(doc: MarketResponse): XNode[] {
  const spec = RESPONSE_SPECS[doc.documentName];
  return [
    ...writeHeader(doc.header, spec.typeCode),
    ...el('reason.code', doc.reasonCode),
    ...doc.records.map((m) =>
      node(spec.record, [
        ...el('mRID', m.mRID),
        ...opt(`originalTransactionIDReference_${spec.record}.mRID`, m.originalTransactionIDReference),
        ...gsrn('marketEvaluationPoint.mRID', m.meteringPointId),
        ...opt('start_DateAndOrTime.dateTime', m.start),
        ...writeReasons(m.reasons),
      ]),
    ),
  ];
}
