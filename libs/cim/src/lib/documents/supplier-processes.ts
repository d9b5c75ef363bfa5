import { defined, el, gsrn, opt, party } from '../codec/builder';
import type { NodeReader } from '../codec/reader';
import { CimParseError } from '../errors';
import type {
  CancellationReason,
  ChangeOfSupplierReason,
  CustomerId,
  EndOfSupplyReason,
  GenericNotification,
  IncorrectSwitchReason,
  RequestCancelChangeOfSupplier,
  RequestChangeOfSupplier,
  RequestEndOfSupply,
  RequestReallocateChangeOfSupplier,
} from '../model/supplier-processes';
import { leaf, node, type XNode } from '../xnode';
import { readHeader, readHeaderWithReason, writeHeader } from './header';

/** Document type codes; 392 for RSM-001 and E44 for RSM-004 are in Energinet's XSDs, the rest are assumptions (README). */
export const SUPPLIER_TYPE_CODES = {
  RequestChangeOfSupplier: '392',
  RequestCancelChangeOfSupplier: '392',
  RequestReallocateChangeOfSupplier: '392',
  RequestEndOfSupply: '432',
  GenericNotification: 'E44',
} as const;

const CHANGE_REASONS: readonly ChangeOfSupplierReason[] = ['E03', 'E65'];
const CANCEL_REASONS: readonly CancellationReason[] = ['E03', 'E65', 'E20', 'E66'];
const END_REASONS: readonly EndOfSupplyReason[] = ['E20', 'E66'];
const INCORRECT_SWITCH_REASONS: readonly IncorrectSwitchReason[] = ['D07'];

const MP = 'marketEvaluationPoint.mRID';
const ES = 'marketEvaluationPoint.energySupplier_MarketParticipant.mRID';
const BRP = 'marketEvaluationPoint.balanceResponsibleParty_MarketParticipant.mRID';
const CUSTOMER = 'marketEvaluationPoint.customer_MarketParticipant.mRID';
const CUSTOMER_NAME = 'marketEvaluationPoint.customer_MarketParticipant.name';
const START = 'start_DateAndOrTime.dateTime';
const ORIGINAL = 'originalTransactionIDReference_MktActivityRecord.mRID';

function readCustomer(r: NodeReader): CustomerId | undefined {
  const c = r.optChild(CUSTOMER);
  if (!c) return undefined;
  const scheme = c.attr('codingScheme');
  const value = c.node.text;
  if (scheme === 'ARR' ? /^\d{10}$/.test(value) : scheme === 'VAT' ? /^\d{8}$/.test(value) : false) {
    return { codingScheme: scheme === 'ARR' ? 'ARR' : 'VAT', value };
  }
  throw new CimParseError('INVALID_VALUE', `${CUSTOMER} must be a CPR (ARR, 10 digits) or CVR (VAT, 8 digits)`, { field: CUSTOMER, path: c.path });
}

export function readRequestChangeOfSupplier(r: NodeReader): RequestChangeOfSupplier {
  return {
    kind: 'RequestChangeOfSupplier',
    header: readHeaderWithReason(r, SUPPLIER_TYPE_CODES.RequestChangeOfSupplier, CHANGE_REASONS),
    records: r.all('MktActivityRecord').map((m) =>
      defined({
        mRID: m.str('mRID'),
        meteringPointId: m.gsrn(MP),
        energySupplier: m.party(ES),
        balanceResponsibleParty: m.optParty(BRP),
        customerId: readCustomer(m),
        customerName: m.optStr(CUSTOMER_NAME),
        start: m.dateTime(START),
      }),
    ),
  };
}

export function writeRequestChangeOfSupplier(doc: RequestChangeOfSupplier): XNode[] {
  return [
    ...writeHeader(doc.header, SUPPLIER_TYPE_CODES.RequestChangeOfSupplier),
    ...doc.records.map((m) =>
      node('MktActivityRecord', [
        ...el('mRID', m.mRID),
        ...gsrn(MP, m.meteringPointId),
        ...party(ES, m.energySupplier),
        ...party(BRP, m.balanceResponsibleParty),
        ...(m.customerId ? [leaf(CUSTOMER, m.customerId.value, { codingScheme: m.customerId.codingScheme })] : []),
        ...opt(CUSTOMER_NAME, m.customerName),
        ...el(START, m.start),
      ]),
    ),
  ];
}

