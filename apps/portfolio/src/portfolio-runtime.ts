import type { Pool } from 'pg';
import { eventRedactionOf, withUpcasting, type EventStore, type JsonValue } from '@dh/event-store';
import { AmqpConnection, CommandServer, consoleMessagingLogger, startConsumer, type CommandContext as BusContext, type MessagingLogger, type RunningConsumer } from '@dh/messaging';
import {
  asPayload,
  cancelProcess,
  changeContactDetails,
  completeCustomerIdentity,
  createCustomer,
  EffectiveDateScheduler,
  getCustomerIdentityForDataHub,
  getProcess,
  linkProductionMeteringPoint,
  loadCustomer,
  parseCancelProcess,
  parseEndOfSupplyRequest,
  parseIncorrectSwitchRequest,
  parseLinkProductionMeteringPoint,
  parseProcessRequest,
  parseRegisterMeteringPoint,
  parseSetElectricHeating,
  parseChangeProduct,
  changeProduct,
  parseSupplyRequest,
  PORTFOLIO_EVENT_SCHEMAS,
  PROCESS_MANAGER_BINDINGS,
  ProcessManager,
  registerMeteringPoint,
  requestEndOfSupply,
  requestIncorrectSwitch,
  requestMoveIn,
  requestMoveOut,
  requestSwitch,
  requiredString,
  setElectricHeating,
  type CommandContext,
  type CompleteIdentityRequest,
  type ContactDetails,
  type CreateCustomerRequest,
  type PersonalDataProtector,
  type PersonalDataReader,
} from '@dh/portfolio-application';
import { DomainRuleViolation, type PersonalDataChangeSource, type PriceArea } from '@dh/portfolio-domain';
import { asCommandReply } from './command-errors';
import { eraseCustomerPersonalDataHandler } from './gdpr/erase-personal-data';
import { migrateProcessIndex, PgProcessIndex } from './pg-process-index';
import { migrateNonPaymentWithdrawal, NON_PAYMENT_WITHDRAWAL_BINDINGS, NON_PAYMENT_WITHDRAWAL_QUEUE, onNonPaymentEvent } from './non-payment-withdrawal';

export const PORTFOLIO_SERVICE = 'portfolio';
/** The process manager's queue on `domain.events` (bindings: `PROCESS_MANAGER_BINDINGS`). */
export const PROCESS_MANAGER_QUEUE = 'portfolio.process-manager';
const EFFECTIVE_DATE_LOCK = 'portfolio.effective-date-scheduler';

/** `EFFECTIVE_DATE_CHECK_SECONDS` (default 60): how often the effective-date scheduler runs. */
export function effectiveDateCheckIntervalMs(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return 60_000;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds < 0) throw new Error(`EFFECTIVE_DATE_CHECK_SECONDS: "${raw}" is not a number of seconds`);
  return Math.round(seconds * 1000);
}

export interface PortfolioRuntimeOptions {
  store: EventStore;
  pool: Pool;
  amqp: AmqpConnection;
  vault: PersonalDataProtector & PersonalDataReader & { erase(subjectId: string): Promise<void> };
  clock?: () => Date;
  defaultProductId?: string;
  priceAreaOf?: (gridArea: string) => PriceArea | null;
  exchange?: string;
  logger?: MessagingLogger;
  /** Consumer retry backoff (tests shorten it). */
  retryInitialDelayMs?: number;
  /** How often the effective-date scheduler looks for processes whose date has come; 0 disables the timer. Default 60 s. */
  effectiveDateCheckIntervalMs?: number;
}

export interface PortfolioRuntime {
  consumer: RunningConsumer;
  scheduler: EffectiveDateScheduler;
  /** One scheduler pass under a PostgreSQL advisory lock (one replica at a time); false when another replica held it. */
  checkEffectiveDates(): Promise<boolean>;
  stop(): Promise<void>;
}

/** `GRID_AREA_PRICE_AREAS="804:DK1,791:DK2"`: price areas of grid areas we first hear of from DataHub (BRS-044). */
export function parseGridAreaPriceAreas(raw: string | undefined): (gridArea: string) => PriceArea | null {
  const table = new Map<string, PriceArea>();
  for (const pair of (raw ?? '').split(',').map((p) => p.trim()).filter(Boolean)) {
    const [gridArea, area] = pair.split(':').map((p) => p.trim());
    if (!gridArea || (area !== 'DK1' && area !== 'DK2')) throw new Error(`GRID_AREA_PRICE_AREAS: "${pair}" is not <grid area>:DK1|DK2`);
    table.set(gridArea, area);
  }
  return (gridArea) => table.get(gridArea) ?? null;
}

