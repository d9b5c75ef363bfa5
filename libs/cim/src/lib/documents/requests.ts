import { area, defined, el, opt, party } from '../codec/builder';
import type { NodeReader } from '../codec/reader';
import { CHARGE_TYPE_CODES, SETTLEMENT_METHODS, SETTLEMENT_VERSIONS } from '../model/common';
import type {
  AggregatedMeasureDataRequestSeries,
  RequestAggregatedMeasureData,
  RequestWholesaleSettlement,
  WholesaleSettlementRequestSeries,
} from '../model/requests';
import { node, type XNode } from '../xnode';
import { readHeader, readOptMeteringPointType, writeHeader } from './header';

export function readRequestAggregatedMeasureData(r: NodeReader): RequestAggregatedMeasureData {
  const header = readHeader(r, 'E74');
  const series = r.all('Series').map(
    (s): AggregatedMeasureDataRequestSeries =>
      defined({
        mRID: s.str('mRID'),
        settlementVersion: s.optCode('settlement_Series.version', SETTLEMENT_VERSIONS),
        meteringPointType: readOptMeteringPointType(s, 'marketEvaluationPoint.type'),
        settlementMethod: s.optCode('marketEvaluationPoint.settlementMethod', SETTLEMENT_METHODS),
        start: s.dateTime('start_DateAndOrTime.dateTime'),
        end: s.optDateTime('end_DateAndOrTime.dateTime'),
        meteringGridArea: s.optArea('meteringGridArea_Domain.mRID'),
        energySupplier: s.optParty('energySupplier_MarketParticipant.mRID'),
        balanceResponsibleParty: s.optParty('balanceResponsibleParty_MarketParticipant.mRID'),
      }),
  );
  return { kind: 'RequestAggregatedMeasureData', header, series };
}

export function writeRequestAggregatedMeasureData(doc: RequestAggregatedMeasureData): XNode[] {
  return [
    ...writeHeader(doc.header, 'E74'),
    ...doc.series.map((s) =>
      node('Series', [
        ...el('mRID', s.mRID),
        ...opt('settlement_Series.version', s.settlementVersion),
        ...opt('marketEvaluationPoint.type', s.meteringPointType),
        ...opt('marketEvaluationPoint.settlementMethod', s.settlementMethod),
        ...el('start_DateAndOrTime.dateTime', s.start),
        ...opt('end_DateAndOrTime.dateTime', s.end),
        ...area('meteringGridArea_Domain.mRID', s.meteringGridArea),
        ...party('energySupplier_MarketParticipant.mRID', s.energySupplier),
        ...party('balanceResponsibleParty_MarketParticipant.mRID', s.balanceResponsibleParty),
      ]),
    ),
  ];
}

export function readRequestWholesaleSettlement(r: NodeReader): RequestWholesaleSettlement {
  const header = readHeader(r, 'D21');
  const series = r.all('Series').map(
    (s): WholesaleSettlementRequestSeries =>
      defined({
        mRID: s.str('mRID'),
        settlementVersion: s.optCode('settlement_Series.version', SETTLEMENT_VERSIONS),
        start: s.dateTime('start_DateAndOrTime.dateTime'),
        end: s.optDateTime('end_DateAndOrTime.dateTime'),
        meteringGridArea: s.optArea('meteringGridArea_Domain.mRID'),
        energySupplier: s.optParty('energySupplier_MarketParticipant.mRID'),
        chargeOwner: s.optParty('chargeTypeOwner_MarketParticipant.mRID'),
        resolution: s.optCode('aggregationSeries_Period.resolution', ['PT1H', 'P1D', 'P1M'] as const),
        chargeTypes: s.all('ChargeType').map((c) => ({ type: c.code('type', CHARGE_TYPE_CODES), mRID: c.str('mRID') })),
      }),
  );
  return { kind: 'RequestWholesaleSettlement', header, series };
}

export function writeRequestWholesaleSettlement(doc: RequestWholesaleSettlement): XNode[] {
  return [
    ...writeHeader(doc.header, 'D21'),
    ...doc.series.map((s) =>
      node('Series', [
        ...el('mRID', s.mRID),
        ...opt('settlement_Series.version', s.settlementVersion),
        ...el('start_DateAndOrTime.dateTime', s.start),
        ...opt('end_DateAndOrTime.dateTime', s.end),
        ...area('meteringGridArea_Domain.mRID', s.meteringGridArea),
        ...party('energySupplier_MarketParticipant.mRID', s.energySupplier),
        ...party('chargeTypeOwner_MarketParticipant.mRID', s.chargeOwner),
        ...opt('aggregationSeries_Period.resolution', s.resolution),
        ...s.chargeTypes.map((c) => node('ChargeType', [...el('type', c.type), ...el('mRID', c.mRID)])),
      ]),
    ),
  ];
}
