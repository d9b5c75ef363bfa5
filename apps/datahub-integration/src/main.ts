import { main } from '@dh/platform';
import { datahubIntegrationService } from './datahub-integration.service-definition';

main(datahubIntegrationService);
