/**
 * What a long-running worker of the bus (a queue consumer, the relay) is doing now, for readiness and
 * metrics: an operator must see a halted consumer and why, not only a process that answers.
 */
export type ConsumerState =
  /** Declaring its topology, not yet consuming. */
  | 'starting'
  /** Consuming and applying messages (the relay: holding the lock and publishing). */
  | 'running'
  /** A dependency or the handler failed; the work in hand is retried with backoff and continues by itself. */
  | 'retrying'
  /** Waiting for the broker connection to come back. */
  | 'disconnected'
  /** The relay's stand-by: another instance holds the lock. */
  | 'standby'
  /** Stopped on a message it cannot apply; needs an operator (reason says which and why). */
  | 'halted'
  /** Stopped on purpose (shutdown). */
  | 'stopped';

export const CONSUMER_STATES: readonly ConsumerState[] = ['starting', 'running', 'retrying', 'disconnected', 'standby', 'halted', 'stopped'];

export interface ConsumerStatus {
  /** Queue or relay name. */
  name: string;
  kind: 'consumer' | 'relay';
  state: ConsumerState;
  /** Why it is not running (the last error, the halt's cause); null when running. */
  reason: string | null;
  /** When it entered this state. */
  since: Date;
}

export interface MonitoredWorker {
  status(): ConsumerStatus;
  /** Running totals by outcome (applied, duplicates, retried, dead-lettered; published), for metrics. */
  counts?(): Record<string, number>;
  /** The queues it consumes and parks failures in, whose depth an operator watches. */
  queues?(): { queue: string; deadLetterQueue: string | null };
}

/** How long an event waited between being recorded in the event store and being handled here. */
export type LagListener = (worker: { name: string; kind: ConsumerStatus['kind'] }, seconds: number) => void;

/** The workers of one process, so readiness and metrics see every one without wiring each by hand. */
export class WorkerRegistry {
  private readonly workers = new Set<MonitoredWorker>();
  private readonly lagListeners = new Set<LagListener>();

  register(worker: MonitoredWorker): () => void {
    this.workers.add(worker);
    return () => {
      this.workers.delete(worker);
    };
  }

  statuses(): ConsumerStatus[] {
    return [...this.workers].map((w) => w.status());
  }

  all(): MonitoredWorker[] {
    return [...this.workers];
  }

  onLag(listener: LagListener): () => void {
    this.lagListeners.add(listener);
    return () => {
      this.lagListeners.delete(listener);
    };
  }

  /** Reports the end-to-end lag of one event: now minus its `recordedAt`. */
  recordLag(worker: { name: string; kind: ConsumerStatus['kind'] }, recordedAt: string | Date): void {
    if (this.lagListeners.size === 0) return;
    const at = typeof recordedAt === 'string' ? Date.parse(recordedAt) : recordedAt.getTime();
    if (!Number.isFinite(at)) return;
    const seconds = Math.max(0, (Date.now() - at) / 1000);
    for (const listener of this.lagListeners) listener(worker, seconds);
  }
}

/** Holds a worker's state and the moment it changed. */
export class StateTracker {
  private current: { state: ConsumerState; reason: string | null; since: Date };

  constructor(
    private readonly name: string,
    private readonly kind: ConsumerStatus['kind'],
    initial: ConsumerState = 'starting',
  ) {
    this.current = { state: initial, reason: null, since: new Date() };
  }

  get state(): ConsumerState {
    return this.current.state;
  }

  set(state: ConsumerState, reason: string | null = null): void {
    if (this.current.state === state && this.current.reason === reason) return;
    // A halt stays until an operator restarts; only a stop replaces it.
    if (this.current.state === 'halted' && state !== 'stopped') return;
    this.current = { state, reason, since: this.current.state === state ? this.current.since : new Date() };
  }

  status(): ConsumerStatus {
    return { name: this.name, kind: this.kind, ...this.current };
  }
}
