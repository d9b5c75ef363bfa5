import { describeEventStoreContract } from '../testing';
import { InMemoryEventStore } from './in-memory-event-store';

describeEventStoreContract('in-memory', async () => ({ store: new InMemoryEventStore() }));

describe('InMemoryEventStore', () => {
  it('refuses to work once closed', async () => {
    const store = new InMemoryEventStore();
    await store.close();
    await expect(store.ping()).rejects.toThrow(/closed/);
  });
});
