import type { NotifyAggregatedMeasureData, NotifyBillingMasterData, NotifyPriceList, NotifyWholesaleServices } from '@dh/cim';
import type { JsonObject } from '@dh/event-store';

/** What every inbound event carries about the document it came from. */
export type InboundCommon = JsonObject;

/**
 * RSM-031 NotifyBillingMasterData: one `ChargeLinksReceived` per metering point record, with its links
 * (charge owner, type and code, factor, effective and termination dates) as DataHub sent them.
 */
export function chargeLinkEvents(document: NotifyBillingMasterData, common: InboundCommon) {
  return document.records.map((record) => ({
    type: 'ChargeLinksReceived',
    data: {
      ...common,
      recordId: record.mRID,
      gsrn: record.meteringPointId,
      links: record.chargeTypes.map((c) => ({
        ownerGln: c.owner.value,
        chargeType: c.type,
        chargeCode: c.mRID,
        factor: c.factor,
        effectiveDate: c.effectiveDate,
        terminationDate: c.terminationDate ?? null,
      })),
    },
  }));
}

/**
 * RSM-034 NotifyPriceList: one `PriceListReceived` per charge of each record: charge master data
 * (business reason D18) and/or a price series (D08).
 */
export function priceListEvents(document: NotifyPriceList, common: InboundCommon) {
  return document.records.flatMap((record) =>
    record.chargeTypes.map((c) => ({
      type: 'PriceListReceived',
      data: {
        ...common,
        recordId: record.mRID,
        ownerGln: c.owner.value,
        chargeType: c.type,
        chargeCode: c.mRID,
        name: c.name ?? null,
        description: c.description ?? null,
        priceResolution: c.priceResolution ?? null,
        effectiveDate: c.effectiveDate,
        terminationDate: c.terminationDate ?? null,
        vatPayer: c.vatPayer ?? null,
        transparentInvoicing: c.transparentInvoicing ?? null,
        taxIndicator: c.taxIndicator ?? null,
        prices: c.prices
          ? {
              resolution: c.prices.resolution,
              start: c.prices.timeInterval.start,
              end: c.prices.timeInterval.end,
              points: c.prices.points.map((p) => ({ position: p.position, price: p.price })),
            }
          : null,
      },
    })),
  );
}

/**
 * RSM-014 NotifyAggregatedMeasureData: one `AggregatedMeasureDataReceived` per series (DataHub sends one
 * per document), energy per grid area, metering point type and settlement method.
 */
export function aggregatedMeasureDataEvents(document: NotifyAggregatedMeasureData, common: InboundCommon) {
  return document.series.map((s) => ({
    type: 'AggregatedMeasureDataReceived',
    data: {
      ...common,
      seriesId: s.mRID,
      calculationVersion: s.version ?? null,
      settlementVersion: s.settlementVersion ?? null,
      originalTransactionId: s.originalTransactionIDReference ?? null,
      meteringPointType: s.meteringPointType,
      settlementMethod: s.settlementMethod ?? null,
      gridArea: s.meteringGridArea,
      energySupplierGln: s.energySupplier?.value ?? null,
      balanceResponsibleGln: s.balanceResponsibleParty?.value ?? null,
      unit: s.unit,
      resolution: s.period.resolution,
      start: s.period.timeInterval.start,
      end: s.period.timeInterval.end,
      points: s.period.points.map((p) => ({ position: p.position, quantity: p.quantity ?? null, quality: p.quality ?? null })),
    },
  }));
}

/**
 * RSM-019 NotifyWholesaleServices: one `WholesaleServicesReceived` per series: amounts per charge (PT1H,
 * P1D), monthly sums per charge (P1M) and total monthly amounts (P1M without a charge).
 */
export function wholesaleServicesEvents(document: NotifyWholesaleServices, common: InboundCommon) {
  return document.series.map((s) => ({
    type: 'WholesaleServicesReceived',
    data: {
      ...common,
      seriesId: s.mRID,
      calculationVersion: s.version ?? null,
      settlementVersion: s.settlementVersion ?? null,
      originalTransactionId: s.originalTransactionIDReference ?? null,
      meteringPointType: s.meteringPointType ?? null,
      settlementMethod: s.settlementMethod ?? null,
      chargeCode: s.chargeCode ?? null,
      chargeType: s.chargeType ?? null,
      chargeOwnerGln: s.chargeOwner?.value ?? null,
      gridArea: s.meteringGridArea,
      energySupplierGln: s.energySupplier.value,
      quantityUnit: s.quantityUnit ?? null,
      priceUnit: s.priceUnit ?? null,
      currency: s.currency,
      resolution: s.period.resolution,
      start: s.period.timeInterval.start,
      end: s.period.timeInterval.end,
      points: s.period.points.map((p) => ({ position: p.position, quantity: p.quantity ?? null, price: p.price ?? null, amount: p.amount, quality: p.quality ?? null })),
    },
  }));
}
