export * from './projection/projection';
export * from './projection/projection-state';
export * from './projection/rebuild';
export * from './customers/customers.projection';
export * from './customers/customer.entity';
import { customersProjection } from './customers/customers.projection';
export const allProjections = [customersProjection];
export * from './projection/projection-runner';
