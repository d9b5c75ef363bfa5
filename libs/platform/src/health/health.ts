import { Controller, Get, HttpCode, Inject, Optional } from '@nestjs/common';
import type { ConsumerState, ConsumerStatus } from '@dh/messaging';
import { ProblemException } from '../http/problem';

/** A named dependency probe: resolves when the dependency answers, rejects otherwise. */
export interface HealthCheck {
  name: string;
  probe: () => Promise<void>;
}

export const HEALTH_CHECKS = Symbol('HEALTH_CHECKS');
/** `() => ConsumerStatus[]`: the process's consumers and relays (optional). */
export const HEALTH_WORKERS = Symbol('HEALTH_WORKERS');

export type WorkerStatuses = () => ConsumerStatus[];

export interface WorkerView {
  name: string;
  kind: ConsumerStatus['kind'];
  state: ConsumerState;
  reason: string | null;
  since: string;
}

export interface HealthReport {
  status: 'ok' | 'unavailable';
  checks: Record<string, { status: 'up' | 'down'; error?: string; latencyMs: number }>;
  /** Every consumer and relay of the process with its state; a halted, retrying or disconnected one makes the process unready. */
  workers?: WorkerView[];
}

/** States in which a worker does its job (a relay on stand-by is ready to take over). */
const WORKING: ReadonlySet<ConsumerState> = new Set<ConsumerState>(['running', 'standby', 'stopped']);

export function isWorking(status: ConsumerStatus): boolean {
  return WORKING.has(status.state);
}

export async function runHealthChecks(checks: HealthCheck[], timeoutMs = 2000, workers?: WorkerStatuses): Promise<HealthReport> {
  const entries = await Promise.all(
    checks.map(async (check) => {
      const started = Date.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          check.probe(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        return [check.name, { status: 'up' as const, latencyMs: Date.now() - started }] as const;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        return [check.name, { status: 'down' as const, error: message, latencyMs: Date.now() - started }] as const;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const checksById = Object.fromEntries(entries);
  const statuses = workers?.() ?? [];
  const status = entries.every(([, result]) => result.status === 'up') && statuses.every(isWorking) ? 'ok' : 'unavailable';
  if (!workers) return { status, checks: checksById };
  const views = statuses.map((w) => ({ name: w.name, kind: w.kind, state: w.state, reason: w.reason, since: w.since.toISOString() }));
  return { status, checks: checksById, workers: views };
}

/** 503 problem+json naming what is down, with the whole report as extension members. */
function unavailable(report: HealthReport): ProblemException {
  const down = Object.entries(report.checks)
    .filter(([, check]) => check.status === 'down')
    .map(([name, check]) => `${name}: ${check.error ?? 'down'}`);
  const stuck = (report.workers ?? []).filter((w) => !WORKING.has(w.state)).map((w) => `${w.kind} ${w.name} ${w.state}${w.reason ? `: ${w.reason}` : ''}`);
  return new ProblemException({
    type: 'service-unavailable',
    title: 'Service Unavailable',
    status: 503,
    detail: [...down, ...stuck].join('; '),
    checks: report.checks,
    ...(report.workers ? { workers: report.workers } : {}),
  });
}

@Controller('health')
export class HealthController {
  constructor(
    @Inject(HEALTH_CHECKS) private readonly checks: HealthCheck[],
    @Optional() @Inject(HEALTH_WORKERS) private readonly workers?: WorkerStatuses,
  ) {}

  /** Liveness: the process answers. Restarting would not fix a broken dependency. */
  @Get('live')
  @HttpCode(200)
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /**
   * Readiness: every dependency (Postgres, RabbitMQ, event store) answers and every consumer works.
   * Probed afresh on each call, so it turns ready again by itself once the dependency is back.
   */
  @Get(['ready', ''])
  async ready(): Promise<HealthReport> {
    const report = await runHealthChecks(this.checks, 2000, this.workers);
    if (report.status !== 'ok') throw unavailable(report);
    return report;
  }
}