export function readRequestCancelChangeOfSupplier(r: NodeReader): RequestCancelChangeOfSupplier {
  return {
    kind: 'RequestCancelChangeOfSupplier',
    header: readHeaderWithReason(r, SUPPLIER_TYPE_CODES.RequestCancelChangeOfSupplier, CANCEL_REASONS),
    records: r.all('MktActivityRecord').map((m) =>
      defined({
        mRID: m.str('mRID'),
        originalTransactionIDReference: m.str(ORIGINAL),
        meteringPointId: m.gsrn(MP),
        energySupplier: m.optParty(ES),
      }),
    ),
  };
}

export function writeRequestCancelChangeOfSupplier(doc: RequestCancelChangeOfSupplier): XNode[] {
  return [
    ...writeHeader(doc.header, SUPPLIER_TYPE_CODES.RequestCancelChangeOfSupplier),
    ...doc.records.map((m) =>
      node('MktActivityRecord', [
        ...el('mRID', m.mRID),
        ...el(ORIGINAL, m.originalTransactionIDReference),
        ...gsrn(MP, m.meteringPointId),
        ...party(ES, m.energySupplier),
      ]),
    ),
  ];
}

export function readRequestReallocateChangeOfSupplier(r: NodeReader): RequestReallocateChangeOfSupplier {
  return {
    kind: 'RequestReallocateChangeOfSupplier',
    header: readHeaderWithReason(r, SUPPLIER_TYPE_CODES.RequestReallocateChangeOfSupplier, INCORRECT_SWITCH_REASONS),
    records: r.all('MktActivityRecord').map((m) =>
      defined({
        mRID: m.str('mRID'),
        originalTransactionIDReference: m.optStr(ORIGINAL),
        meteringPointId: m.gsrn(MP),
        energySupplier: m.party(ES),
        start: m.dateTime(START),
      }),
    ),
  };
}

export function writeRequestReallocateChangeOfSupplier(doc: RequestReallocateChangeOfSupplier): XNode[] {
  return [
    ...writeHeader(doc.header, SUPPLIER_TYPE_CODES.RequestReallocateChangeOfSupplier),
    ...doc.records.map((m) =>
      node('MktActivityRecord', [
        ...el('mRID', m.mRID),
        ...opt(ORIGINAL, m.originalTransactionIDReference),
        ...gsrn(MP, m.meteringPointId),
        ...party(ES, m.energySupplier),
        ...el(START, m.start),
      ]),
    ),
  ];
}

export function readRequestEndOfSupply(r: NodeReader): RequestEndOfSupply {
  return {
    kind: 'RequestEndOfSupply',
    header: readHeaderWithReason(r, SUPPLIER_TYPE_CODES.RequestEndOfSupply, END_REASONS),
    records: r.all('MktActivityRecord').map((m) => ({
      mRID: m.str('mRID'),
      meteringPointId: m.gsrn(MP),
      energySupplier: m.party(ES),
      start: m.dateTime(START),
    })),
  };
}

export function writeRequestEndOfSupply(doc: RequestEndOfSupply): XNode[] {
  return [
    ...writeHeader(doc.header, SUPPLIER_TYPE_CODES.RequestEndOfSupply),
    ...doc.records.map((m) =>
      node('MktActivityRecord', [...el('mRID', m.mRID), ...gsrn(MP, m.meteringPointId), ...party(ES, m.energySupplier), ...el(START, m.start)]),
    ),
  ];
}

const VALIDITY_START = 'validityStart_DateAndOrTime.dateTime';

export function readGenericNotification(r: NodeReader): GenericNotification {
  return {
    kind: 'GenericNotification',
    header: readHeader(r, SUPPLIER_TYPE_CODES.GenericNotification),
    records: r.all('MktActivityRecord').map((m) =>
      defined({
        mRID: m.str('mRID'),
        originalTransactionIDReference: m.optStr(ORIGINAL),
        validityStart: m.dateTime(VALIDITY_START),
        meteringPointId: m.gsrn(MP),
      }),
    ),
  };
}

export function writeGenericNotification(doc: GenericNotification): XNode[] {
  return [
    ...writeHeader(doc.header, SUPPLIER_TYPE_CODES.GenericNotification),
    ...doc.records.map((m) =>
      node('MktActivityRecord', [
        ...el('mRID', m.mRID),
        ...opt(ORIGINAL, m.originalTransactionIDReference),
        ...el(VALIDITY_START, m.validityStart),
        ...gsrn(MP, m.meteringPointId),
      ]),
    ),
  ];
}
