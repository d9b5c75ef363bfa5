import { customerFold, meteringPointFold, processFold } from './folds/portfolio';
import { invoiceFold, meteredDataFold, paymentFold, settlementRunFold } from './folds/settlement';
import { latestByType, type Fold } from './folds/fold';

/** A category of streams (`<category>-<id>`) and how its state is folded for support. */
export interface StreamKind {
  kind: string;
  /** Stream id prefix, with the trailing dash. */
  prefix: string;
  description: string;
  fold: Fold;
}

/**
 * Every stream category the system writes. Longer prefixes first: `customer-erasure-` is not a
 * customer stream, `aconto-invoice-` not an aconto stream.
 */
export const STREAM_KINDS: readonly StreamKind[] = [
  { kind: 'customer-erasure', prefix: 'customer-erasure-', description: 'GDPR erasure of a customer (crypto-shredding record)', fold: latestByType },
  { kind: 'customer', prefix: 'customer-', description: 'A customer: creation, forced-switch onboarding, activations, offboardings, personal-data changes', fold: customerFold },
  { kind: 'metering-point', prefix: 'metering-point-', description: 'A metering point (GSRN): master data and supply periods', fold: meteringPointFold },
  { kind: 'process', prefix: 'process-', description: 'A DataHub business process (BRS case)', fold: processFold },
  { kind: 'invoice', prefix: 'invoice-', description: 'An invoice: as issued, correction notes, recomputation halts, overdue report', fold: invoiceFold },
  { kind: 'settlement-run', prefix: 'settlement-run-', description: 'A settlement run of one billing period (counts), or one batch of its work items', fold: settlementRunFold },
  { kind: 'settlement-item', prefix: 'settlement-item-', description: 'A work item of a settlement run that halted, and why', fold: settlementRunFold },
  { kind: 'payment', prefix: 'payment-', description: 'A payment from the payment service and its matching', fold: paymentFold },
  { kind: 'metered-data', prefix: 'metered-data-', description: 'Metered data of a metering point, one event per local day and version', fold: meteredDataFold },
  { kind: 'aconto-invoice', prefix: 'aconto-invoice-', description: 'An aconto (advance) invoice of a quarter', fold: latestByType },
  { kind: 'aconto', prefix: 'aconto-', description: 'Aconto payments and expected consumption of a metering point', fold: latestByType },
  { kind: 'product', prefix: 'product-', description: 'A product of ours: every version of its prices', fold: latestByType },
  { kind: 'charge', prefix: 'charge-', description: 'A grid or Energinet charge: every version of its price rows', fold: latestByType },
  { kind: 'spot-prices', prefix: 'spot-prices-', description: 'Day-ahead prices of one price area and delivery day, every version', fold: latestByType },
  { kind: 'grid-area', prefix: 'grid-area-', description: 'A grid area mapping', fold: latestByType },
  { kind: 'electricity-tax-rates', prefix: 'electricity-tax-rates', description: 'Electricity tax rates with validity', fold: latestByType },
  { kind: 'datahub-document', prefix: 'datahub-document-', description: 'A document received from DataHub', fold: latestByType },
  { kind: 'datahub-request', prefix: 'datahub-request-', description: 'A request sent to DataHub', fold: latestByType },
];

const OTHER: StreamKind = { kind: 'other', prefix: '', description: 'A stream of another category', fold: latestByType };

export function streamKindOf(streamId: string): StreamKind {
  return STREAM_KINDS.find((k) => streamId.startsWith(k.prefix)) ?? OTHER;
}
