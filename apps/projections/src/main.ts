import { main } from '@dh/platform';
import { projectionsService } from './projections.service-definition';

main(projectionsService);
