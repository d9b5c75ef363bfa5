export { describeEventStoreContract, newEvent } from './event-store.contract';
export type { EventStoreCapabilities, EventStoreUnderTest } from './event-store.contract';
