import { HttpException } from '@nestjs/common';
import { HealthController, runHealthChecks } from './health';

const up = { name: 'postgres', probe: async () => undefined };
const down = { name: 'rabbitmq', probe: async () => Promise.reject(new Error('ECONNREFUSED 127.0.0.1:5672')) };
const hanging = { name: 'event-store', probe: () => new Promise<void>(() => undefined) };

describe(HealthController.name, () => {
  it('is ready when every dependency answers', async () => {
    await expect(new HealthController([up]).ready()).resolves.toMatchObject({ status: 'ok', checks: { postgres: { status: 'up' } } });
  });

  it('is unavailable (503) naming the dependency that is down, while liveness stays ok', async () => {
    const sut = new HealthController([up, down]);
    const error = await sut.ready().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpException);
    expect((error as HttpException).getStatus()).toBe(503);
    expect((error as HttpException).getResponse()).toMatchObject({
      status: 'unavailable',
      checks: { postgres: { status: 'up' }, rabbitmq: { status: 'down', error: 'ECONNREFUSED 127.0.0.1:5672' } },
    });
    expect(sut.live()).toEqual({ status: 'ok' });
  });

  it('treats a dependency that does not answer in time as down', async () => {
    const report = await runHealthChecks([hanging], 50);
    expect(report).toMatchObject({ status: 'unavailable', checks: { 'event-store': { status: 'down', error: 'no answer within 50 ms' } } });
  });
});
