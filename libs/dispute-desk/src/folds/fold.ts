import type { JsonValue, RecordedEvent } from '@dh/event-store';

/** A stream's state after some of its events, as plain JSON for a support view. */
export type Fold = (events: readonly RecordedEvent[]) => JsonValue;

/** Plain JSON of a domain state: Maps become objects, undefined fields disappear. */
export function toJson(value: unknown): JsonValue {
  return JSON.parse(
    JSON.stringify(value, (_key, v: unknown) => {
      if (v instanceof Map) return Object.fromEntries(v);
      if (typeof v === 'bigint') return v.toString();
      return v;
    }) ?? 'null',
  ) as JsonValue;
}

/** Folds a domain `evolve` over the events it knows; others (written by another context) are skipped. */
export function domainFold<S, E extends { type: string }>(initial: () => S, evolve: (state: S, event: E) => S, known: readonly string[]): Fold {
  const types = new Set(known);
  return (events) => toJson(events.filter((e) => types.has(e.type)).reduce((state, e) => evolve(state, { type: e.type, data: e.data } as unknown as E), initial()));
}

/** For streams without a domain fold: the latest data of each event type, and how often it occurred. */
export const latestByType: Fold = (events) => {
  const byType: Record<string, { count: number; latest: JsonValue }> = {};
  for (const e of events) byType[e.type] = { count: (byType[e.type]?.count ?? 0) + 1, latest: e.data };
  return toJson({ events: events.length, byType });
};
