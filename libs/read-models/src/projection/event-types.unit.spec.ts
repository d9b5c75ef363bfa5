import type { PoolClient } from 'pg';
import { allProjections } from '../index';
import type { Projection, ProjectedEvent } from './projection';
import { applyEvents, applyGuarded } from './projection-state';
import { projectedEvent } from '../testing/projected-event';

const event = (type: string, n: number): ProjectedEvent => projectedEvent(type, { n }, n);

/** A projection that records what it is given. */
function recording(eventTypes?: ReadonlySet<string>): { projection: Projection; applied: string[]; batches: string[][] } {
  const applied: string[] = [];
  const batches: string[][] = [];
  const projection: Projection = {
    name: 'recording',
    bindings: [],
    tables: [],
    eventTypes,
    migrate: () => Promise.resolve(),
    apply: (e) => {
      applied.push(e.eventId);
      return Promise.resolve();
    },
    applyBatch: (events) => {
      batches.push(events.map((e) => e.eventId));
      return Promise.resolve();
    },
  };
  return { projection, applied, batches };
}

/** A client whose state row is live at no checkpoint; records the statements' texts. */
function stateClient(): { client: PoolClient; statements: string[] } {
  const statements: string[] = [];
  const query = (text: string) => {
    statements.push(text);
    return Promise.resolve({ rows: [{ status: 'live', checkpoint: null }], rowCount: 1 });
  };
  return { client: { query } as unknown as PoolClient, statements };
}

describe('Projection.eventTypes', () => {
  it('applyEvents gives a projection only the events of its types, in order, and nothing when none are', async () => {
    const { projection, applied, batches } = recording(new Set(['A', 'C']));
    const { client } = stateClient();
    await applyEvents(projection, [event('A', 1), event('B', 2), event('C', 3), event('B', 4), event('A', 5)], client);
    expect(batches).toEqual([['e1', 'e3', 'e5']]);
    await applyEvents(projection, [event('B', 6), event('C', 7)], client);
    expect(applied).toEqual(['e7']);
    await applyEvents(projection, [event('B', 8)], client);
    expect(batches).toHaveLength(1);
    expect(applied).toEqual(['e7']);
  });

  it('applyEvents gives a projection without eventTypes every event', async () => {
    const { projection, batches } = recording();
    await applyEvents(projection, [event('A', 1), event('B', 2)], stateClient().client);
    expect(batches).toEqual([['e1', 'e2']]);
  });

  it('applyGuarded skips apply for another type and still moves the checkpoint past it', async () => {
    const { projection, applied } = recording(new Set(['A']));
    const { client, statements } = stateClient();
    await expect(applyGuarded(projection, event('B', 1), client)).resolves.toBe('applied');
    expect(applied).toEqual([]);
    expect(statements.filter((s) => s.startsWith('UPDATE'))).toHaveLength(1);
    await applyGuarded(projection, event('A', 2), client);
    expect(applied).toEqual(['e2']);
  });

  // The guard of the list: an event type named in `apply` or `applyBatch` (a quoted PascalCase word) that a projection
  // does not list would never reach it.
  it.each(allProjections.filter((p) => p.eventTypes).map((p) => [p.name, p] as const))('%s lists every event type its apply and applyBatch name', (_name, projection) => {
    const source = `${projection.apply.toString()}\n${projection.applyBatch?.toString() ?? ''}`;
    const named = [...source.matchAll(/'([A-Z][A-Za-z]+)'/g)].map((m) => m[1]);
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((type) => !projection.eventTypes?.has(type))).toEqual([]);
  });
});
