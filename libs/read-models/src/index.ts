export * from './projection/projection';
export * from './projection/projection-state';
export * from './projection/rebuild';
export * from './customers/customers.projection';
export * from './customers/customer.entity';
export * from './settlement';
import { customersProjection } from './customers/customers.projection';
import { meteringPointsProjection } from './portfolio/metering-points.projection';
import { processesProjection } from './portfolio/processes.projection';
import { settlementProjection } from './settlement/settlement.projection';
export * from './portfolio/metering-points.projection';
export * from './portfolio/processes.projection';
export * from './portfolio/portfolio.entities';
/** Metering points before customers: the customers projection reads supply status when a customer is offboarded. */
export const allProjections = [meteringPointsProjection, customersProjection, processesProjection, settlementProjection];
export * from './projection/projection-runner';
