import { isUtf8 } from 'node:buffer';
import { CimParseError, parseCimJson, parseCimXml, type CimDocument, type CimParseOptions } from '@dh/cim';
import type { DataHubInbox, PeekedMessage } from './client';

export interface RawInboxMessage extends PeekedMessage {
  readonly category: string;
}

export interface InboxMessage extends RawInboxMessage {
  readonly document: CimDocument;
}

export type StoreOutcome = 'stored' | 'duplicate';

export interface InboxErrorContext {
  readonly category: string;
  readonly messageId?: string;
  readonly stage: 'peek' | 'keep' | 'store' | 'quarantine' | 'dequeue';
}

/** A message kept by {@link ReceivedMessages.keep}: its id there and the message as received. */
export interface KeptMessage {
  readonly id: string;
  readonly message: RawInboxMessage;
}

/**
 * Our durable copy of messages peeked from DataHub (record first, act after): with it the loop keeps each peeked
 * message, dequeues it and peeks the next one while the kept messages are parsed and stored behind it, in order.
 * A crash after the dequeue loses nothing: the copy is in our table and is processed when the loop starts again.
 */
export interface ReceivedMessages {
  /** Keeps the message as received (bytes included), committed before it resolves; answers its id. The same message kept again answers the same id. */
  keep(message: RawInboxMessage): Promise<string>;
  /** The messages kept and not yet done, oldest first. */
  pending(): Promise<KeptMessage[]>;
  /** The message was stored, found a duplicate or quarantined: its copy is no longer needed. */
  done(id: string): Promise<void>;
}

export interface InboxLoopOptions {
  readonly client: DataHubInbox;
  readonly categories: readonly string[];
  /**
   * Persists the message durably (the caller appends its events) and says whether it was new. Must be idempotent on
   * the document: a message peeked again after a crash between store and dequeue has to come back as 'duplicate'.
   */
  readonly store: (message: InboxMessage) => Promise<StoreOutcome>;
  /** Keeps a message that does not parse (raw body and reason); it is dequeued only after this resolves. */
  readonly quarantine: (message: RawInboxMessage, reason: string) => Promise<void>;
  /**
   * Tells a `store` failure the message causes, which no retry can mend (the database refuses its content, e.g. a
   * `\u0000` in a JSON string): the message is quarantined with the reason and dequeued instead of being peeked
   * again for ever, holding its whole category back. Default: every store failure is retried.
   */
  readonly isUnstorable?: (error: unknown) => boolean;
  readonly signal: AbortSignal;
  /** Pause when every category is empty (default 5 s). */
  readonly idleDelayMs?: number;
  /** Pause after a failed step before trying again (default 1 s). */
  readonly errorDelayMs?: number;
  /** Return after the first pass that finds every category empty (batch mode). */
  readonly stopWhenIdle?: boolean;
  readonly parseOptions?: CimParseOptions;
  /** Called for every failed step; the message stays in DataHub's queue and is peeked again (or, kept, is processed again). */
  readonly onError?: (error: unknown, context: InboxErrorContext) => void;
  /**
   * Record first, act after: each peeked message is kept here and dequeued, and parsed and stored behind the
   * peeking (see {@link ReceivedMessages}). Without it each message is parsed and stored before it is dequeued.
   */
  readonly received?: ReceivedMessages;
  /** With `received`: most messages kept and not yet processed before the loop waits to peek again (default 4). */
  readonly maxAhead?: number;
}

