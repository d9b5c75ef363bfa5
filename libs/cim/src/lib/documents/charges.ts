import { defined, el, gsrn, opt, optBool, party } from '../codec/builder';
import type { NodeReader } from '../codec/reader';
import { CHARGE_TYPE_CODES } from '../model/common';
import type { ChargeInformation, NotifyBillingMasterData, NotifyPriceList } from '../model/charges';
import { node, type XNode } from '../xnode';
import { readHeader, writeHeader } from './header';
import { readPricePeriod, writePricePeriod } from './periods';

const OWNER = 'chargeTypeOwner_MarketParticipant.mRID';
const RESOLUTIONS = ['PT15M', 'PT1H', 'P1D', 'P1M'] as const;

export function readNotifyBillingMasterData(r: NodeReader): NotifyBillingMasterData {
  const header = readHeader(r, 'D07');
  const records = r.all('MktActivityRecord').map((m) => ({
    mRID: m.str('mRID'),
    meteringPointId: m.gsrn('marketEvaluationPoint.mRID'),
    chargeTypes: m
      .child('ChargeGroup')
      .all('ChargeType')
      .map((c) =>
        defined({
          owner: c.party(OWNER),
          type: c.code('type', CHARGE_TYPE_CODES),
          mRID: c.str('mRID'),
          factor: c.decimal('factor'),
          effectiveDate: c.dateTime('effectiveDate'),
          terminationDate: c.optDateTime('terminationDate'),
        }),
      ),
  }));
  return { kind: 'NotifyBillingMasterData', header, records };
}

export function writeNotifyBillingMasterData(doc: NotifyBillingMasterData): XNode[] {
  return [
    ...writeHeader(doc.header, 'D07'),
    ...doc.records.map((m) =>
      node('MktActivityRecord', [
        ...el('mRID', m.mRID),
        ...gsrn('marketEvaluationPoint.mRID', m.meteringPointId),
        node(
          'ChargeGroup',
          m.chargeTypes.map((c) =>
            node('ChargeType', [
              ...party(OWNER, c.owner),
              ...el('type', c.type),
              ...el('mRID', c.mRID),
              ...el('factor', c.factor),
              ...el('effectiveDate', c.effectiveDate),
              ...opt('terminationDate', c.terminationDate),
            ]),
          ),
        ),
      ]),
    ),
  ];
}

export function readNotifyPriceList(r: NodeReader): NotifyPriceList {
  const header = readHeader(r, 'D12');
  const records = r.all('MktActivityRecord').map((m) => ({
    mRID: m.str('mRID'),
    chargeTypes: m
      .child('ChargeGroup')
      .all('ChargeType')
      .map(
        (c): ChargeInformation =>
          defined({
            owner: c.party(OWNER),
            type: c.code('type', CHARGE_TYPE_CODES),
            mRID: c.str('mRID'),
            name: c.optStr('name'),
            description: c.optStr('description'),
            priceResolution: c.optCode('priceTimeFrame_Period.resolution', RESOLUTIONS),
            effectiveDate: c.dateTime('effectiveDate'),
            terminationDate: c.optDateTime('terminationDate'),
            vatPayer: c.optCode('VATPayer', ['D01', 'D02'] as const),
            transparentInvoicing: c.bool('transparentInvoicing'),
            taxIndicator: c.bool('taxIndicator'),
            prices: c.has('Series_Period') ? readPricePeriod(c.child('Series_Period')) : undefined,
          }),
      ),
  }));
  return { kind: 'NotifyPriceList', header, records };
}

export function writeNotifyPriceList(doc: NotifyPriceList): XNode[] {
  return [
    ...writeHeader(doc.header, 'D12'),
    ...doc.records.map((m) =>
      node('MktActivityRecord', [
        ...el('mRID', m.mRID),
        node(
          'ChargeGroup',
          m.chargeTypes.map((c) =>
            node('ChargeType', [
              ...party(OWNER, c.owner),
              ...el('type', c.type),
              ...el('mRID', c.mRID),
              ...opt('name', c.name),
              ...opt('description', c.description),
              ...opt('priceTimeFrame_Period.resolution', c.priceResolution),
              ...el('effectiveDate', c.effectiveDate),
              ...opt('terminationDate', c.terminationDate),
              ...opt('VATPayer', c.vatPayer),
              ...optBool('transparentInvoicing', c.transparentInvoicing),
              ...optBool('taxIndicator', c.taxIndicator),
              ...(c.prices ? writePricePeriod('Series_Period', c.prices) : []),
            ]),
          ),
        ),
      ]),
    ),
  ];
}
