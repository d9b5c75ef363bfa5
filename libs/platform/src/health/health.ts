import { Controller, Get, HttpCode, HttpException, HttpStatus, Inject } from '@nestjs/common';

/** A named dependency probe: resolves when the dependency answers, rejects otherwise. */
export interface HealthCheck {
  name: string;
  probe: () => Promise<void>;
}

export const HEALTH_CHECKS = Symbol('HEALTH_CHECKS');

export interface HealthReport {
  status: 'ok' | 'unavailable';
  checks: Record<string, { status: 'up' | 'down'; error?: string; latencyMs: number }>;
}

export async function runHealthChecks(checks: HealthCheck[], timeoutMs = 2000): Promise<HealthReport> {
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
  const status = entries.every(([, result]) => result.status === 'up') ? 'ok' : 'unavailable';
  return { status, checks: checksById };
}

@Controller('health')
export class HealthController {
  constructor(@Inject(HEALTH_CHECKS) private readonly checks: HealthCheck[]) {}

  /** Liveness: the process answers. Restarting would not fix a broken dependency. */
  @Get('live')
  @HttpCode(200)
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Readiness: every dependency (Postgres, RabbitMQ, event store) answers. */
  @Get(['ready', ''])
  async ready(): Promise<HealthReport> {
    const report = await runHealthChecks(this.checks);
    if (report.status !== 'ok') throw new HttpException(report, HttpStatus.SERVICE_UNAVAILABLE);
    return report;
  }
}

