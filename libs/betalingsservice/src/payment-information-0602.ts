import { BetalingsserviceFormatError, amountOf, oreAndSign } from './fixed-width';
import { DeliveryWriter, readDelivery, signedOre, type DeliveryItem, type Lines } from './delivery';
import { INFORMATION_SECTION_START, PAYMENT_INFORMATION } from './layouts';

/** Section 0211 of 0602: information on automatic (Betalingsservice) payments. */
export const SECTION_AUTOMATIC_PAYMENTS = '0211';

/** 0602 transaction codes of section 0211 and what they mean for the collection. */
export const PAYMENT_OUTCOMES = { '0236': 'completed', '0237': 'rejected', '0238': 'cancelled', '0239': 'charged-back' } as const;
export type PaymentOutcome = (typeof PAYMENT_OUTCOMES)[keyof typeof PAYMENT_OUTCOMES];
const CODE_OF: Record<PaymentOutcome, string> = { completed: '0236', rejected: '0237', cancelled: '0238', 'charged-back': '0239' };

/** One record of 0602 section 0211: the outcome of one collection we delivered in 0601. */
export interface PaymentInformation {
  outcome: PaymentOutcome;
  transactionCode: string;
  customerNumber: string;
  agreementNumber: string;
  dueDate: string | null;
  /** The amount we asked for (DKK). */
  amount: string;
  /** Our reference from the 0601 record. */
  reference: string;
  /** When the debtor's bank paid (completed, charged back), else null. */
  paymentDate: string | null;
  bookingDate: string | null;
  /** The amount actually paid (0.00 when rejected or cancelled). */
  paidAmount: string;
}

const trimNumber = (s: string | null): string => (s ?? '').replace(/^0+(?=\d)/, '');

/** Reads a 0602 delivery; see `readDelivery` for the structural checks. */
export function readPaymentInformation(lines: Lines): AsyncGenerator<DeliveryItem<PaymentInformation>, unknown> {
  return readDelivery<PaymentInformation>(lines, {
    deliveryType: '0602',
    sections: {
      [SECTION_AUTOMATIC_PAYMENTS]: {
        start: INFORMATION_SECTION_START,
        records: Object.fromEntries(
          Object.entries(PAYMENT_OUTCOMES).map(([code, outcome]) => [
            `BS042/${code}`,
            {
              layout: PAYMENT_INFORMATION,
              counts: '042' as const,
              amountOre: (f: Record<string, string | null>) => signedOre(f),
              read: (f: Record<string, string | null>, line: number): PaymentInformation => {
                const paid = amountOf(f.paidAmountOre!, f.signCode!, 'paid amount');
                if ((outcome === 'rejected' || outcome === 'cancelled') && paid !== '0.00') throw new BetalingsserviceFormatError(`BS042/${code} (${outcome}) with a paid amount of ${paid}`, line);
                return {
                  outcome,
                  transactionCode: code,
                  customerNumber: trimNumber(f.customerNumber),
                  agreementNumber: trimNumber(f.agreementNumber),
                  dueDate: f.dueDate ?? null,
                  amount: amountOf(f.amountOre!, f.signCode!, 'amount'),
                  reference: trimNumber(f.reference),
                  paymentDate: f.paymentDate ?? null,
                  bookingDate: f.bookingDate ?? null,
                  paidAmount: paid,
                };
              },
            },
          ]),
        ),
      },
    },
  });
}

/** Writes a 0602 delivery (Betalingsservice's side; the simulator uses it, tests use it for samples). */
export function* writePaymentInformation(
  header: { dataSupplierNumber: string; deliveryId: string; createdOn: string; pbsNumber: string; debtorGroup: string },
  records: Iterable<Omit<PaymentInformation, 'transactionCode'>>,
): Generator<string> {
  const w = new DeliveryWriter({ dataSupplierNumber: header.dataSupplierNumber, subsystem: 'BS1', deliveryType: '0602', deliveryId: header.deliveryId, createdOn: header.createdOn });
  yield w.start();
  const common = { pbsNumber: header.pbsNumber, debtorGroup: header.debtorGroup };
  yield w.startSection(INFORMATION_SECTION_START, { ...common, section: SECTION_AUTOMATIC_PAYMENTS });
  let n = 0;
  for (const r of records) {
    const { ore, signCode } = oreAndSign(r.amount);
    const paid = oreAndSign(r.paidAmount);
    yield w.record(
      PAYMENT_INFORMATION,
      {
        ...common,
        transactionCode: CODE_OF[r.outcome],
        recordNumber: ++n % 1000,
        customerNumber: r.customerNumber,
        agreementNumber: r.agreementNumber,
        dueDate: r.dueDate,
        signCode,
        amountOre: ore,
        reference: r.reference,
        paymentDate: r.paymentDate,
        bookingDate: r.bookingDate,
        paidAmountOre: paid.ore,
      },
      '042',
      signCode === '2' ? -ore : ore,
    );
  }
  yield w.endSection();
  yield w.end();
}
