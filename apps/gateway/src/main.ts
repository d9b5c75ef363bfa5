// First: V8 settings that must be in place before the application allocates (v8-flags.ts).
import './v8-flags';
import { main } from '@dh/platform';
import { gatewayService } from './gateway.service-definition';

main(gatewayService);