function sourceOf(raw: unknown): PersonalDataChangeSource {
  if (raw === 'crm' || raw === 'portal' || raw === 'staff') return raw;
  throw new DomainRuleViolation('invalid-request', 'source must be crm, portal or staff');
}

/** Command handlers on `commands.portfolio` and the process manager consumer; shared by the service and the integration tests. */
export async function startPortfolioRuntime(options: PortfolioRuntimeOptions): Promise<PortfolioRuntime> {
  const { pool, amqp, vault } = options;
  // Deciders and the process manager read every portfolio event in its current shape.
  const store = withUpcasting(options.store, PORTFOLIO_EVENT_SCHEMAS);
  const clock = options.clock ?? (() => new Date());
  const logger = options.logger ?? consoleMessagingLogger;
  const contextOf = (context: BusContext, idempotencyKey: string | undefined): CommandContext => ({
    correlationId: context.correlationId,
    causationId: context.causationId,
    actor: context.actor ?? 'unknown',
    idempotencyKey,
    now: clock(),
  });
  const keyOf = (payload: JsonValue): string | undefined => {
    const key = asPayload(payload).idempotencyKey;
    return typeof key === 'string' && key !== '' ? key : undefined;
  };
  const deps = { store };

  const server = new CommandServer({ connection: amqp, logger });
  await server.handle(PORTFOLIO_SERVICE, {
    async CreateCustomer(payload: JsonValue, context) {
      const { idempotencyKey, ...request } = payload as unknown as CreateCustomerRequest & { idempotencyKey?: string };
      const result = await asCommandReply(() => createCustomer({ store, protector: vault }, request, contextOf(context, idempotencyKey)));
      return { customerId: result.customerId, alreadyHandled: result.alreadyHandled };
    },
    // Contact details from CRM, the portal profile or staff; sealed again, the changed fields named in the event.
    ChangeContactDetails: (payload, context) =>
      asCommandReply(async () => {
        const p = asPayload(payload);
        const request = { customerId: requiredString(p, 'customerId'), details: (p.details ?? {}) as unknown as ContactDetails, source: sourceOf(p.source) };
        return changeContactDetails({ store, protector: vault }, request, contextOf(context, keyOf(payload)));
      }),
    // A forced-switch (BRS-044) placeholder completed with name and CPR/CVR.
    CompleteCustomerIdentity: (payload, context) =>
      asCommandReply(async () => {
        const p = asPayload(payload) as unknown as Omit<CompleteIdentityRequest, 'source'> & { source?: unknown };
        return completeCustomerIdentity({ store, protector: vault }, { ...p, source: sourceOf(p.source) }, contextOf(context, keyOf(payload)));
      }),
    RegisterMeteringPoint: (payload, context) =>
      asCommandReply(async () => registerMeteringPoint(deps, parseRegisterMeteringPoint(asPayload(payload)), contextOf(context, keyOf(payload)))),
    SetElectricHeating: (payload, context) => asCommandReply(() => setElectricHeating(deps, parseSetElectricHeating(asPayload(payload)), contextOf(context, keyOf(payload)))),
    ChangeProduct: (payload, context) => asCommandReply(() => changeProduct(deps, parseChangeProduct(asPayload(payload)), contextOf(context, keyOf(payload)))),
    LinkProductionMeteringPoint: (payload, context) =>
      asCommandReply(() => linkProductionMeteringPoint(deps, parseLinkProductionMeteringPoint(asPayload(payload)), contextOf(context, keyOf(payload)))),
    RequestSwitch: (payload, context) => asCommandReply(() => requestSwitch(deps, parseSupplyRequest(asPayload(payload)), contextOf(context, keyOf(payload)))),
    RequestMoveIn: (payload, context) => asCommandReply(() => requestMoveIn(deps, parseSupplyRequest(asPayload(payload)), contextOf(context, keyOf(payload)))),
    RequestMoveOut: (payload, context) => asCommandReply(() => requestMoveOut(deps, parseProcessRequest(asPayload(payload)), contextOf(context, keyOf(payload)))),
    RequestEndOfSupply: (payload, context) =>
      asCommandReply(() => requestEndOfSupply(deps, parseEndOfSupplyRequest(asPayload(payload)), contextOf(context, keyOf(payload)))),
    RequestIncorrectSwitch: (payload, context) =>
      asCommandReply(() => requestIncorrectSwitch(deps, parseIncorrectSwitchRequest(asPayload(payload)), contextOf(context, keyOf(payload)))),
    CancelProcess: (payload, context) => asCommandReply(() => cancelProcess(deps, parseCancelProcess(asPayload(payload)), contextOf(context, keyOf(payload)))),
    GetProcess: (payload) => asCommandReply(() => getProcess(deps, requiredString(asPayload(payload), 'processId'))),
    // The gateway asks before it writes anything for a switch or move-in of an existing customer.
    CustomerExists: (payload) => asCommandReply(async () => ({ exists: (await loadCustomer(store, requiredString(asPayload(payload), 'customerId'))).state.status !== 'none' })),
    // Decrypts the customer's name and CPR/CVR for datahub-integration's RSM-001; logs nothing personal.
    GetCustomerIdentityForDataHub: (payload) =>
      asCommandReply(async () => {
        const identity = await getCustomerIdentityForDataHub({ store, reader: vault }, requiredString(asPayload(payload), 'processId'));
        return { customerName: identity.customerName, cpr: identity.cpr, cvr: identity.cvr };
      }),
    // GDPR erasure: destroys the customer's data key, records CustomerPersonalDataErased (gdpr/erase-personal-data.ts).
    EraseCustomerPersonalData: eraseCustomerPersonalDataHandler({ store, vault, clock, redaction: eventRedactionOf(options.store) }),
  });

  await migrateProcessIndex(pool);
  const manager = new ProcessManager({
    store,
    protector: vault,
    clock,
    defaultProductId: options.defaultProductId ?? 'standard',
    priceAreaOf: options.priceAreaOf ?? (() => null),
    logger: { log: (m) => logger.log(`process manager: ${m}`), warn: (m) => logger.warn(`process manager: ${m}`) },
  });
  const consumer = await startConsumer({
    connection: amqp,
    pool,
    queue: PROCESS_MANAGER_QUEUE,
    bindings: PROCESS_MANAGER_BINDINGS,
    consumerName: PROCESS_MANAGER_QUEUE,
    exchange: options.exchange,
    singleActiveConsumer: true,
    logger,
    backoff: options.retryInitialDelayMs !== undefined ? { initialDelayMs: options.retryInitialDelayMs } : undefined,
    handler: async (envelope, tx) => {
      await manager.handle(envelope, new PgProcessIndex(tx));
    },
  });

  // BRS-002 for non-payment withdrawn when the customer pays before its date (non-payment-withdrawal.ts).
  await migrateNonPaymentWithdrawal(pool);
  const withdrawal = await startConsumer({
    connection: amqp,
    pool,
    queue: NON_PAYMENT_WITHDRAWAL_QUEUE,
    bindings: NON_PAYMENT_WITHDRAWAL_BINDINGS,
    // A new queue: BRS-002 requests and payments recorded before it existed are caught up from the event store.
    eventStore: options.store,
    consumerName: NON_PAYMENT_WITHDRAWAL_QUEUE,
    exchange: options.exchange,
    singleActiveConsumer: true,
    logger,
    backoff: options.retryInitialDelayMs !== undefined ? { initialDelayMs: options.retryInitialDelayMs } : undefined,
    handler: (envelope, tx) => onNonPaymentEvent({ store, clock, logger }, envelope, tx),
  });

  const index = new PgProcessIndex(pool);
  const scheduler = new EffectiveDateScheduler({
    manager,
    awaiting: index,
    index,
    clock,
    logger: { log: (m) => logger.log(`effective-date scheduler: ${m}`), warn: (m) => logger.warn(`effective-date scheduler: ${m}`) },
  });
  const checkEffectiveDates = async (): Promise<boolean> => {
    const client = await pool.connect();
    try {
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [EFFECTIVE_DATE_LOCK]);
      if (!rows[0]?.locked) return false;
      try {
        await scheduler.tick();
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtext($1))', [EFFECTIVE_DATE_LOCK]);
      }
      return true;
    } finally {
      client.release();
    }
  };
  const intervalMs = options.effectiveDateCheckIntervalMs ?? 60_000;
  let pass: Promise<unknown> = Promise.resolve();
  const timer =
    intervalMs > 0
      ? setInterval(() => {
          pass = checkEffectiveDates().catch((error: unknown) => logger.warn(`effective-date scheduler: ${error instanceof Error ? error.message : String(error)}`));
        }, intervalMs)
      : null;

  return {
    consumer,
    scheduler,
    checkEffectiveDates,
    async stop() {
      if (timer) clearInterval(timer);
      await pass;
      await server.close();
      await consumer.stop();
      await withdrawal.stop();
    },
  };
}
