import type { CustomerActivated, CustomerOffboarded } from './customer/customer.events';
import type { ProcessStatusChanged } from './process/process.events';

export type { CustomerActivatedData, CustomerOffboardedData } from './customer/customer.events';
export type { ProcessStatusChangedData } from './process/process.events';

/** The portfolio events that are part of the public contract (routing keys in `@dh/messaging`). */
export type PortfolioPublicEvent = CustomerActivated | CustomerOffboarded | ProcessStatusChanged;

export const PORTFOLIO_PUBLIC_EVENT_TYPES: readonly PortfolioPublicEvent['type'][] = ['CustomerActivated', 'CustomerOffboarded', 'ProcessStatusChanged'];
