import type { NotifyBillingMasterData, NotifyPriceList } from './charges';
import type { AccountingPointCharacteristics } from './master-data';
import type { NotifyAggregatedMeasureData, NotifyValidatedMeasureData } from './measure';
import type { RequestAggregatedMeasureData, RequestWholesaleSettlement } from './requests';
import type { Acknowledgement, MarketResponse } from './responses';
import type {
  GenericNotification,
  RequestCancelChangeOfSupplier,
  RequestChangeOfSupplier,
  RequestEndOfSupply,
  RequestReallocateChangeOfSupplier,
} from './supplier-processes';
import type { NotifyWholesaleServices } from './wholesale';

export type CimDocument =
  | NotifyValidatedMeasureData
  | NotifyAggregatedMeasureData
  | NotifyWholesaleServices
  | AccountingPointCharacteristics
  | GenericNotification
  | RequestChangeOfSupplier
  | RequestCancelChangeOfSupplier
  | RequestReallocateChangeOfSupplier
  | RequestEndOfSupply
  | Acknowledgement
  | MarketResponse
  | RequestAggregatedMeasureData
  | RequestWholesaleSettlement
  | NotifyBillingMasterData
  | NotifyPriceList;

export type CimDocumentKind = CimDocument['kind'];
export type CimDocumentOf<K extends CimDocumentKind> = Extract<CimDocument, { kind: K }>;
