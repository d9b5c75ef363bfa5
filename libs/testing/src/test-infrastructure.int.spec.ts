import { Client } from 'pg';
import { connect } from 'amqplib';
import { createTestDatabase, createTestVhost } from './test-infrastructure';

describe('test infrastructure', () => {
  it('creates a private database that can be used and dropped', async () => {
    const db = await createTestDatabase('infra');
    const client = new Client({ connectionString: db.url });
    await client.connect();
    const { rows } = await client.query<{ db: string }>('select current_database() as db');
    await client.end();
    expect(rows[0].db).toBe(db.name);
    await db.drop();
    const again = new Client({ connectionString: db.url });
    await expect(again.connect()).rejects.toThrow(/does not exist/);
  });

  it('creates a private RabbitMQ vhost that can be used and dropped', async () => {
    const vhost = await createTestVhost('infra');
    const connection = await connect(vhost.url);
    const channel = await connection.createChannel();
    const q = await channel.assertQueue('', { exclusive: true });
    expect(q.queue).toMatch(/^amq\.gen/);
    await connection.close();
    await vhost.drop();
    await expect(connect(vhost.url)).rejects.toThrow();
  });
});
