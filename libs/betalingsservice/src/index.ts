export { RECORD_LENGTH, BetalingsserviceFormatError, formatRecord, parseRecord, type Layout, type Field } from './fixed-width';
export * as layouts from './layouts';
export { readDelivery, type DeliveryHeader, type DeliveryItem, type Lines, type Totals } from './delivery';
export {
  writeCollectionDelivery,
  readCollectionDelivery,
  SECTION_BETALINGSSERVICE,
  TRANSACTION_COLLECTION,
  type Creditor,
  type Collection,
  type CollectionDeliveryRecord,
} from './collection-delivery-0601';
export {
  readPaymentInformation,
  writePaymentInformation,
  PAYMENT_OUTCOMES,
  SECTION_AUTOMATIC_PAYMENTS,
  type PaymentInformation,
  type PaymentOutcome,
} from './payment-information-0602';
export {
  readAgreementInformation,
  writeAgreementInformation,
  AGREEMENT_EVENTS,
  SECTION_ACTIVE_AGREEMENTS,
  SECTION_AGREEMENT_CHANGES,
  type AgreementInformation,
  type AgreementChange,
} from './agreement-information-0603';
export { DEFAULT_COLLECTION_CYCLE, deliveryDeadline, collectionDayIn, nextCollectionDate, type CollectionCycle } from './collection-cycle';
export { betalingsserviceCustomerNumber, CUSTOMER_NUMBER, AGREEMENT_NUMBER } from './customer-number';
export { toDeliveryBytes } from './encoding';
