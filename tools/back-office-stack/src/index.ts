export { BACK_OFFICE_SERVICES, startBackOfficeStack } from './stack';
export type { BackOfficeStack } from './stack';
export { correctSpotPrice, GRID_AREA, N1_GLN, OCTOBER, seedDisputedCustomer, seedRates, settleOctober } from './world';
export type { DisputedCustomer } from './world';
