import { area, defined, el, gsrn, opt, party } from '../codec/builder';
import type { NodeReader } from '../codec/reader';
import { SETTLEMENT_METHODS, SETTLEMENT_VERSIONS } from '../model/common';
import type { AggregatedMeasureSeries, NotifyAggregatedMeasureData, NotifyValidatedMeasureData, ValidatedMeasureSeries } from '../model/measure';
import { node, type XNode } from '../xnode';
import { readHeader, readMeteringPointType, writeHeader } from './header';
import { readMeasurePeriod, writeMeasurePeriod } from './periods';

const UNITS = ['KWH', 'K3'] as const;

export function readNotifyValidatedMeasureData(r: NodeReader): NotifyValidatedMeasureData {
  const header = readHeader(r, 'E66');
  const series = r.all('Series').map((s): ValidatedMeasureSeries => {
    return defined({
      mRID: s.str('mRID'),
      originalTransactionIDReference: s.optStr('originalTransactionIDReference_Series.mRID'),
      meteringPointId: s.gsrn('marketEvaluationPoint.mRID'),
      meteringPointType: readMeteringPointType(s, 'marketEvaluationPoint.type'),
      registrationDateTime: s.optDateTime('registration_DateAndOrTime.dateTime'),
      product: s.optStr('product'),
      unit: s.code('quantity_Measure_Unit.name', UNITS),
      period: readMeasurePeriod(s.child('Period')),
    });
  });
  return { kind: 'NotifyValidatedMeasureData', header, series };
}

export function writeNotifyValidatedMeasureData(doc: NotifyValidatedMeasureData): XNode[] {
  return [
    ...writeHeader(doc.header, 'E66'),
    ...doc.series.map((s) =>
      node('Series', [
        ...el('mRID', s.mRID),
        ...opt('originalTransactionIDReference_Series.mRID', s.originalTransactionIDReference),
        ...gsrn('marketEvaluationPoint.mRID', s.meteringPointId),
        ...el('marketEvaluationPoint.type', s.meteringPointType),
        ...opt('registration_DateAndOrTime.dateTime', s.registrationDateTime),
        ...opt('product', s.product),
        ...el('quantity_Measure_Unit.name', s.unit),
        ...writeMeasurePeriod(s.period),
      ]),
    ),
  ];
}

export function readNotifyAggregatedMeasureData(r: NodeReader): NotifyAggregatedMeasureData {
  const header = readHeader(r, 'E31');
  const series = r.all('Series').map((s): AggregatedMeasureSeries => {
    return defined({
      mRID: s.str('mRID'),
      version: s.optStr('version'),
      settlementVersion: s.optCode('settlement_Series.version', SETTLEMENT_VERSIONS),
      originalTransactionIDReference: s.optStr('originalTransactionIDReference_Series.mRID'),
      meteringPointType: readMeteringPointType(s, 'marketEvaluationPoint.type'),
      settlementMethod: s.optCode('marketEvaluationPoint.settlementMethod', SETTLEMENT_METHODS),
      meteringGridArea: s.area('meteringGridArea_Domain.mRID'),
      energySupplier: s.optParty('energySupplier_MarketParticipant.mRID'),
      balanceResponsibleParty: s.optParty('balanceResponsibleParty_MarketParticipant.mRID'),
      product: s.optStr('product'),
      unit: s.code('quantity_Measure_Unit.name', UNITS),
      period: readMeasurePeriod(s.child('Period')),
    });
  });
  return { kind: 'NotifyAggregatedMeasureData', header, series };
}

export function writeNotifyAggregatedMeasureData(doc: NotifyAggregatedMeasureData): XNode[] {
  return [
    ...writeHeader(doc.header, 'E31'),
    ...doc.series.map((s) =>
      node('Series', [
        ...el('mRID', s.mRID),
        ...opt('version', s.version),
        ...opt('settlement_Series.version', s.settlementVersion),
        ...opt('originalTransactionIDReference_Series.mRID', s.originalTransactionIDReference),
        ...el('marketEvaluationPoint.type', s.meteringPointType),
        ...opt('marketEvaluationPoint.settlementMethod', s.settlementMethod),
        ...area('meteringGridArea_Domain.mRID', s.meteringGridArea),
        ...party('energySupplier_MarketParticipant.mRID', s.energySupplier),
        ...party('balanceResponsibleParty_MarketParticipant.mRID', s.balanceResponsibleParty),
        ...opt('product', s.product),
        ...el('quantity_Measure_Unit.name', s.unit),
        ...writeMeasurePeriod(s.period),
      ]),
    ),
  ];
}
