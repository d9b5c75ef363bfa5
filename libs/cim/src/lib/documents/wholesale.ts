import { area, defined, el, opt, party } from '../codec/builder';
import type { NodeReader } from '../codec/reader';
import { CHARGE_TYPE_CODES, SETTLEMENT_METHODS, SETTLEMENT_VERSIONS } from '../model/common';
import type { NotifyWholesaleServices, WholesaleServicesSeries } from '../model/wholesale';
import { node, type XNode } from '../xnode';
import { readHeader, readOptMeteringPointType, writeHeader } from './header';
import { readWholesalePeriod, writeWholesalePeriod } from './periods';

const UNITS = ['KWH', 'H87'] as const;

export function readNotifyWholesaleServices(r: NodeReader): NotifyWholesaleServices {
  const header = readHeader(r, 'E31');
  const series = r.all('Series').map(
    (s): WholesaleServicesSeries =>
      defined({
        mRID: s.str('mRID'),
        version: s.optStr('version'),
        settlementVersion: s.optCode('settlement_Series.version', SETTLEMENT_VERSIONS),
        originalTransactionIDReference: s.optStr('originalTransactionIDReference_Series.mRID'),
        meteringPointType: readOptMeteringPointType(s, 'marketEvaluationPoint.type'),
        settlementMethod: s.optCode('marketEvaluationPoint.settlementMethod', SETTLEMENT_METHODS),
        chargeCode: s.optStr('chargeType.mRID'),
        chargeType: s.optCode('chargeType.type', CHARGE_TYPE_CODES),
        chargeOwner: s.optParty('chargeType.chargeTypeOwner_MarketParticipant.mRID'),
        meteringGridArea: s.area('meteringGridArea_Domain.mRID'),
        energySupplier: s.party('energySupplier_MarketParticipant.mRID'),
        product: s.optStr('product'),
        quantityUnit: s.optCode('quantity_Measure_Unit.name', UNITS),
        priceUnit: s.optCode('price_Measure_Unit.name', UNITS),
        currency: s.code('currency_Unit.name', ['DKK'] as const),
        period: readWholesalePeriod(s.child('Period')),
      }),
  );
  return { kind: 'NotifyWholesaleServices', header, series };
}

export function writeNotifyWholesaleServices(doc: NotifyWholesaleServices): XNode[] {
  return [
    ...writeHeader(doc.header, 'E31'),
    ...doc.series.map((s) =>
      node('Series', [
        ...el('mRID', s.mRID),
        ...opt('version', s.version),
        ...opt('settlement_Series.version', s.settlementVersion),
        ...opt('originalTransactionIDReference_Series.mRID', s.originalTransactionIDReference),
        ...opt('marketEvaluationPoint.type', s.meteringPointType),
        ...opt('marketEvaluationPoint.settlementMethod', s.settlementMethod),
        ...opt('chargeType.mRID', s.chargeCode),
        ...opt('chargeType.type', s.chargeType),
        ...party('chargeType.chargeTypeOwner_MarketParticipant.mRID', s.chargeOwner),
        ...area('meteringGridArea_Domain.mRID', s.meteringGridArea),
        ...party('energySupplier_MarketParticipant.mRID', s.energySupplier),
        ...opt('product', s.product),
        ...opt('quantity_Measure_Unit.name', s.quantityUnit),
        ...opt('price_Measure_Unit.name', s.priceUnit),
        ...el('currency_Unit.name', s.currency),
        ...writeWholesalePeriod(s.period),
      ]),
    ),
  ];
}
