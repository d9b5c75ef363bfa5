import type { EventStore, JsonObject, NewEvent, RecordedEvent } from './event-store.port';

/**
 * Events are immutable, but the shape of an event type's `data` may change. Each change bumps the
 * type's schema version (`metadata.schemaVersion`, carried in the envelope on the bus) and comes with
 * an upcaster from the previous version. Readers only ever see the current shape: stored events are
 * upcast when they are read (streams for deciders, the global log for the relay and rebuilds) and
 * messages that were published before an upgrade are upcast by their consumer. Writers write the
 * current shape and `append` stamps the current version.
 */
export interface EventUpcaster {
  eventType: string;
  /** The version this upcaster reads; it returns `fromVersion + 1`. */
  fromVersion: number;
  upcast(data: JsonObject): JsonObject;
}

interface Versioned {
  type: string;
  data: JsonObject;
  metadata: { schemaVersion: number };
}

export class EventSchemas {
  private readonly chains = new Map<string, EventUpcaster[]>();

  constructor(upcasters: readonly EventUpcaster[] = []) {
    for (const upcaster of upcasters) {
      const chain = this.chains.get(upcaster.eventType) ?? [];
      chain.push(upcaster);
      this.chains.set(upcaster.eventType, chain);
    }
    for (const [type, chain] of this.chains) {
      chain.sort((a, b) => a.fromVersion - b.fromVersion);
      chain.forEach((upcaster, i) => {
        if (upcaster.fromVersion !== i + 1) throw new Error(`Upcasters of ${type} must run from version 1 without gaps; found ${chain.map((u) => u.fromVersion).join(', ')}`);
      });
    }
  }

  /** 1 for a type without upcasters. */
  currentVersion(type: string): number {
    return (this.chains.get(type)?.length ?? 0) + 1;
  }

  /** The event in its type's current shape; an event already current is returned as it is. */
  upcast<E extends Versioned>(event: E): E {
    const chain = this.chains.get(event.type);
    const from = typeof event.metadata.schemaVersion === 'number' ? event.metadata.schemaVersion : 1;
    if (!chain || from >= chain.length + 1) return event;
    let data = event.data;
    for (const upcaster of chain.slice(Math.max(0, from - 1))) data = upcaster.upcast(data);
    return { ...event, data, metadata: { ...event.metadata, schemaVersion: chain.length + 1 } };
  }

  stamp(event: NewEvent): NewEvent {
    const version = this.currentVersion(event.type);
    return event.metadata.schemaVersion === version ? event : { ...event, metadata: { ...event.metadata, schemaVersion: version } };
  }
}

/** The store as its readers should see it: every event read is upcast, every event appended stamped with its current version. */
export function withUpcasting(store: EventStore, schemas: EventSchemas): EventStore {
  const up = (events: RecordedEvent[]) => events.map((e) => schemas.upcast(e));
  return {
    appendToStream: (streamId, events, options) => store.appendToStream(streamId, events.map((e) => schemas.stamp(e)), options),
    appendToStreams: (appends) => store.appendToStreams(appends.map((a) => ({ ...a, events: a.events.map((e) => schemas.stamp(e)) }))),
    readStream: async (streamId, options) => up(await store.readStream(streamId, options)),
    readAll: async (options) => up(await store.readAll(options)),
    subscribeToAll: (options) => store.subscribeToAll({ ...options, onEvent: (event) => options.onEvent(schemas.upcast(event)) }),
    ping: () => store.ping(),
    close: () => store.close(),
  };
}
