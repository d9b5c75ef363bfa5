import { DeliveryWriter, readDelivery, type DeliveryItem, type Lines, type RecordRule } from './delivery';
import { AGREEMENT_INFORMATION, INFORMATION_SECTION_START } from './layouts';

/** Section 0210: active agreements (a full list); section 0212: agreements registered and cancelled since the last delivery. */
export const SECTION_ACTIVE_AGREEMENTS = '0210';
export const SECTION_AGREEMENT_CHANGES = '0212';

export const AGREEMENT_EVENTS = {
  '0230': { section: SECTION_ACTIVE_AGREEMENTS, change: 'active' },
  '0231': { section: SECTION_AGREEMENT_CHANGES, change: 'registered' },
  '0232': { section: SECTION_AGREEMENT_CHANGES, change: 'cancelled-by-bank' },
  '0233': { section: SECTION_AGREEMENT_CHANGES, change: 'cancelled-by-creditor' },
  '0234': { section: SECTION_AGREEMENT_CHANGES, change: 'cancelled-by-betalingsservice' },
} as const;
export type AgreementChange = (typeof AGREEMENT_EVENTS)[keyof typeof AGREEMENT_EVENTS]['change'];

export interface AgreementInformation {
  change: AgreementChange;
  transactionCode: string;
  customerNumber: string;
  agreementNumber: string;
  debtorGroup: string;
  startDate: string | null;
  endDate: string | null;
}

const trimNumber = (s: string | null): string => (s ?? '').replace(/^0+(?=\d)/, '');

function rulesOf(section: string): Record<string, RecordRule<AgreementInformation>> {
  const rules: Record<string, RecordRule<AgreementInformation>> = {};
  for (const [code, e] of Object.entries(AGREEMENT_EVENTS)) {
    if (e.section !== section) continue;
    rules[`BS042/${code}`] = {
      layout: AGREEMENT_INFORMATION,
      counts: '042',
      read: (f) => ({
        change: e.change,
        transactionCode: code,
        customerNumber: trimNumber(f.customerNumber),
        agreementNumber: trimNumber(f.agreementNumber),
        debtorGroup: f.debtorGroup!,
        startDate: f.startDate ?? null,
        endDate: f.endDate ?? null,
      }),
    };
  }
  return rules;
}

/** Reads a 0603 delivery (agreement information). */
export function readAgreementInformation(lines: Lines): AsyncGenerator<DeliveryItem<AgreementInformation>, unknown> {
  return readDelivery(lines, {
    deliveryType: '0603',
    sections: {
      [SECTION_ACTIVE_AGREEMENTS]: { start: INFORMATION_SECTION_START, records: rulesOf(SECTION_ACTIVE_AGREEMENTS) },
      [SECTION_AGREEMENT_CHANGES]: { start: INFORMATION_SECTION_START, records: rulesOf(SECTION_AGREEMENT_CHANGES) },
    },
  });
}

const CODE_OF = Object.fromEntries(Object.entries(AGREEMENT_EVENTS).map(([code, e]) => [e.change, code])) as Record<AgreementChange, string>;

/** Writes a 0603 delivery of agreement changes (section 0212; the simulator uses it). */
export function* writeAgreementInformation(
  header: { dataSupplierNumber: string; deliveryId: string; createdOn: string; pbsNumber: string; debtorGroup: string },
  changes: Iterable<Omit<AgreementInformation, 'transactionCode' | 'debtorGroup'>>,
): Generator<string> {
  const w = new DeliveryWriter({ dataSupplierNumber: header.dataSupplierNumber, subsystem: 'BS1', deliveryType: '0603', deliveryId: header.deliveryId, createdOn: header.createdOn });
  yield w.start();
  const common = { pbsNumber: header.pbsNumber, debtorGroup: header.debtorGroup };
  yield w.startSection(INFORMATION_SECTION_START, { ...common, section: SECTION_AGREEMENT_CHANGES });
  let n = 0;
  for (const c of changes) {
    if (c.change === 'active') throw new Error('active agreements belong in section 0210, not in a changes delivery');
    yield w.record(AGREEMENT_INFORMATION, { ...common, transactionCode: CODE_OF[c.change], recordNumber: ++n % 1000, customerNumber: c.customerNumber, agreementNumber: c.agreementNumber, startDate: c.startDate, endDate: c.endDate }, '042');
  }
  yield w.endSection();
  yield w.end();
}
