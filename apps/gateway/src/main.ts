import { main } from '@dh/platform';
import { gatewayService } from './gateway.service-definition';

main(gatewayService);
