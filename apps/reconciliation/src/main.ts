import { main } from '@dh/platform';
import { reconciliationService } from './reconciliation.service-definition';

main(reconciliationService);
