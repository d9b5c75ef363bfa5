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
  readonly stage: 'peek' | 'store' | 'quarantine' | 'dequeue';
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
  readonly signal: AbortSignal;
  /** Pause when every category is empty (default 5 s). */
  readonly idleDelayMs?: number;
  /** Pause after a failed step before trying again (default 1 s). */
  readonly errorDelayMs?: number;
  /** Return after the first pass that finds every category empty (batch mode). */
  readonly stopWhenIdle?: boolean;
  readonly parseOptions?: CimParseOptions;
  /** Called for every failed step; the message stays in DataHub's queue and is peeked again. */
  readonly onError?: (error: unknown, context: InboxErrorContext) => void;
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

function parse(message: PeekedMessage, options: CimParseOptions | undefined): CimDocument {
  const type = message.contentType.toLowerCase();
  const json = type.includes('json') || (!type.includes('xml') && message.body.trimStart().startsWith('{'));
  return json ? parseCimJson(message.body, options) : parseCimXml(message.body, options);
}

function reasonOf(error: unknown): string {
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

/**
 * Peek → parse → store → dequeue, for each category until the signal aborts. A message is dequeued only after it was
 * stored (or, when it does not parse, quarantined with its raw body), so a crash in between re-delivers it; `store`
 * absorbs that as a duplicate. Failures never drop a message: they are reported and the step is retried later.
 */
export async function runInboxLoop(options: InboxLoopOptions): Promise<InboxLoopResult> {
  const { client, categories, signal } = options;
  const idleDelay = options.idleDelayMs ?? 5_000;
  const errorDelay = options.errorDelayMs ?? 1_000;
  const result: InboxLoopResult = { stored: 0, duplicates: 0, quarantined: 0, errors: 0 };

  while (!signal.aborted) {
    let busy = false;
    for (const category of categories) {
      while (!signal.aborted) {
        try {
          const message = await step('peek', undefined, () => client.peek(category));
          if (!message) break;
          busy = true;
          const raw: RawInboxMessage = { category, ...message };
          let document: CimDocument | undefined;
          let parseFailure: string | undefined;
          try {
            document = parse(message, options.parseOptions);
          } catch (error) {
            parseFailure = reasonOf(error);
          }
          if (document) {
            const doc = document;
            const outcome = await step('store', message.messageId, () => options.store({ ...raw, document: doc }));
            if (outcome === 'stored') result.stored++;
            else result.duplicates++;
          } else {
            await step('quarantine', message.messageId, () => options.quarantine(raw, parseFailure ?? 'UNPARSEABLE'));
            result.quarantined++;
          }
          await step('dequeue', message.messageId, () => client.dequeue(message.messageId));
        } catch (error) {
          busy = true;
          result.errors++;
          const context: InboxErrorContext = error instanceof StepError ? { category, stage: error.stage, ...(error.messageId ? { messageId: error.messageId } : {}) } : { category, stage: 'peek' };
          options.onError?.(error instanceof StepError ? error.original : error, context);
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
  return result;
}