export interface InboxLoopResult {
  stored: number;
  duplicates: number;
  quarantined: number;
  errors: number;
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Why the body cannot be text a parser or a database takes (not UTF-8, or a NUL character), or null. The bytes are
 * checked with `isUtf8` (the same bytes a fatal `TextDecoder` refuses, without decoding a second copy of the body:
 * ~2 % of the ingest benchmark's CPU, 2026-12-06).
 */
export function textProblemOf(message: PeekedMessage): string | null {
  if (message.bytes && !isUtf8(message.bytes)) return `INVALID_ENCODING: the body (${message.bytes.length} bytes) is not valid UTF-8; kept as received`;
  const nul = message.body.indexOf('\u0000');
  if (nul >= 0) return `INVALID_CHARACTER: the body has a NUL character at offset ${nul}; kept as received`;
  return null;
}

function parse(message: PeekedMessage, options: CimParseOptions | undefined): CimDocument {
  const textProblem = textProblemOf(message);
  if (textProblem !== null) throw new UnreadableBodyError(textProblem);
  const type = message.contentType.toLowerCase();
  const json = type.includes('json') || (!type.includes('xml') && message.body.trimStart().startsWith('{'));
  return json ? parseCimJson(message.body, options) : parseCimXml(message.body, options);
}

class UnreadableBodyError extends Error {}

function reasonOf(error: unknown): string {
  if (error instanceof UnreadableBodyError) return error.message;
  if (error instanceof CimParseError) return `${error.code}${error.path ? ` at ${error.path}` : ''}: ${error.message}`;
  return `UNPARSEABLE: ${error instanceof Error ? error.message : String(error)}`;
}

class StepError extends Error {
  constructor(
    readonly stage: InboxErrorContext['stage'],
    readonly messageId: string | undefined,
    readonly original: unknown,
  ) {
    super(original instanceof Error ? original.message : String(original));
  }
}

async function step<T>(stage: InboxErrorContext['stage'], messageId: string | undefined, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw new StepError(stage, messageId, error);
  }
}

type Outcome = 'stored' | 'duplicate' | 'quarantined';

/** Parse → store (or quarantine when it does not parse, or the database refuses its content): what became of the message. */
async function handle(options: InboxLoopOptions, raw: RawInboxMessage): Promise<Outcome> {
  let document: CimDocument | undefined;
  let parseFailure: string | undefined;
  try {
    document = parse(raw, options.parseOptions);
  } catch (error) {
    parseFailure = reasonOf(error);
  }
  if (document) {
    const doc = document;
    return step('store', raw.messageId, async () => {
      try {
        return await options.store({ ...raw, document: doc });
      } catch (error) {
        if (!options.isUnstorable?.(error)) throw error;
        await options.quarantine(raw, `UNSTORABLE: ${error instanceof Error ? error.message : String(error)}`);
        return 'quarantined' as const;
      }
    });
  }
  await step('quarantine', raw.messageId, () => options.quarantine(raw, parseFailure ?? 'UNPARSEABLE'));
  return 'quarantined';
}

function count(result: InboxLoopResult, outcome: Outcome): void {
  if (outcome === 'stored') result.stored++;
  else if (outcome === 'duplicate') result.duplicates++;
  else result.quarantined++;
}

function report(options: InboxLoopOptions, result: InboxLoopResult, error: unknown, category: string): void {
  result.errors++;
  const context: InboxErrorContext = error instanceof StepError ? { category, stage: error.stage, ...(error.messageId ? { messageId: error.messageId } : {}) } : { category, stage: 'peek' };
  options.onError?.(error instanceof StepError ? error.original : error, context);
}

/**
 * Peek → parse → store → dequeue, for each category until the signal aborts. A message is dequeued only after it was
 * stored (or, when it does not parse, quarantined with its raw body), so a crash in between re-delivers it; `store`
 * absorbs that as a duplicate. Failures never drop a message: they are reported and the step is retried later.
 *
 * With `received` (record first, act after): peek → keep → dequeue, and the kept messages are parsed and stored
 * (or quarantined) in the order they were kept, by one processor behind the peeking, at most `maxAhead` behind.
 * The kept copy is dropped only after its message was stored or quarantined; copies left by a crash are processed
 * first when the loop starts. A processing step that fails is reported and retried on the same message, in order.
 */
export async function runInboxLoop(options: InboxLoopOptions): Promise<InboxLoopResult> {
  const { client, categories, signal } = options;
  const idleDelay = options.idleDelayMs ?? 5_000;
  const errorDelay = options.errorDelayMs ?? 1_000;
  const result: InboxLoopResult = { stored: 0, duplicates: 0, quarantined: 0, errors: 0 };
  const received = options.received;
  const processor = received ? new KeptProcessor(options, received, result, errorDelay) : null;
  if (processor) await processor.start();

  try {
    while (!signal.aborted) {
      let busy = false;
      for (const category of categories) {
        while (!signal.aborted) {
          try {
            if (processor) await processor.room();
            if (signal.aborted) break;
            const message = await step('peek', undefined, () => client.peek(category));
            if (!message) break;
            busy = true;
            const raw: RawInboxMessage = { category, ...message };
            if (processor && received) {
              const id = await step('keep', message.messageId, () => received.keep(raw));
              // Ours now: processed even if the dequeue fails (peeked again, it is kept under the same id, or found a duplicate).
              processor.push({ id, message: raw });
              await step('dequeue', message.messageId, () => client.dequeue(message.messageId));
            } else {
              count(result, await handle(options, raw));
              await step('dequeue', message.messageId, () => client.dequeue(message.messageId));
            }
          } catch (error) {
            busy = true;
            report(options, result, error, category);
            await abortableSleep(errorDelay, signal);
            break;
          }
        }
      }
      if (!busy) {
        if (options.stopWhenIdle) break;
        await abortableSleep(idleDelay, signal);
      }
    }
  } finally {
    // Batch mode returns once every kept message was processed; on abort, after the message in hand (the rest stay kept).
    await processor?.finish();
  }
  return result;
}

/** Resolves when the function handed to `register` is called or the signal aborts. */
function wakeOrAbort(signal: AbortSignal, register: (wake: () => void) => void): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    register(done);
  });
}

