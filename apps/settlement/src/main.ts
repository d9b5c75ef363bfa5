import { main } from '@dh/platform';
import { settlementService } from './settlement.service-definition';

main(settlementService);
