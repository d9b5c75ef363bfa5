import { localDateOf } from '@dh/dk-time';
import { effectiveDateReached, type AwaitingEffectiveDates, type ProcessIndex, type ProcessManager, type ProcessManagerLogger, type Reaction } from './process-manager';

export interface EffectiveDateSchedulerDeps {
  manager: Pick<ProcessManager, 'handle'>;
  awaiting: AwaitingEffectiveDates;
  index: ProcessIndex;
  /** The service clock (simulated in the demo and the end-to-end tests). */
  clock: () => Date;
  logger?: ProcessManagerLogger;
}

export interface TickResult {
  today: string;
  due: number;
  /** Entries finished (applied, no longer pending, or recorded as an anomaly). */
  done: number;
  /** Entries left for a later tick (a transient error, or the date not reached on the manager's clock). */
  retried: number;
  reactions: Reaction[];
}

/**
 * Confirms processes whose DataHub master data or notification arrived before their effective date
 * (the process manager left them in `AwaitingEffectiveDate`): on each tick, every entry whose date has
 * been reached on the service clock goes to the process manager as an `EffectiveDateReached` trigger.
 *
 * Idempotent: the trigger's id is derived from the early DataHub event and the process, so the
 * commands it causes carry the same idempotency keys on every tick and after a crash; an entry is
 * marked done only after the reaction has been stored. Ticks never overlap within one scheduler.
 */
export class EffectiveDateScheduler {
  private running: Promise<TickResult> | null = null;
  private readonly logger: ProcessManagerLogger;

  constructor(private readonly deps: EffectiveDateSchedulerDeps) {
    this.logger = deps.logger ?? { log: () => undefined, warn: () => undefined };
  }

  /** One pass; a call while a pass runs returns that pass. */
  tick(): Promise<TickResult> {
    if (this.running) return this.running;
    this.running = this.pass().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async pass(): Promise<TickResult> {
    const now = this.deps.clock();
    const today = localDateOf(now);
    const entries = await this.deps.awaiting.due(today);
    const result: TickResult = { today, due: entries.length, done: 0, retried: 0, reactions: [] };
    for (const entry of entries) {
      let reaction: Reaction;
      try {
        reaction = await this.deps.manager.handle(effectiveDateReached(entry), this.deps.index);
      } catch (error) {
        // Transient (store or broker): the next tick tries again with the same keys.
        result.retried++;
        this.logger.warn(`effective date of process ${entry.processId}: ${error instanceof Error ? error.message : String(error)}; retried on the next tick`);
        continue;
      }
      result.reactions.push(reaction);
      if (reaction.outcome === 'waiting') {
        result.retried++;
        continue;
      }
      await this.deps.awaiting.done(entry.processId, now);
      result.done++;
      if (reaction.outcome === 'applied') this.logger.log(`process ${entry.processId} took effect on ${entry.effectiveDate}`);
    }
    return result;
  }
}
