import type { CimHeader, Reason } from './common';

export interface AcknowledgementSeries {
  /** The original transaction id being answered. */
  readonly mRID: string;
  readonly reasons: readonly Reason[];
}

/** RSM-009 Acknowledgement (CIM, no type code): negative answer to a document we sent, with reason codes. */
export interface Acknowledgement {
  readonly kind: 'Acknowledgement';
  readonly header: Omit<CimHeader, 'processType'>;
  readonly receivedMarketDocument: { readonly mRID?: string; readonly processType?: string };
  readonly series: readonly AcknowledgementSeries[];
}

/** Confirm/reject answers to a request: the document name decides type code, namespace and record element. */
export type MarketResponseDocumentName =
  | 'ConfirmRequestChangeOfSupplier'
  | 'RejectRequestChangeOfSupplier'
  | 'ConfirmRequestCancelChangeOfSupplier'
  | 'RejectRequestCancelChangeOfSupplier'
  | 'ConfirmRequestReallocateChangeOfSupplier'
  | 'RejectRequestReallocateChangeOfSupplier'
  | 'ConfirmRequestEndOfSupply'
  | 'RejectRequestEndOfSupply'
  | 'RejectRequestChangeOfPriceList'
  | 'RejectRequestAggregatedMeasureData'
  | 'RejectRequestWholesaleSettlement';

export interface MarketResponseRecord {
  readonly mRID: string;
  readonly originalTransactionIDReference?: string;
  readonly meteringPointId?: string;
  readonly start?: string;
  readonly reasons: readonly Reason[];
}

/** RSM-001/002/003/005 confirm or reject (E44), price-list reject (D11), RSM-016/017 reject (ERR). A01 accepted, A02 rejected. */
export interface MarketResponse {
  readonly kind: 'MarketResponse';
  readonly documentName: MarketResponseDocumentName;
  readonly header: CimHeader;
  readonly reasonCode: 'A01' | 'A02';
  readonly records: readonly MarketResponseRecord[];
}
