import type { EventStore } from '@dh/event-store';

/** The rebuild benchmark's baseline: the whole log read with `readAll` in pages of `pageSize`, the events parsed and nothing done with them; returns how many. */
export async function rawRead(store: Pick<EventStore, 'readAll'>, pageSize: number): Promise<number> {
  let after: string | null = null;
  let n = 0;
  for (;;) {
    const events = await store.readAll({ after, maxCount: pageSize });
    n += events.length;
    if (events.length < pageSize) return n;
    after = events[events.length - 1].checkpoint;
  }
}
