import type { CustomerActivated, CustomerOffboarded, CustomerUpdated } from './customer/customer.events';
import type { ProcessStatusChanged } from './process/process.events';

export type { CustomerActivatedData, CustomerOffboardedData, CustomerUpdatedData } from './customer/customer.events';
export type { ProcessStatusChangedData } from './process/process.events';

/** The portfolio events that are part of the public contract (routing keys in `@dh/messaging`). */
export type PortfolioPublicEvent = CustomerActivated | CustomerOffboarded | CustomerUpdated | ProcessStatusChanged;

export const PORTFOLIO_PUBLIC_EVENT_TYPES: readonly PortfolioPublicEvent['type'][] = ['CustomerActivated', 'CustomerOffboarded', 'CustomerUpdated', 'ProcessStatusChanged'];
