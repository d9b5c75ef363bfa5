import { blanks, date6, date8, layout, literal, num, text, zeros, type Layout } from './fixed-width';

/**
 * Record layouts of the Betalingsservice data deliveries we exchange, as data. Sources (see README):
 * Nets' "Vejledning for dataleverandører" for delivery 0601 (collection data, section 0112),
 * 0602 (payment information, section 0211) and 0603 (agreement information, sections 0210/0212),
 * with field positions as read and written by a data supplier's client in production
 * (hafsjold/snvrepos, Medlem3060 `clsPbs601.cs`, `clsPbs602.cs`, `clsPbs603.cs`).
 * Every record is 128 characters; `layout()` checks the widths add up.
 */

/** BS002: delivery start. Data supplier no. (CVR/SE), subsystem (BS1), delivery type, our delivery id. */
export const DELIVERY_START: Layout = layout('BS002', [
  literal('recordType', 'BS002'),
  num('dataSupplierNumber', 8),
  text('subsystem', 3),
  num('deliveryType', 4),
  num('deliveryId', 10),
  blanks(19),
  date6('createdOn'),
  blanks(73),
]);

/** BS012 section start of 0601 section 0112 (Betalingsservice with long advice text). */
export const COLLECTION_SECTION_START: Layout = layout('BS012/0112', [
  literal('recordType', 'BS012'),
  num('pbsNumber', 8),
  num('section', 4),
  blanks(5),
  num('debtorGroup', 5),
  text('dataSupplierIdentification', 15),
  blanks(4),
  date8('createdOn'),
  num('registrationNumber', 4),
  num('accountNumber', 10),
  text('headline', 60),
]);

/** BS022 debtor name and address (transaction code 0240): record no. 1 name, 2-3 address lines. */
export const DEBTOR_NAME_ADDRESS: Layout = layout('BS022/0240', [
  literal('recordType', 'BS022'),
  num('pbsNumber', 8),
  literal('transactionCode', '0240'),
  num('recordNumber', 5),
  num('debtorGroup', 5),
  num('customerNumber', 15),
  num('agreementNumber', 9),
  text('line', 35),
  blanks(42),
]);

/** BS022 record no. 9: postcode and country. */
export const DEBTOR_POSTCODE: Layout = layout('BS022/0240/9', [
  literal('recordType', 'BS022'),
  num('pbsNumber', 8),
  literal('transactionCode', '0240'),
  literal('recordNumber', '00009'),
  num('debtorGroup', 5),
  num('customerNumber', 15),
  num('agreementNumber', 9),
  blanks(15),
  text('postcode', 4),
  text('countryCode', 3),
  blanks(55),
]);

/**
 * BS042 collection (transaction code 0280) in section 0112: due date DDMMYYYY, sign code
 * (1 collect, 2 pay out, 0 zero), amount in øre, our reference (9 digits) that 0602 returns.
 */
export const COLLECTION: Layout = layout('BS042/0280', [
  literal('recordType', 'BS042'),
  num('pbsNumber', 8),
  num('transactionCode', 4),
  zeros(5),
  num('debtorGroup', 5),
  num('customerNumber', 15),
  num('agreementNumber', 9),
  date8('dueDate'),
  num('signCode', 1),
  num('amountOre', 13),
  num('reference', 9),
  blanks(21),
  zeros(2),
  blanks(23),
]);

/** BS052 advice text line (transaction code 0241) shown on the debtor's Betalingsservice overview. */
export const ADVICE_TEXT: Layout = layout('BS052/0241', [
  literal('recordType', 'BS052'),
  num('pbsNumber', 8),
  literal('transactionCode', '0241'),
  num('recordNumber', 5),
  num('debtorGroup', 5),
  num('customerNumber', 15),
  num('agreementNumber', 9),
  blanks(1),
  text('text', 60),
  blanks(16),
]);

/** BS092 section end: counts and the net amount of the section's BS042 records. */
export const SECTION_END: Layout = layout('BS092', [
  literal('recordType', 'BS092'),
  num('pbsNumber', 8),
  num('section', 4),
  zeros(5),
  num('debtorGroup', 5),
  blanks(4),
  num('count042', 11),
  num('amountOre', 15),
  num('count052', 11),
  blanks(15),
  num('count022', 11),
  blanks(34),
]);

/** BS992 delivery end: sections, counts and the net amount of the whole delivery. */
export const DELIVERY_END: Layout = layout('BS992', [
  literal('recordType', 'BS992'),
  num('dataSupplierNumber', 8),
  text('subsystem', 3),
  num('deliveryType', 4),
  num('sections', 11),
  num('count042', 11),
  num('amountOre', 15),
  num('count052', 11),
  zeros(15),
  num('count022', 11),
  zeros(34),
]);

/** BS012 section start of the information deliveries (0602 section 0211, 0603 sections 0210/0212). */
export const INFORMATION_SECTION_START: Layout = layout('BS012', [
  literal('recordType', 'BS012'),
  num('pbsNumber', 8),
  num('section', 4),
  blanks(5),
  num('debtorGroup', 5),
  blanks(101),
]);

/**
 * BS042 in 0602 section 0211 (automatic payments): 0236 completed, 0237 rejected, 0238 cancelled,
 * 0239 charged back. Due date and payment/booking dates are DDMMYY.
 */
export const PAYMENT_INFORMATION: Layout = layout('BS042/0211', [
  literal('recordType', 'BS042'),
  num('pbsNumber', 8),
  num('transactionCode', 4),
  num('recordNumber', 3),
  num('debtorGroup', 5),
  num('customerNumber', 15),
  num('agreementNumber', 9),
  date6('dueDate'),
  num('signCode', 1),
  num('amountOre', 13),
  num('reference', 9),
  blanks(25),
  date6('paymentDate'),
  date6('bookingDate'),
  num('paidAmountOre', 13),
]);

/**
 * BS042 in 0603 (agreement information): section 0210 0230 active; section 0212 0231 registered,
 * 0232 cancelled by the debtor's bank, 0233 cancelled by the creditor, 0234 cancelled by
 * Betalingsservice. Start and end dates DDMMYY.
 */
export const AGREEMENT_INFORMATION: Layout = layout('BS042/0603', [
  literal('recordType', 'BS042'),
  num('pbsNumber', 8),
  num('transactionCode', 4),
  num('recordNumber', 3),
  num('debtorGroup', 5),
  num('customerNumber', 15),
  num('agreementNumber', 9),
  date6('startDate'),
  date6('endDate'),
  blanks(67),
]);