/** Processes kept messages one at a time, in the order they were kept (see {@link runInboxLoop} with `received`). */
class KeptProcessor {
  private readonly queue: KeptMessage[] = [];
  private readonly known = new Set<string>();
  private running: Promise<void> | null = null;
  private wakeProcessor: (() => void) | null = null;
  private wakeReceiver: (() => void) | null = null;
  private stopping = false;
  private readonly maxAhead: number;

  constructor(
    private readonly options: InboxLoopOptions,
    private readonly received: ReceivedMessages,
    private readonly result: InboxLoopResult,
    private readonly errorDelay: number,
  ) {
    this.maxAhead = Math.max(1, options.maxAhead ?? 4);
  }

  /** Queues what a crash left kept (oldest first) and starts processing. */
  async start(): Promise<void> {
    for (;;) {
      try {
        for (const kept of await this.received.pending()) this.push(kept);
        break;
      } catch (error) {
        report(this.options, this.result, new StepError('keep', undefined, error), this.options.categories[0] ?? '');
        if (this.options.signal.aborted) return;
        await abortableSleep(this.errorDelay, this.options.signal);
      }
    }
    this.running = this.run();
  }

  push(kept: KeptMessage): void {
    // The same message kept again (peeked again after a failed dequeue) is processed once.
    if (this.known.has(kept.id)) return;
    this.known.add(kept.id);
    this.queue.push(kept);
    this.wakeProcessor?.();
  }

  /** Resolves when fewer than `maxAhead` kept messages wait (or the loop is aborted). */
  async room(): Promise<void> {
    while (this.queue.length >= this.maxAhead && !this.options.signal.aborted) {
      await wakeOrAbort(this.options.signal, (wake) => (this.wakeReceiver = wake));
      this.wakeReceiver = null;
    }
  }

  /** Waits for the queue to empty (batch mode) or, after an abort, for the message in hand. */
  async finish(): Promise<void> {
    this.stopping = true;
    this.wakeProcessor?.();
    await this.running;
  }

  private async run(): Promise<void> {
    const { signal } = this.options;
    while (!signal.aborted) {
      const next = this.queue[0];
      if (!next) {
        if (this.stopping) return;
        await wakeOrAbort(signal, (wake) => (this.wakeProcessor = wake));
        this.wakeProcessor = null;
        continue;
      }
      try {
        const outcome = await handle(this.options, next.message);
        await step('keep', next.message.messageId, () => this.received.done(next.id));
        count(this.result, outcome);
        this.queue.shift();
        this.known.delete(next.id);
        this.wakeReceiver?.();
      } catch (error) {
        // Kept, so nothing is lost: the same message is tried again after the pause, the later ones wait behind it.
        report(this.options, this.result, error, next.message.category);
        await abortableSleep(this.errorDelay, signal);
      }
    }
  }
}
