import { el, opt, party } from '../codec/builder';
import type { NodeReader } from '../codec/reader';
import { CimParseError } from '../errors';
import { MARKET_ROLES, type CimHeader, type MarketParticipant, type MeteringPointType } from '../model/common';
import type { XNode } from '../xnode';

export function checkTypeCode(r: NodeReader, expected: string): void {
  const type = r.str('type');
  if (type !== expected) {
    throw new CimParseError('WRONG_TYPE_CODE', `type "${type}" does not match ${r.node.name} (expected ${expected})`, { field: 'type', path: 'type' });
  }
}

function participant(r: NodeReader, side: 'sender' | 'receiver'): MarketParticipant {
  return { id: r.party(`${side}_MarketParticipant.mRID`), role: r.code(`${side}_MarketParticipant.marketRole.type`, MARKET_ROLES) };
}

export function readHeader(r: NodeReader, typeCode: string): CimHeader {
  checkTypeCode(r, typeCode);
  const processType = r.str('process.processType');
  if (!/^[A-Z0-9]{3}$/.test(processType)) {
    throw new CimParseError('UNKNOWN_CODE', `process.processType "${processType}" is not a business reason code`, {
      field: 'process.processType',
      path: 'process.processType',
    });
  }
  return {
    mRID: r.str('mRID'),
    processType,
    businessSectorType: r.str('businessSector.type'),
    sender: participant(r, 'sender'),
    receiver: participant(r, 'receiver'),
    createdDateTime: r.dateTime('createdDateTime'),
  };
}

export function readHeaderWithReason<P extends string>(r: NodeReader, typeCode: string, reasons: readonly P[]): CimHeader<P> {
  const h = readHeader(r, typeCode);
  return { ...h, processType: r.code('process.processType', reasons) };
}

export function readHeaderWithoutType(r: NodeReader): Omit<CimHeader, 'processType'> {
  return {
    mRID: r.str('mRID'),
    businessSectorType: r.str('businessSector.type'),
    sender: participant(r, 'sender'),
    receiver: participant(r, 'receiver'),
    createdDateTime: r.dateTime('createdDateTime'),
  };
}

export function writeHeader(h: Omit<CimHeader, 'processType'> & { processType?: string }, typeCode: string | undefined): XNode[] {
  return [
    ...el('mRID', h.mRID),
    ...opt('type', typeCode),
    ...opt('process.processType', h.processType),
    ...el('businessSector.type', h.businessSectorType),
    ...party('sender_MarketParticipant.mRID', h.sender.id),
    ...el('sender_MarketParticipant.marketRole.type', h.sender.role),
    ...party('receiver_MarketParticipant.mRID', h.receiver.id),
    ...el('receiver_MarketParticipant.marketRole.type', h.receiver.role),
    ...el('createdDateTime', h.createdDateTime),
  ];
}

const MP_TYPE = /^(E17|E18|E20|D\d{2})$/;
const isMpType = (v: string): v is MeteringPointType => MP_TYPE.test(v);

export function readMeteringPointType(r: NodeReader, name: string): MeteringPointType {
  return r.pattern(name, MP_TYPE, isMpType);
}

export function readOptMeteringPointType(r: NodeReader, name: string): MeteringPointType | undefined {
  return r.has(name) ? readMeteringPointType(r, name) : undefined;
}
