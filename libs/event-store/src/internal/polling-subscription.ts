import type { RecordedEvent, SubscribeOptions, Subscription } from '../event-store.port';

/** A wake-up signal: `wait` resolves on the next `notify`, or after `timeoutMs`. */
export class Wakeup {
  private waiters: (() => void)[] = [];
  private pending = false;

  notify(): void {
    this.pending = true;
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }

  wait(timeoutMs: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.pending = false;
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve();
      }, timeoutMs);
      this.waiters.push(done);
    });
  }
}

export interface PollingSource<E extends { checkpoint: string } = RecordedEvent> {
  readBatch(after: string | null, maxCount: number): Promise<E[]>;
  /** Resolves when new events may be there (a notification, or the fallback poll interval). */
  waitForMore(): Promise<void>;
  /** Wakes `waitForMore` at once (used by `stop`). */
  interrupt(): void;
  /** Frees resources (listener connections); called once when the loop ends. */
  dispose(): Promise<void>;
}

/**
 * Catch-up then live, over any source that can read the global log in batches after a checkpoint.
 * The handler is awaited event by event; its first error ends the subscription.
 */
export function runPollingSubscription<E extends { checkpoint: string } = RecordedEvent>(options: SubscribeOptions<E>, source: PollingSource<E>, batchSize = 500): Subscription {
  let stopped = false;
  let inHandler = false;
  let caughtUp = false;

  const loop = async (): Promise<void> => {
    let after = options.after ?? null;
    // A full batch means more may follow: the next read is under way while the handler works through this one.
    let ahead: Promise<E[]> | null = null;
    try {
      while (!stopped) {
        const batch = await (ahead ?? source.readBatch(after, batchSize));
        ahead = null;
        if (batch.length === batchSize && !stopped) {
          ahead = source.readBatch(batch[batch.length - 1].checkpoint, batchSize);
          // Awaited in the next turn; if the loop ends first, its failure is of no interest.
          ahead.catch(() => undefined);
        }
        for (const event of batch) {
          if (stopped) return;
          inHandler = true;
          try {
            await options.onEvent(event);
          } finally {
            inHandler = false;
          }
          after = event.checkpoint;
        }
        if (batch.length < batchSize) {
          if (!caughtUp) {
            caughtUp = true;
            options.onCaughtUp?.();
          }
          if (!stopped) await source.waitForMore();
        }
      }
    } finally {
      await source.dispose();
    }
  };

  const done = loop().catch((error: unknown) => {
    const err = error instanceof Error ? error : new Error(String(error));
    if (!stopped) options.onError?.(err);
    stopped = true;
    throw err;
  });
  // The caller may never look at `done`; its rejection is reported through onError.
  done.catch(() => undefined);

  return {
    done,
    async stop() {
      stopped = true;
      source.interrupt();
      // Called from inside onEvent: the loop ends when the handler returns; waiting here would deadlock.
      if (inHandler) return;
      await done.catch(() => undefined);
    },
  };
}
