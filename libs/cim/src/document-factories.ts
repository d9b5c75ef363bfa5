import type {
  CimHeader,
  MarketResponse,
  NotifyValidatedMeasureData,
  RequestCancelChangeOfSupplier,
  RequestChangeOfSupplier,
  RequestEndOfSupply,
  RequestReallocateChangeOfSupplier,
} from './index';

/** Test factories for the documents we send; fixtures cover the ones we receive. */
export const OUR_GLN = '5799999933318';
export const DATAHUB_GLN = '5790001330552';
export const GSRN = '571313180400000025';

export function outgoingHeader<P extends string>(processType: P, mRID = 'our-request-0001'): CimHeader<P> {
  return {
    mRID,
    processType,
    businessSectorType: '23',
    sender: { id: { codingScheme: 'A10', value: OUR_GLN }, role: 'DDQ' },
    receiver: { id: { codingScheme: 'A10', value: DATAHUB_GLN }, role: 'DDZ' },
    createdDateTime: '2026-03-02T09:30:47Z',
  };
}

export function changeOfSupplier(processType: 'E03' | 'E65'): RequestChangeOfSupplier {
  return {
    kind: 'RequestChangeOfSupplier',
    header: outgoingHeader(processType),
    records: [
      {
        mRID: 'our-transaction-0001',
        meteringPointId: GSRN,
        energySupplier: { codingScheme: 'A10', value: OUR_GLN },
        customerId: { codingScheme: 'VAT', value: '12345674' },
        customerName: 'Hansen & Co <ApS>',
        start: '2026-03-31T22:00:00Z',
      },
    ],
  };
}

export function cancellation(processType: 'E03' | 'E20'): RequestCancelChangeOfSupplier {
  return {
    kind: 'RequestCancelChangeOfSupplier',
    header: outgoingHeader(processType, 'our-cancel-0001'),
    records: [{ mRID: 'our-cancel-tx-0001', originalTransactionIDReference: 'our-transaction-0001', meteringPointId: GSRN, energySupplier: { codingScheme: 'A10', value: OUR_GLN } }],
  };
}

export function endOfSupply(processType: 'E20' | 'E66'): RequestEndOfSupply {
  return {
    kind: 'RequestEndOfSupply',
    header: outgoingHeader(processType, 'our-eos-0001'),
    records: [{ mRID: 'our-eos-tx-0001', meteringPointId: GSRN, energySupplier: { codingScheme: 'A10', value: OUR_GLN }, start: '2026-05-31T22:00:00Z' }],
  };
}

export function incorrectSwitch(): RequestReallocateChangeOfSupplier {
  return {
    kind: 'RequestReallocateChangeOfSupplier',
    header: outgoingHeader('D07', 'our-brs003-0001'),
    records: [{ mRID: 'our-brs003-tx-0001', originalTransactionIDReference: 'their-switch-0001', meteringPointId: GSRN, energySupplier: { codingScheme: 'A10', value: OUR_GLN }, start: '2026-02-28T23:00:00Z' }],
  };
}

export function confirmation(): MarketResponse {
  return {
    kind: 'MarketResponse',
    documentName: 'ConfirmRequestEndOfSupply',
    header: { ...outgoingHeader('E20', 'dh-confirm-0001'), sender: { id: { codingScheme: 'A10', value: DATAHUB_GLN }, role: 'DDZ' }, receiver: { id: { codingScheme: 'A10', value: OUR_GLN }, role: 'DDQ' } },
    reasonCode: 'A01',
    records: [{ mRID: 'dh-confirm-tx-0001', originalTransactionIDReference: 'our-eos-tx-0001', meteringPointId: GSRN, start: '2026-05-31T22:00:00Z', reasons: [] }],
  };
}

/** A PT15M RSM-012 for one metering point over [start, end) with `count` points of "0.250" (every 7th estimated). */
export function quarterHourSeries(start: string, end: string, count: number): NotifyValidatedMeasureData {
  return {
    kind: 'NotifyValidatedMeasureData',
    header: { ...outgoingHeader('E23', 'rsm012-pt15m'), sender: { id: { codingScheme: 'A10', value: DATAHUB_GLN }, role: 'DGL' }, receiver: { id: { codingScheme: 'A10', value: OUR_GLN }, role: 'DDQ' } },
    series: [
      {
        mRID: 'series-1',
        meteringPointId: GSRN,
        meteringPointType: 'E17',
        registrationDateTime: '2026-03-30T05:00:00Z',
        product: '8716867000030',
        unit: 'KWH',
        period: {
          resolution: 'PT15M',
          timeInterval: { start, end },
          points: Array.from({ length: count }, (_, i) => (i % 7 === 6 ? { position: i + 1, quantity: '0.250', quality: 'A03' as const } : { position: i + 1, quantity: '0.250' })),
        },
      },
    ],
  };
}
