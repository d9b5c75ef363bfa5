import { area, defined, el, gsrn, group, opt, party } from '../codec/builder';
import type { NodeReader } from '../codec/reader';
import { SETTLEMENT_METHODS } from '../model/common';
import type { AccountingPointCharacteristics, Address } from '../model/master-data';
import { node, type XNode } from '../xnode';
import { readHeader, readMeteringPointType, writeHeader } from './header';

const ORIGINAL = 'originalTransactionIDReference_MktActivityRecord.mRID';
const VALIDITY_START = 'validityStart_DateAndOrTime.dateTime';
const ADDRESS = 'usagePointLocation.mainAddress';

function readAddress(r: NodeReader | undefined): Address | undefined {
  if (!r) return undefined;
  const street = r.optChild('streetDetail');
  const town = r.optChild('townDetail');
  return defined({
    streetCode: street?.optStr('code'),
    streetName: street?.optStr('name'),
    buildingNumber: street?.optStr('number'),
    floor: street?.optStr('floorIdentification'),
    suite: street?.optStr('suiteNumber'),
    townCode: town?.optStr('code'),
    townName: town?.optStr('name'),
    townSection: town?.optStr('section'),
    country: town?.optStr('country'),
    postalCode: r.optStr('postalCode'),
  });
}

function writeAddress(a: Address | undefined): XNode[] {
  if (!a) return [];
  const street = [...opt('code', a.streetCode), ...opt('name', a.streetName), ...opt('number', a.buildingNumber), ...opt('floorIdentification', a.floor), ...opt('suiteNumber', a.suite)];
  const town = [...opt('code', a.townCode), ...opt('name', a.townName), ...opt('section', a.townSection), ...opt('country', a.country)];
  return group(ADDRESS, street.length ? [node('streetDetail', street)] : [], town.length ? [node('townDetail', town)] : [], opt('postalCode', a.postalCode));
}

export function readAccountingPointCharacteristics(r: NodeReader): AccountingPointCharacteristics {
  const header = readHeader(r, 'E07');
  const records = r.all('MktActivityRecord').map((m) => {
    const p = m.child('MarketEvaluationPoint');
    return defined({
      mRID: m.str('mRID'),
      originalTransactionIDReference: m.optStr(ORIGINAL),
      validityStart: m.dateTime(VALIDITY_START),
      meteringPoint: defined({
        mRID: p.gsrn('mRID'),
        meteringPointResponsible: p.optParty('meteringPointResponsible_MarketParticipant.mRID'),
        type: readMeteringPointType(p, 'type'),
        settlementMethod: p.optCode('settlementMethod', SETTLEMENT_METHODS),
        meteringMethod: p.optStr('meteringMethod'),
        connectionState: p.optStr('connectionState'),
        readCycle: p.optStr('readCycle'),
        netSettlementGroup: p.optStr('netSettlementGroup'),
        meteringGridArea: p.area('meteringGridArea_Domain.mRID'),
        energySupplier: p.optParty('energySupplier_MarketParticipant.mRID'),
        supplyStart: p.optDateTime('supplyStart_DateAndOrTime.dateTime'),
        description: p.optStr('description'),
        mainAddress: readAddress(p.optChild(ADDRESS)),
      }),
    });
  });
  return { kind: 'AccountingPointCharacteristics', header, records };
}

export function writeAccountingPointCharacteristics(doc: AccountingPointCharacteristics): XNode[] {
  return [
    ...writeHeader(doc.header, 'E07'),
    ...doc.records.map((m) => {
      const p = m.meteringPoint;
      return node('MktActivityRecord', [
        ...el('mRID', m.mRID),
        ...opt(ORIGINAL, m.originalTransactionIDReference),
        ...el(VALIDITY_START, m.validityStart),
        ...group(
          'MarketEvaluationPoint',
          gsrn('mRID', p.mRID),
          party('meteringPointResponsible_MarketParticipant.mRID', p.meteringPointResponsible),
          el('type', p.type),
          opt('settlementMethod', p.settlementMethod),
          opt('meteringMethod', p.meteringMethod),
          opt('connectionState', p.connectionState),
          opt('readCycle', p.readCycle),
          opt('netSettlementGroup', p.netSettlementGroup),
          area('meteringGridArea_Domain.mRID', p.meteringGridArea),
          party('energySupplier_MarketParticipant.mRID', p.energySupplier),
          opt('supplyStart_DateAndOrTime.dateTime', p.supplyStart),
          opt('description', p.description),
          writeAddress(p.mainAddress),
        ),
      ]);
    }),
  ];
}
