import { ConfigError, loadConfig } from './service-config';

describe('loadConfig', () => {
  it('defaults to the embedded PostgreSQL event store', () => {
    const config = loadConfig('portfolio', 3001, {});
    expect(config.eventStore).toEqual({ kind: 'postgres', schema: 'event_store' });
    expect(config.httpPort).toBe(3001);
    expect(config.piiMasterKey).toHaveLength(32);
  });

  it('chooses KurrentDB when a connection string is given', () => {
    const config = loadConfig('portfolio', 3001, { EVENTSTORE_CONNECTION_STRING: 'kurrentdb://localhost:2113?tls=false' });
    expect(config.eventStore).toEqual({ kind: 'kurrentdb', connectionString: 'kurrentdb://localhost:2113?tls=false' });
  });

  it('refuses to run in production without a PII key', () => {
    expect(() => loadConfig('portfolio', 3001, { NODE_ENV: 'production' })).toThrow(ConfigError);
  });

  it('names the variable that is wrong', () => {
    expect(() => loadConfig('portfolio', 3001, { PORT: 'eighty' })).toThrow('PORT must be a non-negative integer, got "eighty"');
    expect(() => loadConfig('portfolio', 3001, { PII_MASTER_KEY: 'c2hvcnQ=' })).toThrow('PII_MASTER_KEY must decode to 32 bytes, got 5');
  });
});
