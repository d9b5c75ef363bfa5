import { EventSchemas, type EventUpcaster } from '@dh/event-store';

/**
 * `CustomerCreated` version 1 carried `identityIndex`, a keyed hash of the CPR/CVR. An event outlives
 * an erasure, and ten million CPR numbers are hashed in minutes, so version 2 leaves it out (the vault
 * keeps the index and deletes it on erasure) and readers of version 1 events never see it.
 */
export const customerCreatedV1ToV2: EventUpcaster = {
  eventType: 'CustomerCreated',
  fromVersion: 1,
  upcast: (data) => {
    const { identityIndex: _dropped, ...rest } = data;
    return rest;
  },
};

/** Every change of a portfolio event's shape since version 1. */
export const PORTFOLIO_EVENT_SCHEMAS = new EventSchemas([customerCreatedV1ToV2]);
