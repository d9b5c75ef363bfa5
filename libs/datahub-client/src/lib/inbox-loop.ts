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

/** Why the body cannot be text a parser or a database takes (not UTF-8, or a NUL character), or null. */
export function textProblemOf(message: PeekedMessage): string | null {
  if (message.bytes) {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(message.bytes);
    } catch {
      return `INVALID_ENCODING: the body (${message.bytes.length} bytes) is not valid UTF-8; kept as received`;
    }
  }
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
            const outcome = await step('store', message.messageId, async () => {
              try {
                return await options.store({ ...raw, document: doc });
              } catch (error) {
                if (!options.isUnstorable?.(error)) throw error;
                await options.quarantine(raw, `UNSTORABLE: ${error instanceof Error ? error.message : String(error)}`);
                return 'quarantined' as const;
              }
            });
            if (outcome === 'stored') result.stored++;
            else if (outcome === 'duplicate') result.duplicates++;
            else result.quarantined++;
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
