import { connect } from 'amqplib';
import { Client } from 'pg';
import { startPrivatePostgres, startPrivateRabbitMq } from './private-servers';

async function query(url: string, sql: string): Promise<unknown[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

jest.setTimeout(120_000);

describe('private servers for fault tests', () => {
  it('runs an own PostgreSQL cluster on another port that survives a crash stop and restart, keeping its data', async () => {
    const pg = await startPrivatePostgres();
    try {
      expect(pg.port).not.toBe(5432);
      const url = await pg.createDatabase('kept');
      await query(url, 'CREATE TABLE t (n int); INSERT INTO t VALUES (1)');
      const held = new Client({ connectionString: url });
      held.on('error', () => undefined);
      await held.connect();
      expect(await pg.terminateBackends()).toBeGreaterThanOrEqual(1);
      await expect(held.query('SELECT 1')).rejects.toThrow();
      await pg.restart('immediate');
      expect(await query(url, 'SELECT n FROM t')).toEqual([{ n: 1 }]);
    } finally {
      await pg.destroy();
    }
  });

  it('runs an own RabbitMQ node on another port that can be stopped, killed and started again', async () => {
    const rabbit = await startPrivateRabbitMq();
    try {
      expect(rabbit.port).not.toBe(5672);
      const first = await connect(rabbit.url);
      const closed = new Promise<void>((resolve) => first.once('close', () => resolve()));
      first.on('error', () => undefined);
      await rabbit.stop();
      await closed;
      await expect(connect(rabbit.url)).rejects.toThrow();
      await rabbit.start();
      const second = await connect(rabbit.url);
      second.on('error', () => undefined);
      await rabbit.kill();
      await expect(connect(rabbit.url)).rejects.toThrow();
      await rabbit.start();
      await (await connect(rabbit.url)).close();
    } finally {
      await rabbit.destroy();
    }
  });
});
