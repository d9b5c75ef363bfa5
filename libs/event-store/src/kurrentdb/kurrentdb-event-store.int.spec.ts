import { describeEventStoreContract } from '../testing';
import { createKurrentDbEventStore } from './kurrentdb-event-store';

/**
 * No KurrentDB server runs on our machines (no Docker). The contract runs when one is given:
 *   EVENTSTORE_CONNECTION_STRING=kurrentdb://localhost:2113?tls=false npx jest --selectProjects int libs/event-store
 */
const servers = process.env.EVENTSTORE_CONNECTION_STRING ? [process.env.EVENTSTORE_CONNECTION_STRING] : [];

for (const connectionString of servers) {
  describeEventStoreContract(
    'kurrentdb',
    async () => ({ store: await createKurrentDbEventStore({ connectionString }) }),
    // KurrentDB keeps no index of event ids across streams.
    { uniqueEventIdsAcrossStreams: false },
  );
}

describe('createKurrentDbEventStore', () => {
  it('rejects a malformed connection string at once', async () => {
    await expect(createKurrentDbEventStore({ connectionString: 'postgres://localhost:2113' })).rejects.toThrow(/kurrentdb:\/\//);
  });

  it('needs a connection string or a client', async () => {
    await expect(createKurrentDbEventStore({})).rejects.toThrow(/client or a connectionString/);
  });

  it('accepts a well-formed connection string without dialing, and disposes its client on close', async () => {
    const store = await createKurrentDbEventStore({ connectionString: 'kurrentdb://localhost:1?tls=false' });
    await expect(store.close()).resolves.toBeUndefined();
  });
});
