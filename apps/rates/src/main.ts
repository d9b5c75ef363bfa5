import { main } from '@dh/platform';
import { ratesService } from './rates.service-definition';

main(ratesService);
