/**
 * Every environment variable a service reads, which services read it, and how a deployment provides
 * it. `docker-compose.yml` and `k8s/` must set each one for each service that reads it (a check in
 * `deployment.unit.spec.ts` scans the sources for reads and fails on a variable missing here or there).
 */
export const SERVICES = ['gateway', 'portfolio', 'datahub-integration', 'rates', 'settlement', 'reconciliation', 'projections'] as const;
export type ServiceName = (typeof SERVICES)[number];

export interface EnvironmentVariable {
  readers: readonly ServiceName[] | 'all';
  /** `secret`: from a Kubernetes Secret (compose: from the environment or `.env`); `config`: plain; `absent`: must not be set in a deployment. */
  kind: 'secret' | 'config' | 'absent';
  description: string;
}

export const ENVIRONMENT: Readonly<Record<string, EnvironmentVariable>> = {
  NODE_ENV: { readers: 'all', kind: 'config', description: '`production` refuses the development PII key, simulated clocks and http webhook targets' },
  HOST: { readers: 'all', kind: 'config', description: 'listen address (0.0.0.0 in containers)' },
  PORT: { readers: 'all', kind: 'config', description: 'HTTP port (health, the gateway API)' },
  METRICS_PORT: { readers: 'all', kind: 'config', description: 'Prometheus /metrics on a port of its own, never on the HTTP port; the gateway serves none without it' },
  DATABASE_URL: { readers: 'all', kind: 'secret', description: 'PostgreSQL for read models, inboxes, outboxes (and the event store when EVENT_STORE=postgres)' },
  AMQP_URL: { readers: 'all', kind: 'secret', description: 'RabbitMQ' },
  EVENT_STORE: { readers: 'all', kind: 'config', description: '`postgres` or `kurrentdb`' },
  EVENTSTORE_CONNECTION_STRING: { readers: 'all', kind: 'config', description: 'KurrentDB/EventStoreDB connection string (EVENT_STORE=kurrentdb)' },
  EVENT_STORE_SCHEMA: { readers: 'all', kind: 'config', description: 'schema of the PostgreSQL event store' },
  EVENT_EXCHANGE: { readers: 'all', kind: 'config', description: 'topic exchange of domain events' },
  PII_MASTER_KEY: { readers: 'all', kind: 'secret', description: '32 random bytes, base64: wraps each customer’s data key' },
  PII_PREVIOUS_MASTER_KEYS: { readers: 'all', kind: 'secret', description: 'during a master-key rotation: the keys being replaced (comma-separated base64); empty otherwise' },
  COMMAND_TIMEOUT_MS: { readers: 'all', kind: 'config', description: 'how long a command waits for its reply' },
  LOG_FORMAT: { readers: 'all', kind: 'config', description: '`json` (one object per line) or `text`' },
  OTEL_EXPORTER_OTLP_ENDPOINT: { readers: 'all', kind: 'config', description: 'OTLP/HTTP collector for traces; empty: propagate trace context only' },
  CLOCK_URL: { readers: 'all', kind: 'absent', description: 'simulation only: refused when NODE_ENV=production' },

  AUTH_ISSUERS: { readers: ['gateway'], kind: 'secret', description: 'trusted JWT issuers (clients, customer portal, staff) as JSON; may carry HS256 secrets' },
  AUTH_CLOCK_TOLERANCE_SECONDS: { readers: ['gateway'], kind: 'config', description: 'clock skew allowed on JWT times' },
  RATE_LIMITS: { readers: ['gateway'], kind: 'config', description: 'rate limits (JSON) per consumer class, per client address and per failed authentications, or `off`' },
  REDIS_URL: { readers: ['gateway'], kind: 'secret', description: 'Redis holding the rate-limit counters all gateway replicas share' },
  RATE_LIMIT_STORE: { readers: ['gateway'], kind: 'config', description: '`redis` (shared by the replicas) or `memory` (one instance only)' },
  RATE_LIMIT_PREFIX: { readers: ['gateway'], kind: 'config', description: 'key prefix of the counters; empty: derived from the database name' },
  PORTAL_ORIGINS: { readers: ['gateway'], kind: 'config', description: 'customer portal origins allowed cross-origin calls (comma-separated); empty: none' },
  SERVICE_LOG_DIR: { readers: 'all', kind: 'absent', description: 'tests only: where startServiceProcess keeps each process’s output for the log check' },
  NON_JSON_BODY_PATHS: { readers: ['gateway'], kind: 'config', description: 'paths that accept bodies other than JSON (comma-separated)' },

  GRID_AREA_PRICE_AREAS: { readers: ['portfolio'], kind: 'config', description: 'grid area → DK1/DK2 overrides (JSON)' },
  DEFAULT_PRODUCT_ID: { readers: ['portfolio'], kind: 'config', description: 'product of customers received by forced switch (BRS-044)' },
  EFFECTIVE_DATE_CHECK_SECONDS: { readers: ['portfolio'], kind: 'config', description: 'how often supply changes reaching their effective date are applied' },

  DATAHUB_URL: { readers: ['datahub-integration'], kind: 'config', description: 'DataHub 3 B2B API (preprod or prod)' },
  DATAHUB_CLIENT_ID: { readers: ['datahub-integration'], kind: 'secret', description: 'OAuth2 client id of our market actor' },
  DATAHUB_CLIENT_SECRET: { readers: ['datahub-integration'], kind: 'secret', description: 'OAuth2 client secret' },
  DATAHUB_SCOPE: { readers: ['datahub-integration'], kind: 'config', description: 'OAuth2 scope' },
  DATAHUB_CATEGORIES: { readers: ['datahub-integration'], kind: 'config', description: 'message queues peeked (comma-separated)' },
  DATAHUB_POLL: { readers: ['datahub-integration'], kind: 'config', description: '`continuous` or `manual`' },
  DATAHUB_IDLE_MS: { readers: ['datahub-integration'], kind: 'config', description: 'pause when every queue is empty' },
  DATAHUB_INBOX_RECORD_FIRST: { readers: ['datahub-integration'], kind: 'config', description: '`1`: keep each peeked message in datahub.received_messages, dequeue it, store it behind (record first); default `0`' },
  DATAHUB_GLN: { readers: ['datahub-integration'], kind: 'config', description: 'DataHub’s GLN as receiver of our requests' },
  SUPPLIER_GLN: { readers: ['datahub-integration', 'reconciliation'], kind: 'config', description: 'our GLN as a market participant (reconciliation: the energy supplier in DataHub\'s results for us)' },
  QUARTERLY_RESOLUTION_TRANSITION: { readers: ['reconciliation'], kind: 'config', description: 'instant from which DataHub aggregates energy in quarters (its QUARTERLY_RESOLUTION_TRANSITION_DATETIME)' },
  RECONCILIATION_DELAY_MS: { readers: ['reconciliation'], kind: 'config', description: 'quiet time after DataHub\'s last result document before a reconciliation run' },
  RECONCILIATION_BATCH_SIZE: { readers: ['reconciliation'], kind: 'config', description: 'metering points read per batch in a reconciliation run' },
  ELOVERBLIK_URL: { readers: ['datahub-integration'], kind: 'config', description: 'Eloverblik third-party API' },
  ELOVERBLIK_REFRESH_TOKEN: { readers: ['datahub-integration'], kind: 'secret', description: 'Eloverblik third-party refresh token' },

  COLLECTION_AGENCY_URL: { readers: ['settlement'], kind: 'config', description: 'debt-collection agency API (cases after the last reminder, payments and write-offs back); empty: cases wait' },
  COLLECTION_AGENCY_API_KEY: { readers: ['settlement'], kind: 'secret', description: 'the agency API key (Bearer)' },
  BETALINGSSERVICE_SFTP_URL: { readers: ['datahub-integration'], kind: 'secret', description: 'Betalingsservice SFTP (sftp://user:password@host:port); empty: no exchange, collections wait' },
  BETALINGSSERVICE_DATA_SUPPLIER_NUMBER: { readers: ['datahub-integration'], kind: 'config', description: 'data supplier number (CVR/SE) at Nets' },
  BETALINGSSERVICE_PBS_NUMBER: { readers: ['datahub-integration'], kind: 'config', description: 'creditor PBS number' },
  BETALINGSSERVICE_DEBTOR_GROUP: { readers: ['datahub-integration'], kind: 'config', description: 'debtor group number' },
  BETALINGSSERVICE_ACCOUNT: { readers: ['datahub-integration'], kind: 'config', description: 'creditor account, reg.no.-account' },
  BETALINGSSERVICE_IDENTIFICATION: { readers: ['datahub-integration'], kind: 'config', description: 'data supplier identification in delivery files' },
  BETALINGSSERVICE_HEADLINE: { readers: ['datahub-integration'], kind: 'config', description: 'headline on the debtor’s statement' },
  BETALINGSSERVICE_INTERVAL_MS: { readers: ['datahub-integration'], kind: 'config', description: 'how often files are exchanged' },

  EDS_URL: { readers: ['rates'], kind: 'config', description: 'Energi Data Service API' },
  EDS_SCHEDULE: { readers: ['rates'], kind: 'config', description: '`daily` (poll after the day-ahead auction) or `off`' },
  EDS_POLL_AT: { readers: ['rates'], kind: 'config', description: 'local time of the daily poll, HH:MM' },
  EDS_RETRY_MINUTES: { readers: ['rates'], kind: 'config', description: 'retry interval while the day’s prices are not published yet' },
  EDS_POLL_INTERVAL_MS: { readers: ['rates'], kind: 'absent', description: 'replaced by EDS_SCHEDULE; refused when set' },

  SETTLEMENT_WORKERS: { readers: ['settlement'], kind: 'config', description: 'competing work-queue consumers per process' },
  SETTLEMENT_RUN_BATCH_SIZE: { readers: ['settlement'], kind: 'config', description: 'work items per batch of a settlement run (default 500)' },
  SETTLEMENT_WORK_BATCH_SIZE: { readers: ['settlement'], kind: 'config', description: 'work items a settlement worker settles in one transaction (default 100)' },
  SETTLEMENT_CORRECTION_PAGE_SIZE: { readers: ['settlement'], kind: 'config', description: "invoices corrected per transaction when a publication (spot, charge, tax, product) changes issued invoices (default 100)" },
  PAYMENT_TERMS_DAYS: { readers: ['settlement'], kind: 'config', description: 'days from invoice to due date' },
  PAYMENT_OVERDUE_CHECK_INTERVAL_MS: { readers: ['settlement'], kind: 'config', description: 'how often overdue invoices are looked for' },
  SETTLEMENT_SCHEDULE_INTERVAL_MS: { readers: ['settlement'], kind: 'config', description: 'how often the run scheduler looks for due periods (ms; unset = 60000; 0 = no scheduled runs)' },
  SETTLEMENT_DATA_DEADLINE_BUSINESS_DAYS: { readers: ['settlement'], kind: 'config', description: 'Danish business days after a period before its first run (default 5)' },
  SETTLEMENT_LATER_RUN_DAYS: { readers: ['settlement'], kind: 'config', description: 'days of daily later runs of a period after its first (default 10)' },
  SETTLEMENT_SCHEDULE_LOOKBACK_DAYS: { readers: ['settlement'], kind: 'config', description: 'periods due within this many days are looked at (default 45)' },
  SETTLEMENT_RUN_STALLED_AFTER_MS: { readers: ['settlement'], kind: 'config', description: 'a run without progress this long (ms, business clock) no longer holds back later runs of its period (unset = 3600000; 0 = never)' },
  SETTLEMENT_HALT_RETRY_INTERVAL_MS: { readers: ['settlement'], kind: 'config', description: 'how often halted metering points whose missing input arrived are retried (ms; unset = 30000; 0 = no automatic retry)' },
  SETTLEMENT_PRODUCT_PRICE_CORRECTIONS: { readers: ['settlement'], kind: 'config', description: 'a product\'s new prices: `automatic` (default) corrects the issued invoices of the product at once; `review` leaves them for staff to recompute (dry run) and apply' },
  SETTLEMENT_VAT_MODE: { readers: ['settlement'], kind: 'config', description: 'VAT on invoices: `per-line` (25 % of each rounded line) or `invoice-subtotal` (25 % of the subtotal, allocated back to the lines by largest remainder)' },

  WEBHOOK_ALLOWED_NETWORKS: { readers: ['gateway', 'projections'], kind: 'config', description: 'CIDRs webhook targets may resolve to besides public addresses (comma-separated)' },
  WEBHOOK_MAX_ATTEMPTS: { readers: ['projections'], kind: 'config', description: 'webhook delivery attempts before giving up' },
  WEBHOOK_RETRY_INITIAL_MS: { readers: ['projections'], kind: 'config', description: 'first webhook retry delay' },
  WEBHOOK_RETRY_MAX_MS: { readers: ['projections'], kind: 'config', description: 'longest webhook retry delay' },
  WEBHOOK_TIMEOUT_MS: { readers: ['projections'], kind: 'config', description: 'webhook request timeout' },
  WEBHOOK_POLL_MS: { readers: ['projections'], kind: 'config', description: 'how often due webhook deliveries are looked for' },
};

/** The variables a service reads. */
export function variablesOf(service: ServiceName): string[] {
  return Object.entries(ENVIRONMENT)
    .filter(([, v]) => v.readers === 'all' || v.readers.includes(service))
    .map(([name]) => name);
}
