import { HttpException } from '@nestjs/common';
import type { ConsumerStatus } from '@dh/messaging';
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
      type: 'https://datahub-core.dev/problems/service-unavailable',
      status: 503,
      detail: 'rabbitmq: ECONNREFUSED 127.0.0.1:5672',
      checks: { postgres: { status: 'up' }, rabbitmq: { status: 'down', error: 'ECONNREFUSED 127.0.0.1:5672' } },
    });
    expect(sut.live()).toEqual({ status: 'ok' });
  });

  it('treats a dependency that does not answer in time as down', async () => {
    const report = await runHealthChecks([hanging], 50);
    expect(report).toMatchObject({ status: 'unavailable', checks: { 'event-store': { status: 'down', error: 'no answer within 50 ms' } } });
  });

  it('lists every consumer and relay with its state, and is unavailable while one is halted, retrying or disconnected', async () => {
    const since = new Date('2026-10-01T00:00:00Z');
    const workers: ConsumerStatus[] = [
      { name: 'settlement.inputs', kind: 'consumer', state: 'halted', reason: 'event e1 (MeteredDataReceived) failed 5 times: no price', since },
      { name: 'domain-events', kind: 'relay', state: 'standby', reason: null, since },
    ];
    const error = await new HealthController([up], () => workers).ready().catch((e: unknown) => e);
    expect((error as HttpException).getStatus()).toBe(503);
    expect((error as HttpException).getResponse()).toMatchObject({
      detail: 'consumer settlement.inputs halted: event e1 (MeteredDataReceived) failed 5 times: no price',
      workers: [
        { name: 'settlement.inputs', kind: 'consumer', state: 'halted', since: '2026-10-01T00:00:00.000Z' },
        { name: 'domain-events', kind: 'relay', state: 'standby', reason: null },
      ],
    });
    workers[0] = { ...workers[0]!, state: 'running', reason: null };
    await expect(new HealthController([up], () => workers).ready()).resolves.toMatchObject({ status: 'ok', workers: [{ state: 'running' }, { state: 'standby' }] });
  });
});
