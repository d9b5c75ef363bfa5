import { CimParseError, parseCimJson, parseCimXml, type CimDocument } from '@dh/cim';
import { runInboxLoop, textProblemOf, type DataHubInbox as DataHubQueues, type InboxLoopResult, type ReceivedMessages } from '@dh/datahub-client';
import { DatabaseError } from 'pg';
import type { EventStore } from '@dh/event-store';
import { createInboundStore, type ProcessResolver } from './inbound-store';
import type { QuarantineStore } from './quarantine.store';

export interface DataHubInboxOptions {
  client: DataHubQueues;
  categories: readonly string[];
  eventStore: EventStore;
  quarantine: QuarantineStore;
  idleDelayMs?: number;
  /** Resolves answered transaction ids to our processes (see outboundProcessResolver). */
  resolveProcesses?: ProcessResolver;
  onError?: (error: unknown, stage: string) => void;
  /**
   * Record first, act after (a {@link ReceivedMessageStore}): each message is kept in our table and dequeued, and
   * the next one peeked while the kept ones are parsed and stored in order behind it. Without it each message is
   * parsed and stored before it is dequeued.
   */
  received?: ReceivedMessages;
  /** With `received`: most messages kept and not yet stored before the inbox waits to peek again (default 4). */
  maxAhead?: number;
  /** Business time: `receivedAt` and `occurredAt` of the events stored (the service's clock, a simulator's in a demo). Default the wall clock. */
  clock?: () => Date;
}

export type ReprocessOutcome = { outcome: 'stored' | 'duplicate' } | { outcome: 'still-invalid'; reason: string } | { outcome: 'not-found' } | { outcome: 'already-reprocessed' };

function parseBody(body: string, contentType: string): CimDocument {
  const json = contentType.toLowerCase().includes('json') || (!contentType.toLowerCase().includes('xml') && body.trimStart().startsWith('{'));
  return json ? parseCimJson(body) : parseCimXml(body);
}

/** PostgreSQL refuses the content itself (a `\u0000` in a JSON string, a character its encoding lacks): no retry helps. */
function isUnstorable(error: unknown): boolean {
  return error instanceof DatabaseError && (error.code === '22P05' || error.code === '22021');
}

function reasonOf(error: unknown): string {
  if (error instanceof CimParseError) return `${error.code}${error.path ? ` at ${error.path}` : ''}: ${error.message}`;
  return `UNPARSEABLE: ${error instanceof Error ? error.message : String(error)}`;
}

/** Peek → parse → append events → dequeue (or, with `received`, peek → keep → dequeue, then parse → append), with unparseable messages quarantined rather than lost. */
export class DataHubInboxWorker {
  private readonly store;
  private controller: AbortController | null = null;
  private running: Promise<InboxLoopResult> | null = null;

  constructor(private readonly options: DataHubInboxOptions) {
    this.store = createInboundStore(options.eventStore, options.resolveProcesses, options.clock, (message, reason) => options.quarantine.add(message, reason));
  }

  private loop(signal: AbortSignal, stopWhenIdle: boolean): Promise<InboxLoopResult> {
    return runInboxLoop({
      client: this.options.client,
      categories: this.options.categories,
      store: this.store,
      quarantine: (message, reason) => this.options.quarantine.add(message, reason),
      isUnstorable,
      signal,
      stopWhenIdle,
      idleDelayMs: this.options.idleDelayMs,
      onError: (error, context) => this.options.onError?.(error, context.stage),
      ...(this.options.received ? { received: this.options.received } : {}),
      ...(this.options.maxAhead !== undefined ? { maxAhead: this.options.maxAhead } : {}),
    });
  }

  /** Drains every category once and returns what happened (used by commands, the demo and tests). */
  pollOnce(): Promise<InboxLoopResult> {
    return this.loop(new AbortController().signal, true);
  }

  start(): void {
    if (this.running) return;
    this.controller = new AbortController();
    this.running = this.loop(this.controller.signal, false);
  }

  async stop(): Promise<void> {
    this.controller?.abort();
    await this.running;
    this.running = null;
  }

  /** Tries a quarantined message again (after a parser fix or a corrected document). */
  async reprocess(id: number): Promise<ReprocessOutcome> {
    const message = await this.options.quarantine.get(id);
    if (!message) return { outcome: 'not-found' };
    if (message.status === 'reprocessed') return { outcome: 'already-reprocessed' };
    let document: CimDocument;
    const raw = { messageId: message.messageId, contentType: message.contentType, body: message.rawBytes ? new TextDecoder().decode(message.rawBytes) : message.rawBody, ...(message.rawBytes ? { bytes: message.rawBytes } : {}) };
    try {
      const textProblem = textProblemOf(raw);
      if (textProblem !== null) throw new Error(textProblem);
      document = parseBody(raw.body, message.contentType);
    } catch (error) {
      const reason = reasonOf(error);
      await this.options.quarantine.recordFailedAttempt(id, reason);
      return { outcome: 'still-invalid', reason };
    }
    const outcome = await this.store({ ...raw, category: message.category, document });
    await this.options.quarantine.markReprocessed(id);
    return { outcome };
  }
}
