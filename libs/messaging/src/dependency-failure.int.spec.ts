import { Pool } from 'pg';
import { createTestDatabase, type TestDatabase } from '@dh/testing';
import { NotConnectedError } from './amqp-connection';
import { dependencyFailureOf } from './dependency-failure';

/** Real errors from the real drivers, so the classification follows what they actually throw. */
describe(dependencyFailureOf.name, () => {
  let db: TestDatabase;
  let pool: Pool;

  beforeAll(async () => {
    db = await createTestDatabase('dependency_failure');
    pool = new Pool({ connectionString: db.url, max: 3 });
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  const caught = async (work: () => Promise<unknown>): Promise<unknown> => work().then(() => new Error('did not fail'), (error: unknown) => error);

  it('names PostgreSQL for a refused connection, a terminated backend and a pool that cannot connect in time', async () => {
    const refused = new Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/none' });
    expect(dependencyFailureOf(await caught(() => refused.query('SELECT 1')))).toEqual({ dependency: 'postgres' });
    await refused.end();

    const victim = await pool.connect();
    victim.on('error', () => undefined);
    const pid = (await victim.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const terminated = caught(() => victim.query('SELECT pg_sleep(5)'));
    await pool.query('SELECT pg_terminate_backend($1)', [pid]);
    expect(dependencyFailureOf(await terminated)).toEqual({ dependency: 'postgres' });
    victim.release(true);
  });

  it('leaves bugs and refusals of the database (bad SQL, constraint violations) alone', async () => {
    expect(dependencyFailureOf(await caught(() => pool.query('SELEC 1')))).toBeNull();
    await pool.query('CREATE TABLE once (id int PRIMARY KEY)');
    await pool.query('INSERT INTO once VALUES (1)');
    expect(dependencyFailureOf(await caught(() => pool.query('INSERT INTO once VALUES (1)')))).toBeNull();
    expect(dependencyFailureOf(new RangeError('Invalid time value'))).toBeNull();
    expect(dependencyFailureOf(Object.assign(new Error('x'), { code: '08006' }))).toBeNull();
  });

  it('names RabbitMQ when the gateway is not connected, and what an error class declares itself', () => {
    expect(dependencyFailureOf(new NotConnectedError())).toEqual({ dependency: 'rabbitmq' });
    expect(dependencyFailureOf(Object.assign(new Error('DataHub down'), { dependency: 'datahub', transient: true }))).toEqual({ dependency: 'datahub' });
    expect(dependencyFailureOf(new Error('wrapped', { cause: new NotConnectedError() }))).toEqual({ dependency: 'rabbitmq' });
  });
});
