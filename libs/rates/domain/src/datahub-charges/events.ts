import type { ChargeType } from '../charges/charge';
import type { DataHubPriceResolution } from './price-series';

export const CHARGE_LINKS_RECORDED = 'ChargeLinksRecorded';
export const CHARGE_INFORMATION_RECORDED = 'ChargeInformationRecorded';
export const CHARGE_PRICES_RECORDED = 'ChargePricesRecorded';

/** The DataHub message a charge fact came from (the `datahub` context's inbound event). */
export interface ChargeDataSource {
  documentId: string;
  recordId: string;
  /** ISO UTC instant we received the document. */
  receivedAt: string;
  /** Business reason: D17 charge links, D18 charge master data, D08 prices (D31 in a forced switch). */
  processType: string | null;
}

export interface ChargeLinkData {
  /** `owner:type:code`. */
  chargeId: string;
  owner: string;
  chargeType: ChargeType;
  code: string;
  /** DataHub's link quantity: pieces of a subscription or fee (tariffs are priced per kWh metered). */
  factor: string;
  /** ISO UTC instants; `to` exclusive, null open-ended. */
  from: string;
  to: string | null;
}

/**
 * One RSM-031 record: links of one metering point as DataHub sent them. A link is identified by
 * (chargeId, from); a later event's link with the same identity replaces the earlier one (a termination
 * date stops it, another factor changes it). Stream `charge-links-<gsrn>`.
 */
export interface ChargeLinksRecorded {
  gsrn: string;
  links: ChargeLinkData[];
  source: ChargeDataSource;
}

/**
 * RSM-034 charge master data (D18) of one charge from `from`: resolution of its prices, tax indicator
 * (DataHub adds tax charges into each other owner's total), VAT. Stream `price-list-<chargeId>`.
 */
export interface ChargeInformationRecorded {
  chargeId: string;
  owner: string;
  chargeType: ChargeType;
  code: string;
  name: string | null;
  description: string | null;
  resolution: DataHubPriceResolution;
  taxIndicator: boolean;
  vatPayer: 'D01' | 'D02' | null;
  transparentInvoicing: boolean;
  from: string;
  to: string | null;
  source: ChargeDataSource;
}

/**
 * RSM-034 prices (D08) of one charge for [start, end): one price per interval, a 24-hour pattern or one
 * price for the whole interval (`priceSeriesShape`). A later event overrides earlier ones where it covers.
 * Stream `price-list-<chargeId>`.
 */
export interface ChargePricesRecorded {
  chargeId: string;
  owner: string;
  chargeType: ChargeType;
  code: string;
  resolution: DataHubPriceResolution;
  start: string;
  end: string;
  points: { position: number; price: string }[];
  source: ChargeDataSource;
}

export const chargeLinksStreamId = (gsrn: string): string => `charge-links-${gsrn}`;
export const priceListStreamId = (chargeId: string): string => `price-list-${chargeId}`;
