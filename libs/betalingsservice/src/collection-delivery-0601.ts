import { BetalingsserviceFormatError, amountOf, oreAndSign } from './fixed-width';
import { DeliveryWriter, readDelivery, signedOre, type DeliveryHeader, type DeliveryItem, type Lines, type RecordRule } from './delivery';
import { ADVICE_TEXT, COLLECTION, COLLECTION_SECTION_START, DEBTOR_NAME_ADDRESS } from './layouts';

/** The creditor's set-up at Betalingsservice, printed in BS002/BS012 of every delivery. */
export interface Creditor {
  /** Data supplier number (CVR/SE), 8 digits. */
  dataSupplierNumber: string;
  /** The creditor's PBS number, 8 digits. */
  pbsNumber: string;
  /** Debtor group, 5 digits. */
  debtorGroup: string;
  /** Reg. no. and account the collected money is transferred to. */
  registrationNumber: string;
  accountNumber: string;
  /** The creditor's own name of the delivery (15 characters) and the headline of the debtor's advice (60). */
  dataSupplierIdentification: string;
  headline: string;
}

/** One payment to collect: the debtor's agreement, the due date, the amount, our reference. */
export interface Collection {
  /** The debtor's customer number at the creditor (kundenr), up to 15 digits. */
  customerNumber: string;
  /** Betalingsservice's agreement number (aftalenr), up to 9 digits. */
  agreementNumber: string;
  dueDate: string;
  /** DKK with 2 decimals, > 0. */
  amount: string;
  /** Our reference (up to 9 digits), returned in 0602 with the outcome. */
  reference: string;
  /** Advice text lines on the debtor's overview (BS052), at most 60 characters each. */
  adviceText?: readonly string[];
}

/** Section 0112: Betalingsservice collections with long advice text. */
export const SECTION_BETALINGSSERVICE = '0112';
/** Transaction code of a Betalingsservice collection. */
export const TRANSACTION_COLLECTION = '0280';

/**
 * Writes a 0601 delivery (collection data) as records, one string per line without line end, from
 * collections read one at a time (memory does not grow with the number of collections). Counts and
 * the net amount in BS092/BS992 are computed as it goes.
 */
export async function* writeCollectionDelivery(
  creditor: Creditor,
  delivery: { deliveryId: string; createdOn: string },
  collections: AsyncIterable<Collection> | Iterable<Collection>,
): AsyncGenerator<string> {
  const w = new DeliveryWriter({ dataSupplierNumber: creditor.dataSupplierNumber, subsystem: 'BS1', deliveryType: '0601', deliveryId: delivery.deliveryId, createdOn: delivery.createdOn });
  yield w.start();
  const common = { pbsNumber: creditor.pbsNumber, debtorGroup: creditor.debtorGroup };
  yield w.startSection(COLLECTION_SECTION_START, { ...common, section: SECTION_BETALINGSSERVICE, ...creditor, createdOn: delivery.createdOn });
  for await (const c of collections) {
    const { ore, signCode } = oreAndSign(c.amount);
    if (signCode !== '1') throw new BetalingsserviceFormatError(`collection ${c.reference}: the amount must be positive, got ${c.amount}`);
    const debtor = { ...common, customerNumber: c.customerNumber, agreementNumber: c.agreementNumber };
    yield w.record(COLLECTION, { ...debtor, transactionCode: TRANSACTION_COLLECTION, dueDate: c.dueDate, signCode, amountOre: ore, reference: c.reference }, '042', ore);
    let n = 0;
    for (const t of c.adviceText ?? []) yield w.record(ADVICE_TEXT, { ...debtor, recordNumber: ++n, text: t }, '052');
  }
  yield w.endSection();
  yield w.end();
}

export type CollectionDeliveryRecord =
  | ({ kind: 'collection' } & Collection & { transactionCode: string })
  | { kind: 'advice-text'; customerNumber: string; agreementNumber: string; text: string }
  | { kind: 'debtor'; customerNumber: string; agreementNumber: string; recordNumber: number; line: string };

const trimNumber = (s: string | null): string => (s ?? '').replace(/^0+(?=\d)/, '');

const collectionRules: Record<string, RecordRule<CollectionDeliveryRecord>> = {
  'BS042/0280': {
    layout: COLLECTION,
    counts: '042',
    amountOre: (f) => signedOre(f),
    read: (f, line) => {
      if (f.dueDate === null) throw new BetalingsserviceFormatError('BS042/0280: a collection needs a due date', line);
      return { kind: 'collection', transactionCode: f.transactionCode!, customerNumber: trimNumber(f.customerNumber), agreementNumber: trimNumber(f.agreementNumber), dueDate: f.dueDate, amount: amountOf(f.amountOre!, f.signCode!, 'amount'), reference: trimNumber(f.reference) };
    },
  },
  'BS052/0241': {
    layout: ADVICE_TEXT,
    counts: '052',
    read: (f) => ({ kind: 'advice-text', customerNumber: trimNumber(f.customerNumber), agreementNumber: trimNumber(f.agreementNumber), text: f.text ?? '' }),
  },
  'BS022/0240': {
    layout: DEBTOR_NAME_ADDRESS,
    counts: '022',
    read: (f) => ({ kind: 'debtor', customerNumber: trimNumber(f.customerNumber), agreementNumber: trimNumber(f.agreementNumber), recordNumber: Number(f.recordNumber), line: f.line ?? '' }),
  },
};

/** Reads a 0601 delivery (what Betalingsservice does with ours; the simulator uses it). */
export function readCollectionDelivery(lines: Lines): AsyncGenerator<DeliveryItem<CollectionDeliveryRecord>, unknown> {
  return readDelivery(lines, { deliveryType: '0601', sections: { [SECTION_BETALINGSSERVICE]: { start: COLLECTION_SECTION_START, records: collectionRules } } });
}

export type { DeliveryHeader };
