import { main } from '@dh/platform';
import { portfolioService } from './portfolio.service-definition';

main(portfolioService);
