/**
 * The header table handed to amqplib, one object for every publish of its owner (the relay's session; a consumer's
 * retry, dead-letter and catch-up publishes). amqplib's `publish` makes the options' `headers` the prototype of its
 * own table (`Object.create(options.headers)`), and V8 gives every object that becomes a prototype a map of its own
 * in the old generation: a fresh header object per message left about 1.4 kB of old space per event (at 1,000
 * events/s a full collection every few seconds, each pausing every event in flight; docs/benchmarks.md). This one
 * becomes a prototype once; `publish` encodes the headers before it returns, so the next message overwrites them.
 * Keys of an earlier message that this one lacks are set to `undefined`, which amqplib leaves out of the table; the
 * keys are a fixed few (those `storedEventMessage` writes, and the retry and dead-letter headers added to them).
 */
export class PublishHeaders {
  private readonly table: Record<string, unknown> = {};

  /** The shared table holding exactly `headers` (as amqplib encodes it: `undefined` values left out). */
  fill(headers: Readonly<Record<string, unknown>>): Record<string, unknown> {
    const table = this.table;
    for (const key in table) {
      if (!Object.prototype.hasOwnProperty.call(headers, key)) table[key] = undefined;
    }
    for (const key of Object.keys(headers)) table[key] = headers[key];
    return table;
  }
}
