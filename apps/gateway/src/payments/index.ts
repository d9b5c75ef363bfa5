export { PaymentsController } from './payments.controller';
export { PAYMENT_READ_MODEL_ENTITIES } from '@dh/read-models';
export { BetalingsserviceAgreementController } from './betalingsservice-agreement.controller';
