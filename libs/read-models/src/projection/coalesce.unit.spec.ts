import type { PoolClient, QueryResult } from 'pg';
import { applyInRounds } from './coalesce';
import { copyField } from './copy';
import type { ProjectedEvent } from './projection';
import { projectedEvent } from '../testing/projected-event';

/** A client that records what it is sent. */
function recordingClient(): { client: PoolClient; sent: { text: string; values: unknown[] }[] } {
  const sent: { text: string; values: unknown[] }[] = [];
  const query = (text: string, values: unknown[] = []): Promise<Pick<QueryResult, 'rows' | 'rowCount'>> => {
    sent.push({ text, values });
    return Promise.resolve({ rows: [], rowCount: 0 });
  };
  const client = new Proxy({} as PoolClient, { get: (_target, property) => (property === 'query' ? query : undefined) });
  return { client, sent };
}

const event = projectedEvent;

/** Inserts a row per `Created`, updates it per `Renamed`. */
async function apply(e: ProjectedEvent, client: PoolClient): Promise<void> {
  if (e.type === 'Created') {
    await client.query(`INSERT INTO t.items (id, name, status) VALUES ($1, $2, 'new (1)') ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name`, [e.data.id, e.data.name]);
  } else if (e.type === 'Renamed') {
    await client.query(`UPDATE t.items SET name = $2 WHERE id = $1`, [e.data.id, e.data.name]);
  }
}
const keysOf = (e: ProjectedEvent): string[] | null => (e.type === 'Ignored' ? null : [String(e.data.id)]);

describe('applyInRounds', () => {
  it('runs the inserts of distinct keys as one multi-row statement, parameters renumbered outside literals', async () => {
    const { client, sent } = recordingClient();
    await applyInRounds(apply, [event('Created', { id: 'a', name: 'A' }, 1), event('Ignored', { id: 'a' }, 2), event('Created', { id: 'b', name: 'B' }, 3)], client, keysOf);
    expect(sent).toEqual([
      {
        text: `INSERT INTO t.items (id, name, status) VALUES ($1, $2, 'new (1)'), ($3, $4, 'new (1)') ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name`,
        values: ['a', 'A', 'b', 'B'],
      },
    ]);
  });

  it('keeps the order of the events of one key (a later event of a key goes into a later round)', async () => {
    const { client, sent } = recordingClient();
    await applyInRounds(
      apply,
      [event('Created', { id: 'a', name: 'A' }, 1), event('Renamed', { id: 'a', name: 'A2' }, 2), event('Created', { id: 'b', name: 'B' }, 3), event('Renamed', { id: 'b', name: 'B2' }, 4)],
      client,
      keysOf,
    );
    expect(sent.map((s) => s.values)).toEqual([['a', 'A', 'b', 'B'], ['a', 'A2'], ['b', 'B2']]);
    expect(sent[1].text).toBe('UPDATE t.items SET name = $2 WHERE id = $1');
  });

  it('puts an event without keys in a round of its own, after everything before it and before everything after it', async () => {
    const { client, sent } = recordingClient();
    const keyless = (e: ProjectedEvent): string[] | null => (e.data.id === undefined ? [] : [String(e.data.id)]);
    await applyInRounds(apply, [event('Created', { id: 'a', name: 'A' }, 1), event('Created', { name: 'X' }, 2), event('Created', { id: 'b', name: 'B' }, 3)], client, keyless);
    expect(sent.map((s) => s.values)).toEqual([['a', 'A'], [undefined, 'X'], ['b', 'B']]);
  });
  it('applies an event its key function does not know in order, in a round of its own, when apply writes for it', async () => {
    const { client, sent } = recordingClient();
    const createdOnly = (e: ProjectedEvent): string[] | null => (e.type === 'Created' ? [String(e.data.id)] : null);
    await applyInRounds(
      apply,
      [event('Created', { id: 'a', name: 'A' }, 1), event('Renamed', { id: 'a', name: 'A2' }, 2), event('Ignored', { id: 'c' }, 3), event('Created', { id: 'b', name: 'B' }, 4)],
      client,
      createdOnly,
    );
    expect(sent.map((s) => s.values)).toEqual([['a', 'A'], ['a', 'A2'], ['b', 'B']]);
  });
});

describe('copyField', () => {
  it('escapes what COPY text format would read as a delimiter, a row end or an escape, and writes null as \\N', () => {
    expect(copyField('a\tb\nc\\d\re')).toBe('a\\tb\\nc\\\\d\\re');
    expect(copyField(null)).toBe('\\N');
    expect(copyField('plain')).toBe('plain');
    expect(copyField(12)).toBe('12');
  });
});
