import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import request from 'supertest';
import { ApiKeyStore, migrateAuth } from '@dh/auth';
import { apiKeyHeader, bearer, createTestApiKey, issueTestJwt, testAuthIssuersEnv } from '@dh/auth/testing';
import { createPostgresEventStore, type EventStore } from '@dh/event-store';
import { startServiceProcess, type ServiceProcess } from '@dh/platform';
import { customersProjection, rebuildProjection } from '@dh/read-models';
import { createTestDatabase, createTestVhost, type TestDatabase, type TestVhost } from '@dh/testing';
import { routeKey } from '../openapi/openapi';

/**
 * The authorization matrix (issue 5, part 1): every route the running gateway registered × every kind
 * of caller → the exact status. The route list is read at run time from the gateway's own start-up
 * log ("Mapped {/path, METHOD} route"), so a new endpoint without a row in MATRIX fails the test.
 *
 * Processes: portfolio (creates customers A, B and C through the API, erases C), datahub-integration
 * (staff quarantine) and gateway, as real processes from dist/ (`npm run build` first).
 *
 * Data: customers A, B, C are created through `POST /api/customers` with a CRM key (real command to
 * portfolio, real events) and projected into `read_models.customers` by rebuilding the customers
 * projection from the event store. Metering points, processes, a settlement run, invoices, credit
 * notes, aconto payments, daily consumption and an unusual-consumption notification of A and B are
 * written straight into their read model tables (the gateway creates the tables at start): the
 * services that would produce them need the market simulators and a month of data, and the gateway
 * reads only these tables. One webhook subscription of ERP is registered through the API; its
 * delivery row is inserted into `webhooks.deliveries` (the dispatcher is not running).
 *
 * Authorized callers of mutating routes whose owning service is not running (switch, move-in,
 * cancel, settlement run, metering point lookup, quarantine reprocess) send a deliberately invalid
 * request and expect 400: the guard runs before validation, so 400 proves the caller got past it,
 * while every unauthorized caller still gets 401/403.
 */

jest.setTimeout(90_000);

// ───────────────────────────── callers ─────────────────────────────

const CALLERS = [
  'anonymous', //    no credentials
  'forged-jwt', //   staff admin token signed with the wrong secret
  'revoked-key', //  CRM API key, revoked
  'expired-jwt', //  staff admin token, expired an hour ago
  'erp-key', //      API key, consumer erp
  'crm-key', //      API key, consumer crm
  'payment-key', //  API key, consumer payment
  'erp-client', //   OAuth2 client-credentials JWT, erp
  'crm-client', //   OAuth2 client-credentials JWT, crm
  'customer-a', //   portal JWT bound to customer A
  'customer-b', //   portal JWT bound to customer B
  'admin', //        staff JWT, role admin       (X-Access-Reason sent)
  'support', //      staff JWT, role support     (X-Access-Reason sent)
  'read-only', //    staff JWT, role read-only   (X-Access-Reason sent)
] as const;
type Caller = (typeof CALLERS)[number];

// ───────────────────────────── data ─────────────────────────────

const GSRN_A = '571313180400000028';
const GSRN_B = '571313180400000042';
const PROCESS_A = 'a0000000-0000-4000-8000-00000000a001';
const PROCESS_B = 'b0000000-0000-4000-8000-00000000b001';
const RUN = 'c0000000-0000-4000-8000-00000000c001';
const INVOICE_A = 'a0000000-0000-4000-8000-00000000a002';
const INVOICE_B = 'b0000000-0000-4000-8000-00000000b002';
const NOTE_A = 'a0000000-0000-4000-8000-00000000a003';
const NOTE_B = 'b0000000-0000-4000-8000-00000000b003';
const ACONTO_INVOICE_A = 'a0000000-0000-4000-8000-00000000a004';
const ACONTO_INVOICE_B = 'b0000000-0000-4000-8000-00000000b004';
const PAYMENT_A = 'aconto-a-2026-01';
const PAYMENT_B = 'aconto-b-2026-01';
const NOWHERE = 'd0000000-0000-4000-8000-00000000d404';

interface Ids {
  a: string;
  b: string;
  c: string;
  webhook: string;
  delivery: string;
  /** Customer A's CustomerCreated event (dispute desk trace). */
  event: string;
}
const ids: Ids = { a: '', b: '', c: '', webhook: '', delivery: '', event: '' };

// ───────────────────────────── the matrix ─────────────────────────────

interface Req {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  body?: unknown;
}
type Make = (caller: Caller) => Req | Promise<Req>;

const get = (path: () => string): Make => () => ({ method: 'GET', path: path() });
const post = (path: () => string, body: unknown = {}): Make => () => ({ method: 'POST', path: path(), body });
const put = (path: () => string, body: unknown = {}): Make => () => ({ method: 'PUT', path: path(), body });
const patch = (path: () => string, body: unknown = {}): Make => () => ({ method: 'PATCH', path: path(), body });
const portal = (what: string) => get(() => `/api/portal/${what}?customer_id=${ids.a}${what === 'consumption' ? `&gsrn=${GSRN_A}&from=2026-01-01&to=2026-01-31` : ''}`);

const NEW_CUSTOMER = { customer_name: 'Matrix Kunde', email: 'matrix@example.dk', customer_type: 'private', cpr: '040490-1234' };
const NEW_WEBHOOK = { url: 'http://127.0.0.1:9/hook', event_types: ['settlement.completed'] };

/**
 * route × caller → status. Every row's request targets customer A's data (or ERP's webhook), so
 * customer B's column is "another customer's data" and must read 404 (or 403 where customers lack the
 * scope altogether). 400 = authorized, request deliberately invalid (see the header comment).
 */
const MATRIX: [route: string, make: Make, statuses: Record<Caller, number>][] = [];
function row(route: string, make: Make, s: [number, number, number, number, number, number, number, number, number, number, number, number, number, number]): void {
  MATRIX.push([route, make, Object.fromEntries(CALLERS.map((c, i) => [c, s[i]])) as Record<Caller, number>]);
}

// prettier-ignore
{
//                                                                                                                                            anon forg revk expd erpK crmK payK erpC crmC cusA cusB admn supp ro
row('GET /health',                                       get(() => '/health'),                                                               [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200]);
row('GET /health/live',                                  get(() => '/health/live'),                                                          [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200]);
row('GET /health/ready',                                 get(() => '/health/ready'),                                                         [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200]);
row('GET /api/customers/{id}',                           get(() => `/api/customers/${ids.a}`),                                               [401, 401, 401, 401, 403, 200, 403, 403, 200, 200, 404, 200, 200, 200]);
row('POST /api/customers',                               post(() => '/api/customers', NEW_CUSTOMER),                                         [401, 401, 401, 401, 403, 201, 403, 403, 201, 403, 403, 201, 403, 403]);
row('PATCH /api/customers/{id}',                         patch(() => `/api/customers/${ids.a}`, { email: 'not-an-e-mail' }),                 [401, 401, 401, 401, 403, 400, 403, 403, 400, 403, 403, 400, 403, 403]);
row('POST /api/customers/{id}/identity',                 post(() => `/api/customers/${ids.a}/identity`),                                     [401, 401, 401, 401, 403, 400, 403, 403, 400, 403, 403, 400, 403, 403]);
row('POST /api/customers/{id}/switch',                   post(() => `/api/customers/${ids.a}/switch`),                                       [401, 401, 401, 401, 403, 400, 403, 403, 400, 403, 403, 400, 403, 403]);
row('POST /api/customers/{id}/move-in',                  post(() => `/api/customers/${ids.a}/move-in`),                                      [401, 401, 401, 401, 403, 400, 403, 403, 400, 403, 403, 400, 403, 403]);
row('POST /api/customers/{id}/move-out',                 post(() => `/api/customers/${ids.a}/move-out`),                                     [401, 401, 401, 401, 403, 400, 403, 403, 400, 403, 403, 400, 403, 403]);
row('POST /api/customers/{id}/end-of-supply',            post(() => `/api/customers/${ids.a}/end-of-supply`),                                [401, 401, 401, 401, 403, 400, 403, 403, 400, 403, 403, 400, 403, 403]);
row('POST /api/customers/{id}/metering-points/{gsrn}/product-changes', post(() => `/api/customers/${ids.a}/metering-points/${GSRN_A}/product-changes`), [401, 401, 401, 401, 403, 400, 403, 403, 400, 403, 403, 400, 403, 403]);
row('GET /api/customers/{id}/balance',                   get(() => `/api/customers/${ids.a}/balance`),                                       [401, 401, 401, 401, 200, 403, 200, 200, 403, 200, 404, 200, 200, 200]);
row('GET /api/customers/{id}/reminders',                 get(() => `/api/customers/${ids.a}/reminders`),                                     [401, 401, 401, 401, 200, 403, 200, 200, 403, 200, 404, 200, 200, 200]);
row('PUT /api/customers/{id}/betalingsservice-agreement', put(() => `/api/customers/${ids.a}/betalingsservice-agreement`),                           [401, 401, 401, 401, 403, 400, 403, 403, 400, 403, 403, 400, 403, 403]);
row('GET /api/processes/{id}',                           get(() => `/api/processes/${PROCESS_A}`),                                           [401, 401, 401, 401, 403, 200, 403, 403, 200, 403, 403, 200, 200, 200]);
row('POST /api/processes/{id}/cancel',                   post(() => `/api/processes/${PROCESS_A}/cancel`),                                   [401, 401, 401, 401, 403, 400, 403, 403, 400, 403, 403, 400, 403, 403]);
row('POST /api/processes/{id}/incorrect-switch',         post(() => '/api/processes/not-a-uuid/incorrect-switch'),                           [401, 401, 401, 401, 403, 400, 403, 403, 400, 403, 403, 400, 403, 403]);
row('GET /api/portfolio/summary',                        get(() => '/api/portfolio/summary'),                                                [401, 401, 401, 401, 403, 200, 403, 403, 200, 403, 403, 200, 200, 200]);
row('GET /api/portfolio/customers',                      get(() => '/api/portfolio/customers?limit=2'),                                      [401, 401, 401, 401, 403, 200, 403, 403, 200, 403, 403, 200, 200, 200]);
row('GET /api/portfolio/metering-points',                get(() => '/api/portfolio/metering-points?limit=2'),                                [401, 401, 401, 401, 403, 200, 403, 403, 200, 403, 403, 200, 200, 200]);
row('GET /api/customers/{id}/metering-points',           get(() => `/api/customers/${ids.a}/metering-points`),                               [401, 401, 401, 401, 403, 200, 403, 403, 200, 403, 403, 200, 200, 200]);
row('GET /api/metering-points/{gsrn}/lookup',            get(() => '/api/metering-points/123/lookup'),                                       [401, 401, 401, 401, 403, 400, 403, 403, 400, 403, 403, 400, 400, 400]);
row('GET /api/staff/quarantine',                         get(() => '/api/staff/quarantine'),                                                 [401, 401, 401, 401, 403, 403, 403, 403, 403, 403, 403, 200, 200, 200]);
row('POST /api/staff/quarantine/{id}/reprocess',         post(() => '/api/staff/quarantine/not-a-number/reprocess'),                         [401, 401, 401, 401, 403, 403, 403, 403, 403, 403, 403, 400, 403, 403]);
// Reconciliation: the service is not running here, so authorized callers send an invalid request (400).
row('GET /api/reconciliation/reports',                   get(() => '/api/reconciliation/reports?period=2026-13&grid_area=804'),             [401, 401, 401, 401, 400, 403, 403, 400, 403, 403, 403, 400, 403, 400]);
row('GET /api/reconciliation/findings',                  get(() => '/api/reconciliation/findings?state=bogus'),                              [401, 401, 401, 401, 400, 403, 403, 400, 403, 403, 403, 400, 403, 400]);
row('GET /api/reconciliation/findings/{id}',             get(() => '/api/reconciliation/findings/not-a-uuid'),                              [401, 401, 401, 401, 400, 403, 403, 400, 403, 403, 403, 400, 403, 400]);
row('POST /api/reconciliation/findings/{id}/state',      post(() => '/api/reconciliation/findings/not-a-uuid/state', { action: 'explain', note: 'x' }), [401, 401, 401, 401, 403, 403, 403, 403, 403, 403, 403, 400, 403, 403]);
row('POST /api/reconciliation/requests',                 post(() => '/api/reconciliation/requests', { kind: 'energy' }),                     [401, 401, 401, 401, 403, 403, 403, 403, 403, 403, 403, 400, 403, 403]);
row('GET /api/reconciliation/requests',                  get(() => '/api/reconciliation/requests'),                                          [401, 401, 401, 401, 400, 403, 403, 400, 403, 403, 403, 400, 403, 400]);
row('POST /api/reconciliation/runs',                     post(() => '/api/reconciliation/runs', { grid_area: 'x' }),                         [401, 401, 401, 401, 403, 403, 403, 403, 403, 403, 403, 400, 403, 403]);
row('GET /api/staff/stream-kinds',                       get(() => '/api/staff/stream-kinds'),                                               [401, 401, 401, 401, 403, 403, 403, 403, 403, 403, 403, 200, 200, 200]);
row('GET /api/staff/streams/{streamId}/events',          get(() => `/api/staff/streams/customer-${ids.a}/events`),                           [401, 401, 401, 401, 403, 403, 403, 403, 403, 403, 403, 200, 200, 200]);
row('GET /api/staff/streams/{streamId}/state',           get(() => `/api/staff/streams/customer-${ids.a}/state?as_of=2030-01-01T00:00:00Z`), [401, 401, 401, 401, 403, 403, 403, 403, 403, 403, 403, 200, 200, 200]);
row('GET /api/staff/streams/{streamId}/diff',            get(() => `/api/staff/streams/customer-${ids.a}/diff?from=2020-01-01T00:00:00Z`),   [401, 401, 401, 401, 403, 403, 403, 403, 403, 403, 403, 200, 200, 200]);
row('GET /api/staff/events/{eventId}',                   get(() => `/api/staff/events/${ids.event}`),                                        [401, 401, 401, 401, 403, 403, 403, 403, 403, 403, 403, 200, 200, 200]);
row('GET /api/staff/invoices/{invoiceId}/explanation',   get(() => '/api/staff/invoices/not-a-uuid/explanation'),                            [401, 401, 401, 401, 403, 403, 403, 403, 403, 403, 403, 400, 400, 400]);
row('GET /api/staff/invoices/{invoiceId}/recomputation', get(() => '/api/staff/invoices/not-a-uuid/recomputation'),                          [401, 401, 401, 401, 403, 403, 403, 403, 403, 403, 403, 400, 400, 400]);
row('GET /api/staff/recomputations',                     get(() => '/api/staff/recomputations?period=2026-13'),                              [401, 401, 401, 401, 403, 403, 403, 403, 403, 403, 403, 400, 400, 400]);
row('POST /api/staff/invoices/{invoiceId}/recomputation/apply', post(() => '/api/staff/invoices/not-a-uuid/recomputation/apply'),            [401, 401, 401, 401, 403, 403, 403, 403, 403, 403, 403, 400, 403, 403]);
row('GET /api/staff/audit',                              get(() => '/api/staff/audit?limit=5'),                                              [401, 401, 401, 401, 403, 403, 403, 403, 403, 403, 403, 200, 403, 403]);
row('GET /api/staff/rates/products',                     get(() => '/api/staff/rates/products'),                                             [401, 401, 401, 401, 403, 403, 403, 403, 403, 403, 403, 200, 200, 200]);
row('POST /api/staff/rates/products',                    post(() => '/api/staff/rates/products'),                                            [401, 401, 401, 401, 403, 403, 403, 403, 403, 403, 403, 400, 403, 403]);
row('GET /api/staff/rates/tax-rates',                    get(() => '/api/staff/rates/tax-rates'),                                            [401, 401, 401, 401, 403, 403, 403, 403, 403, 403, 403, 200, 200, 200]);
row('POST /api/staff/rates/tax-rates',                   post(() => '/api/staff/rates/tax-rates'),                                           [401, 401, 401, 401, 403, 403, 403, 403, 403, 403, 403, 400, 403, 403]);
row('GET /api/staff/rates/grid-areas',                   get(() => '/api/staff/rates/grid-areas'),                                           [401, 401, 401, 401, 403, 403, 403, 403, 403, 403, 403, 200, 200, 200]);
row('POST /api/staff/rates/grid-areas',                  post(() => '/api/staff/rates/grid-areas'),                                          [401, 401, 401, 401, 403, 403, 403, 403, 403, 403, 403, 400, 403, 403]);
row('GET /api/staff/rates/charges',                      get(() => '/api/staff/rates/charges'),                                              [401, 401, 401, 401, 403, 403, 403, 403, 403, 403, 403, 200, 200, 200]);
row('GET /api/staff/rates/charges/{chargeId}/versions',  get(() => '/api/staff/rates/charges/5790000432752:D03:41000/versions'),             [401, 401, 401, 401, 403, 403, 403, 403, 403, 403, 403, 404, 404, 404]);
row('POST /api/staff/rates/charges/{chargeId}/corrections', post(() => '/api/staff/rates/charges/5790000432752:D03:41000/corrections'),     [401, 401, 401, 401, 403, 403, 403, 403, 403, 403, 403, 400, 403, 403]);
row('GET /api/staff/rates/spot-prices',                  get(() => '/api/staff/rates/spot-prices?price_area=DK1&date=2026-01-10'),           [401, 401, 401, 401, 403, 403, 403, 403, 403, 403, 403, 200, 200, 200]);
row('POST /api/staff/rates/spot-prices/corrections',     post(() => '/api/staff/rates/spot-prices/corrections'),                             [401, 401, 401, 401, 403, 403, 403, 403, 403, 403, 403, 400, 403, 403]);
row('GET /api/products',                                 get(() => '/api/products'),                                                         [401, 401, 401, 401, 403, 200, 403, 403, 200, 403, 403, 200, 200, 200]);
row('GET /api/staff/ops/dead-letters',                   get(() => '/api/staff/ops/dead-letters'),                                           [401, 401, 401, 401, 403, 403, 403, 403, 403, 403, 403, 200, 200, 200]);
row('GET /api/staff/ops/dead-letters/{queue}/messages',  get(() => '/api/staff/ops/dead-letters/portfolio.process-manager/messages'),        [401, 401, 401, 401, 403, 403, 403, 403, 403, 403, 403, 200, 200, 200]);
row('GET /api/staff/ops/dead-letters/{queue}/discarded', get(() => '/api/staff/ops/dead-letters/portfolio.process-manager/discarded'),       [401, 401, 401, 401, 403, 403, 403, 403, 403, 403, 403, 200, 200, 200]);
row('POST /api/staff/ops/dead-letters/{queue}/messages/{id}/replay', post(() => `/api/staff/ops/dead-letters/portfolio.process-manager/messages/${NOWHERE}/replay`), [401, 401, 401, 401, 403, 403, 403, 403, 403, 403, 403, 404, 403, 403]);
row('POST /api/staff/ops/dead-letters/{queue}/messages/{id}/discard', post(() => `/api/staff/ops/dead-letters/portfolio.process-manager/messages/${NOWHERE}/discard`), [401, 401, 401, 401, 403, 403, 403, 403, 403, 403, 403, 400, 403, 403]);
row('GET /api/staff/ops/settlement-halts',               get(() => '/api/staff/ops/settlement-halts'),                                       [401, 401, 401, 401, 403, 403, 403, 403, 403, 403, 403, 200, 200, 200]);
row('GET /api/staff/ops/settlement-runs',                get(() => '/api/staff/ops/settlement-runs?status=all'),                             [401, 401, 401, 401, 403, 403, 403, 403, 403, 403, 403, 200, 200, 200]);
row('POST /api/staff/customers/search',                  post(() => '/api/staff/customers/search', { query: 'Matrix Kunde' }),               [401, 401, 401, 401, 403, 403, 403, 403, 403, 403, 403, 200, 200, 200]);
row('GET /api/staff/customers/{id}/streams',             get(() => `/api/staff/customers/${ids.a}/streams`),                                 [401, 401, 401, 401, 403, 403, 403, 403, 403, 403, 403, 200, 200, 200]);
row('GET /api/staff/customers/{id}/timeline',            get(() => `/api/staff/customers/${ids.a}/timeline?as_of=2030-01-01T00:00:00Z`),     [401, 401, 401, 401, 403, 403, 403, 403, 403, 403, 403, 200, 200, 200]);
row('GET /api/staff/customers/{id}/export',              get(() => `/api/staff/customers/${ids.a}/export`),                                  [401, 401, 401, 401, 403, 403, 403, 403, 403, 403, 403, 200, 200, 403]);
row('POST /api/staff/customers/{id}/erase',              post(() => `/api/staff/customers/${ids.c}/erase`),                                  [401, 401, 401, 401, 403, 403, 403, 403, 403, 403, 403, 200, 403, 403]);
row('GET /api/settlement/export',                        get(() => '/api/settlement/export?period=2026-01'),                                 [401, 401, 401, 401, 200, 403, 403, 200, 403, 403, 403, 200, 403, 403]);
row('GET /api/settlement/aconto-invoices',                get(() => '/api/settlement/aconto-invoices?quarter=2026-Q1'),                       [401, 401, 401, 401, 200, 403, 403, 200, 403, 403, 403, 200, 403, 403]);
row('GET /api/settlement/credit-notes',                  get(() => '/api/settlement/credit-notes'),                                          [401, 401, 401, 401, 200, 403, 403, 200, 403, 403, 403, 200, 403, 403]);
row('POST /api/settlement/credit-notes/{id}/acknowledge', post(() => '/api/settlement/credit-notes/not-a-uuid/acknowledge', {}),             [401, 401, 401, 401, 400, 403, 403, 400, 403, 403, 403, 400, 403, 403]);
row('POST /api/settlement/runs',                         post(() => '/api/settlement/runs'),                                                 [401, 401, 401, 401, 403, 403, 403, 403, 403, 403, 403, 400, 403, 403]);
row('GET /api/settlement/runs/{runId}',                  get(() => `/api/settlement/runs/${RUN}`),                                           [401, 401, 401, 401, 200, 403, 403, 200, 403, 403, 403, 200, 200, 200]);
row('GET /api/settlement/halted',                        get(() => '/api/settlement/halted?period=2026-10'),                                  [401, 401, 401, 401, 200, 403, 403, 200, 403, 403, 403, 200, 200, 200]);
row('GET /api/settlement/{id}/lines',                    get(() => `/api/settlement/${INVOICE_A}/lines`),                                    [401, 401, 401, 401, 200, 403, 403, 200, 403, 403, 403, 200, 200, 200]);
row('POST /api/payments',                                post(() => '/api/payments'),                                                        [401, 401, 401, 401, 400, 403, 400, 400, 403, 403, 403, 400, 403, 403]);
row('GET /api/payments/unmatched',                       get(() => '/api/payments/unmatched'),                                               [401, 401, 401, 401, 200, 403, 403, 200, 403, 403, 403, 200, 200, 200]);
row('POST /api/payments/unmatched/{id}/match',           post(() => '/api/payments/unmatched/pay-1/match'),                                  [401, 401, 401, 401, 403, 403, 403, 403, 403, 403, 403, 400, 403, 403]);
row('GET /api/portal/consumption',                       portal('consumption'),                                                              [401, 401, 401, 401, 403, 403, 403, 403, 403, 200, 404, 200, 200, 200]);
row('GET /api/portal/invoices',                          portal('invoices'),                                                                 [401, 401, 401, 401, 403, 403, 403, 403, 403, 200, 404, 200, 200, 200]);
row('GET /api/portal/profile',                           portal('profile'),                                                                  [401, 401, 401, 401, 403, 403, 403, 403, 403, 200, 404, 200, 200, 200]);
row('PATCH /api/portal/profile',                         patch(() => '/api/portal/profile', { email: 'not-an-e-mail' }),                     [401, 401, 401, 401, 403, 403, 403, 403, 403, 400, 400, 400, 403, 403]);
row('GET /api/portal/contract',                          portal('contract'),                                                                 [401, 401, 401, 401, 403, 403, 403, 403, 403, 200, 404, 200, 200, 200]);
row('GET /api/portal/aconto',                            portal('aconto'),                                                                   [401, 401, 401, 401, 403, 403, 403, 403, 403, 200, 404, 200, 200, 200]);
row('GET /api/portal/notifications',                     portal('notifications'),                                                            [401, 401, 401, 401, 403, 403, 403, 403, 403, 200, 404, 200, 200, 200]);
row('POST /api/webhooks',                                post(() => '/api/webhooks', NEW_WEBHOOK),                                           [401, 401, 401, 401, 201, 201, 403, 201, 201, 403, 403, 201, 403, 403]);
row('GET /api/webhooks',                                 get(() => '/api/webhooks'),                                                         [401, 401, 401, 401, 200, 200, 403, 200, 200, 403, 403, 200, 403, 403]);
row('DELETE /api/webhooks/{id}',                         async () => ({ method: 'DELETE', path: `/api/webhooks/${await erpWebhook()}` }),    [401, 401, 401, 401, 204, 404, 403, 204, 404, 403, 403, 404, 403, 403]);
row('GET /api/webhooks/{id}/deliveries',                 get(() => `/api/webhooks/${ids.webhook}/deliveries`),                               [401, 401, 401, 401, 200, 404, 403, 200, 404, 403, 403, 404, 403, 403]);
row('POST /api/webhooks/deliveries/{deliveryId}/redeliver', post(() => `/api/webhooks/deliveries/${ids.delivery}/redeliver`),                [401, 401, 401, 401, 202, 404, 403, 202, 404, 403, 403, 404, 403, 403]);
}

/**
 * Served by Swagger straight on the HTTP adapter (not through Nest's router, so not in the "Mapped"
 * log and outside the auth guard): public for everyone. Checked like the rows above.
 */
const UNROUTED_PUBLIC = ['GET /api/docs', 'GET /api/docs/openapi.json', 'GET /api/docs/openapi.yaml'];

// ───────────────────────────── processes and credentials ─────────────────────────────

let db: TestDatabase;
let vhost: TestVhost;
let pool: Pool;
let store: EventStore;
const services: ServiceProcess[] = [];
let gateway: ServiceProcess;
const headers = {} as Record<Caller, Record<string, string>>;

const http = () => request(gateway.url);

function send(req: Req, h: Record<string, string>): Promise<request.Response> {
  const base = http();
  const r =
    req.method === 'GET' ? base.get(req.path) : req.method === 'DELETE' ? base.delete(req.path) : req.method === 'PUT' ? base.put(req.path).send((req.body ?? {}) as object) : req.method === 'PATCH' ? base.patch(req.path).send((req.body ?? {}) as object) : base.post(req.path).send((req.body ?? {}) as object);
  return r.set(h);
}

/** A fresh ERP webhook subscription (for the DELETE row: each caller deletes its own fresh target). */
async function erpWebhook(): Promise<string> {
  const res = await http().post('/api/webhooks').set(headers['erp-key']).send(NEW_WEBHOOK);
  expect(res.status).toBe(201);
  return res.body.id as string;
}

async function createCustomer(name: string, cpr: string): Promise<string> {
  const res = await http().post('/api/customers').set(headers['crm-key']).send({ customer_name: name, email: `${name.toLowerCase().replace(/\W/g, '.')}@example.dk`, customer_type: 'private', cpr });
  expect({ status: res.status, body: res.status === 201 ? null : res.body }).toEqual({ status: 201, body: null });
  return res.body.id as string;
}

async function seedReadModels(): Promise<void> {
  const { a, b } = ids;
  await pool.query(
    `INSERT INTO read_models.metering_points (gsrn, type, settlement_method, grid_area, price_area, customer_id, supply_status, supply_start, product_id, billing_frequency, payment_model, updated_at)
     VALUES ($1, 'E17', 'D01', '344', 'DK1', $2, 'active', '2025-12-01', 'spot', 'monthly', 'aconto', now()),
            ($3, 'E17', 'D01', '344', 'DK1', $4, 'active', '2025-12-01', 'spot', 'monthly', 'aconto', now())`,
    [GSRN_A, a, GSRN_B, b],
  );
  await pool.query(
    `INSERT INTO read_models.processes (process_id, kind, gsrn, customer_id, effective_date, status, history, created_at, updated_at)
     VALUES ($1, 'BRS-001', $2, $3, '2025-12-01', 'pending', '[]', now(), now()), ($4, 'BRS-001', $5, $6, '2025-12-01', 'pending', '[]', now(), now())`,
    [PROCESS_A, GSRN_A, a, PROCESS_B, GSRN_B, b],
  );
  await pool.query(
    `INSERT INTO read_models.settlement_runs (run_id, period, status, items_total, items_done, items_invoiced, items_halted, started_at, completed_at)
     VALUES ($1, '2026-01', 'completed', 2, 2, 2, 0, now(), now())`,
    [RUN],
  );
  for (const [invoice, customer, gsrn] of [
    [INVOICE_A, a, GSRN_A],
    [INVOICE_B, b, GSRN_B],
  ]) {
    await pool.query(
      `INSERT INTO read_models.settlement_invoices (invoice_id, run_id, customer_id, gsrn, period, period_start, period_end, payment_model, lines,
         total_excl_vat, total_vat, total_incl_vat, aconto_paid, aconto_difference, net_amount_due, estimated, as_of, issued_at)
       VALUES ($1, $2, $3, $4, '2026-01', '2026-01-01', '2026-01-31', 'aconto', '[]', 100.00, 25.00, 125.00, 100.00, 25.00, 25.00, false, now(), now())`,
      [invoice, RUN, customer, gsrn],
    );
  }
  for (const [note, invoice, customer, gsrn] of [
    [NOTE_A, INVOICE_A, a, GSRN_A],
    [NOTE_B, INVOICE_B, b, GSRN_B],
  ]) {
    await pool.query(
      `INSERT INTO read_models.settlement_notes (note_id, invoice_id, customer_id, gsrn, period, note_type, cause, lines, total_excl_vat, total_vat, total_incl_vat, issued_at)
       VALUES ($1, $2, $3, $4, '2026-01', 'credit', 'spot-price-correction', '[]', -4.00, -1.00, -5.00, now())`,
      [note, invoice, customer, gsrn],
    );
  }
  await pool.query(
    `INSERT INTO read_models.aconto_payments (payment_id, customer_id, gsrn, amount, paid_at) VALUES ($1, $2, $3, 100.00, '2026-01-05T10:00:00Z'), ($4, $5, $6, 100.00, '2026-01-05T10:00:00Z')`,
    [PAYMENT_A, a, GSRN_A, PAYMENT_B, b, GSRN_B],
  );
  await pool.query(
    `INSERT INTO read_models.aconto_invoices (aconto_invoice_id, customer_id, gsrn, quarter, period_start, period_end, amount_excl_vat, vat, amount_incl_vat, due_date, trigger, settled_period, basis, issued_at)
     VALUES ($1, $2, $3, '2026-Q1', '2026-01-01', '2026-03-31', 300.00, 75.00, 375.00, '2026-01-10', 'supply-start', NULL, '{}', now()),
            ($4, $5, $6, '2026-Q1', '2026-01-01', '2026-03-31', 300.00, 75.00, 375.00, '2026-01-10', 'supply-start', NULL, '{}', now())`,
    [ACONTO_INVOICE_A, a, GSRN_A, ACONTO_INVOICE_B, b, GSRN_B],
  );
  await pool.query(
    `INSERT INTO read_models.consumption_daily (gsrn, day, quantity, hours, day_hours, estimated, missing)
     SELECT g, d::date, 10.5, 24, 24, false, false FROM unnest($1::text[]) g, generate_series('2026-01-01'::date, '2026-01-03'::date, '1 day') d`,
    [[GSRN_A, GSRN_B]],
  );
  await pool.query(
    `INSERT INTO read_models.consumption_anomalies (gsrn, day, quantity, baseline_median, baseline_days) VALUES ($1, '2026-01-03', 40, 10, 20), ($2, '2026-01-03', 40, 10, 20)`,
    [GSRN_A, GSRN_B],
  );
}

beforeAll(async () => {
  db = await createTestDatabase('authz_matrix');
  vhost = await createTestVhost('authz_matrix');
  pool = new Pool({ connectionString: db.url, max: 5 });
  await migrateAuth(pool);
  store = await createPostgresEventStore({ pool, pollIntervalMs: 50 });
  const env = { DATABASE_URL: db.url, AMQP_URL: vhost.url, COMMAND_TIMEOUT_MS: '5000', AUTH_ISSUERS: testAuthIssuersEnv(), RATE_LIMITS: 'off' };
  // Sequential starts keep a 2-core machine from timing out readiness checks.
  for (const name of ['portfolio', 'datahub-integration', 'gateway']) services.push(await startServiceProcess(name, env));
  gateway = services[2];

  const keys = new ApiKeyStore(pool);
  const revoked = await createTestApiKey(keys, { consumer: 'crm' });
  await keys.revoke(revoked.record.id, 'authorization-matrix');
  const staff = async (role: string) => ({ ...bearer(await issueTestJwt({ kind: 'staff', roles: [role], subject: `employee-${role}` })), 'X-Access-Reason': `authorization matrix (${role})` });
  Object.assign(headers, {
    anonymous: {},
    'forged-jwt': bearer(await issueTestJwt({ kind: 'staff', roles: ['admin'], secret: 'not-the-backoffice-secret-but-long-enough-0123456789' })),
    'revoked-key': apiKeyHeader(revoked.key),
    'expired-jwt': bearer(await issueTestJwt({ kind: 'staff', roles: ['admin'], expiresIn: -3600 })),
    'erp-key': apiKeyHeader((await createTestApiKey(keys, { consumer: 'erp' })).key),
    'crm-key': apiKeyHeader((await createTestApiKey(keys, { consumer: 'crm' })).key),
    'payment-key': apiKeyHeader((await createTestApiKey(keys, { consumer: 'payment' })).key),
    'erp-client': bearer(await issueTestJwt({ kind: 'client', consumer: 'erp' })),
    'crm-client': bearer(await issueTestJwt({ kind: 'client', consumer: 'crm' })),
    admin: await staff('admin'),
    support: await staff('support'),
    'read-only': await staff('read-only'),
  });

  ids.a = await createCustomer('Anna A', '010190-1234');
  ids.b = await createCustomer('Bent B', '020290-1234');
  ids.c = await createCustomer('Carl C', '030390-1234');
  await rebuildProjection(pool, store, customersProjection);
  ids.event = (await store.readStream(`customer-${ids.a}`, { maxCount: 1 }))[0]!.eventId;
  headers['customer-a'] = bearer(await issueTestJwt({ kind: 'customer', customerId: ids.a }));
  headers['customer-b'] = bearer(await issueTestJwt({ kind: 'customer', customerId: ids.b }));
  await seedReadModels();

  ids.webhook = await erpWebhook();
  ids.delivery = randomUUID();
  await pool.query(`INSERT INTO webhooks.deliveries (id, subscription_id, event_id, event_type, body, status, attempts) VALUES ($1, $2, $3, 'settlement.completed', '{}', 'failed', 5)`, [
    ids.delivery,
    ids.webhook,
    randomUUID(),
  ]);
}, 120_000);

afterAll(async () => {
  for (const service of [...services].reverse()) await service.stop();
  await store?.close();
  await pool?.end();
  await vhost?.drop();
  await db?.drop();
}, 60_000);

// ───────────────────────────── tests ─────────────────────────────

const PROBLEM_TYPE: Record<number, string> = { 401: 'unauthorized', 403: 'forbidden' };

describe('authorization matrix: every registered route × every caller', () => {
  it('has exactly one row per route the gateway registered (a new endpoint without a row fails here)', () => {
    const registered = new Set<string>();
    for (const match of gateway.output().matchAll(/Mapped \{([^,}]+), ([A-Z]+)\} route/g)) {
      if (match[2] === 'ALL') continue;
      registered.add(routeKey(match[2], match[1]));
    }
    const rows = MATRIX.map(([route]) => route);
    expect(new Set(rows).size).toBe(rows.length);
    expect([...registered].filter((r) => !rows.includes(r))).toEqual([]);
    expect(rows.filter((r) => !registered.has(r))).toEqual([]);
    expect(registered.size).toBe(MATRIX.length);
  });

  it.each(MATRIX.map(([route, make, statuses]) => ({ route, make, statuses })))('$route', async ({ route, make, statuses }) => {
    const actual = {} as Record<Caller, number>;
    const wrongProblems: string[] = [];
    for (const caller of CALLERS) {
      const req = await make(caller);
      const res = await send(req, headers[caller]);
      actual[caller] = res.status;
      const type = PROBLEM_TYPE[res.status];
      if (type !== undefined && res.body?.type !== `https://datahub-core.dev/problems/${type}`) wrongProblems.push(`${caller}: ${res.status} ${String(res.body?.type)}`);
      if (res.status === 401 && !String(res.headers['www-authenticate'] ?? '').includes('Bearer')) wrongProblems.push(`${caller}: 401 without WWW-Authenticate`);
    }
    expect({ route, statuses: actual }).toEqual({ route, statuses });
    expect(wrongProblems).toEqual([]);
  });

  it('serves no metrics on the public port, to anyone; Prometheus reads them on the metrics port', async () => {
    for (const caller of CALLERS) {
      const res = await http().get('/metrics').set(headers[caller]);
      expect({ caller, notServed: [401, 404].includes(res.status), metrics: res.text.includes('http_server_request_duration_seconds') }).toEqual({ caller, notServed: true, metrics: false });
    }
    const scraped = await fetch(`${gateway.metricsUrl}/metrics`);
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain('http_server_request_duration_seconds');
    expect((await fetch(`${gateway.metricsUrl}/api/customers`)).status).toBe(404);
  });

  it.each(UNROUTED_PUBLIC)('%s (Swagger, public)', async (route) => {
    const path = route.split(' ')[1];
    for (const caller of CALLERS) expect({ caller, status: (await http().get(path).set(headers[caller])).status }).toEqual({ caller, status: 200 });
  });
});

describe("customer A never sees customer B's data", () => {
  /** The body with the asked-for id replaced, so "B's" and "no such" bodies compare byte for byte. */
  const normalized = (res: request.Response, id: string) => ({ status: res.status, contentType: res.headers['content-type'], body: res.text.split(id).join('{id}') });
  const asA = (path: string) => http().get(path).set(headers['customer-a']);

  it.each([
    ['customer record', (id: string) => `/api/customers/${id}`],
    ['balance', (id: string) => `/api/customers/${id}/balance`],
    ['invoices', (id: string) => `/api/portal/invoices?customer_id=${id}`],
    ['aconto', (id: string) => `/api/portal/aconto?customer_id=${id}`],
    ['contract', (id: string) => `/api/portal/contract?customer_id=${id}`],
    ['notifications', (id: string) => `/api/portal/notifications?customer_id=${id}`],
    ['consumption by customer_id', (id: string) => `/api/portal/consumption?gsrn=${GSRN_A}&from=2026-01-01&to=2026-01-31&customer_id=${id}`],
  ])("%s of B: 404, the same body as for an id that does not exist", async (_what, path) => {
    const ofB = await asA(path(ids.b));
    const ofNobody = await asA(path(NOWHERE));
    expect(ofB.status).toBe(404);
    expect(normalized(ofB, ids.b)).toEqual(normalized(ofNobody, NOWHERE));
    expect(ofB.text).not.toContain(GSRN_B);
  });

  it("B's metering point (consumption by GSRN): 404, the same body as an unknown GSRN", async () => {
    const path = (gsrn: string) => `/api/portal/consumption?gsrn=${gsrn}&from=2026-01-01&to=2026-01-31`;
    const ofB = await asA(path(GSRN_B));
    const ofNobody = await asA(path('571313180499999999'));
    expect(ofB.status).toBe(404);
    expect(normalized(ofB, GSRN_B)).toEqual(normalized(ofNobody, '571313180499999999'));
    expect((await asA(path(GSRN_A))).status).toBe(200);
  });

  it("B's process: customers hold no process scope, so own, B's and unknown processes all answer the same 403", async () => {
    const own = await asA(`/api/processes/${PROCESS_A}`);
    const ofB = await asA(`/api/processes/${PROCESS_B}`);
    const ofNobody = await asA(`/api/processes/${NOWHERE}`);
    expect(ofB.status).toBe(403);
    expect(ofB.text).toBe(ofNobody.text);
    expect(ofB.text).toBe(own.text);
    expect(ofB.text).not.toContain(ids.b);
  });

  it("B's invoice (settlement lines): customers hold no settlement scope, so B's and unknown ids answer the same 403", async () => {
    const ofB = await asA(`/api/settlement/${INVOICE_B}/lines`);
    const ofNobody = await asA(`/api/settlement/${NOWHERE}/lines`);
    expect(ofB.status).toBe(403);
    expect(ofB.text).toBe(ofNobody.text);
  });

  it("lists called by A contain A's data and none of B's ids (customer id, GSRN, invoice, note, payment, process)", async () => {
    const lists = [
      '/api/portal/invoices',
      '/api/portal/contract',
      '/api/portal/aconto',
      '/api/portal/notifications',
      `/api/portal/consumption?gsrn=${GSRN_A}&from=2026-01-01&to=2026-01-31`,
      `/api/customers/${ids.a}`,
      `/api/customers/${ids.a}/balance`,
    ];
    const forbidden = () => [ids.b, GSRN_B, INVOICE_B, NOTE_B, PAYMENT_B, PROCESS_B, ACONTO_INVOICE_B];
    for (const path of lists) {
      const res = await asA(path);
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
      // Each answer is about A (by customer id, or by A's GSRN for consumption).
      expect({ path, aboutA: res.text.includes(ids.a) || res.text.includes(GSRN_A) }).toEqual({ path, aboutA: true });
      for (const id of forbidden()) expect({ path, leaked: res.text.includes(id) ? id : null }).toEqual({ path, leaked: null });
    }
    // A sees their own rows (the lists are not empty by accident).
    const invoices = (await asA('/api/portal/invoices')).body as { invoices: { invoice_id: string }[]; notes: { note_id: string }[] };
    expect(invoices.invoices.map((i) => i.invoice_id)).toEqual([INVOICE_A]);
    expect(invoices.notes.map((n) => n.note_id)).toEqual([NOTE_A]);
    const aconto = (await asA('/api/portal/aconto')).body as { payments: { payment_id: string }[]; settlements: { invoice_id: string }[] };
    expect(aconto.payments.map((p) => p.payment_id)).toEqual([PAYMENT_A]);
    expect(aconto.settlements.map((s) => s.invoice_id)).toEqual([INVOICE_A]);
    expect(JSON.stringify(aconto)).toContain(ACONTO_INVOICE_A);
    const contract = (await asA('/api/portal/contract')).body as { contracts: { gsrn: string }[] };
    expect(contract.contracts.map((c) => c.gsrn)).toEqual([GSRN_A]);
    const notifications = (await asA('/api/portal/notifications')).body as { notifications: { gsrns: string[] }[] };
    expect(notifications.notifications.flatMap((n) => n.gsrns)).toEqual([GSRN_A]);
  });

  it('query filters cannot widen A\'s view: ?customer_id= naming B (alone, repeated, with A) or a different case, ?gsrn= of B', async () => {
    const upperB = ids.b.toUpperCase();
    const attempts = [
      `/api/portal/invoices?customer_id=${ids.b}`,
      `/api/portal/invoices?customer_id=${upperB}`,
      `/api/portal/invoices?customer_id=${ids.a}&customer_id=${ids.b}`,
      `/api/portal/invoices?customer_id=${ids.b}&customer_id=${ids.a}`,
      `/api/portal/invoices?customer_id[]=${ids.b}`,
      `/api/portal/aconto?customer_id=${ids.a}&customer_id=${ids.b}`,
      `/api/portal/contract?customer_id=${ids.a}&customer_id=${ids.b}`,
      `/api/portal/notifications?customer_id=${ids.a}&customer_id=${ids.b}`,
      `/api/portal/consumption?gsrn=${GSRN_B}&from=2026-01-01&to=2026-01-31&customer_id=${ids.b}`,
      `/api/portal/consumption?gsrn=${GSRN_B}&from=2026-01-01&to=2026-01-31&customer_id=${ids.a}`,
      `/api/portal/consumption?gsrn=${GSRN_A}&gsrn=${GSRN_B}&from=2026-01-01&to=2026-01-31`,
      `/api/portal/consumption?gsrn=${GSRN_B}&gsrn=${GSRN_A}&from=2026-01-01&to=2026-01-31`,
      `/api/portal/consumption?gsrn=${GSRN_A}&from=2026-01-01&to=2026-01-31&customer_id=${ids.a}&customer_id=${ids.b}`,
      `/api/customers/${upperB}`,
      `/api/customers/${ids.b}/balance?customer_id=${ids.b}`,
      `/api/customers/${upperB}/balance`,
    ];
    for (const path of attempts) {
      const res = await asA(path);
      // Either refused (4xx) or, where the filter was ignored, A's own data only.
      expect({ path, ok: res.status === 404 || res.status === 400 || res.status === 200 }).toEqual({ path, ok: true });
      for (const id of [ids.b, upperB, GSRN_B, INVOICE_B, NOTE_B, PAYMENT_B, ACONTO_INVOICE_B]) {
        const leaked = res.status === 200 && res.text.includes(id) ? id : null;
        expect({ path, leaked }).toEqual({ path, leaked: null });
      }
    }
  });

  it('a scope claim cannot widen a token, and an unknown staff role grants nothing', async () => {
    const widenedCustomer = bearer(await issueTestJwt({ kind: 'customer', customerId: ids.a, scopes: ['portal:read', 'settlement:read', 'staff:read', 'customers:read', 'processes:write'] }));
    const widenedReadOnly = { ...bearer(await issueTestJwt({ kind: 'staff', roles: ['read-only'], scopes: ['staff:read', 'staff:write', 'customers:read'] })), 'X-Access-Reason': 'widening attempt' };
    const unknownRole = { ...bearer(await issueTestJwt({ kind: 'staff', roles: ['superuser', 'root'] })), 'X-Access-Reason': 'unknown role' };
    const narrowedCrm = apiKeyHeader((await createTestApiKey(new ApiKeyStore(pool), { consumer: 'crm', scopes: ['customers:read'] })).key);
    const cases: [string, Record<string, string>, Req, number][] = [
      ['customer + scope claim', widenedCustomer, { method: 'GET', path: `/api/settlement/${INVOICE_B}/lines` }, 403],
      ['customer + scope claim', widenedCustomer, { method: 'GET', path: `/api/processes/${PROCESS_B}` }, 403],
      ['customer + scope claim', widenedCustomer, { method: 'GET', path: `/api/portal/invoices?customer_id=${ids.b}` }, 404],
      ['customer + scope claim', widenedCustomer, { method: 'GET', path: `/api/customers/${ids.b}` }, 404],
      ['read-only + scope claim', widenedReadOnly, { method: 'POST', path: '/api/settlement/runs', body: {} }, 403],
      ['read-only + scope claim', widenedReadOnly, { method: 'POST', path: `/api/staff/customers/${NOWHERE}/erase`, body: {} }, 403],
      ['unknown staff role', unknownRole, { method: 'GET', path: `/api/customers/${ids.a}` }, 403],
      ['unknown staff role', unknownRole, { method: 'GET', path: '/api/staff/quarantine' }, 403],
      ['narrowed CRM key', narrowedCrm, { method: 'POST', path: '/api/customers', body: NEW_CUSTOMER }, 403],
      ['narrowed CRM key', narrowedCrm, { method: 'GET', path: `/api/customers/${ids.a}` }, 200],
    ];
    for (const [who, h, req, status] of cases) expect({ who, route: `${req.method} ${req.path}`, status: (await send(req, h)).status }).toEqual({ who, route: `${req.method} ${req.path}`, status });
  });

  it("an Idempotency-Key belongs to its caller: another caller's identical key creates their own customer, not a replay of the first", async () => {
    const key = 'crm-order-0001';
    const first = await http().post('/api/customers').set(headers['crm-key']).set('Idempotency-Key', key).send({ ...NEW_CUSTOMER, customer_name: 'First Caller', cpr: '050590-1234' });
    const again = await http().post('/api/customers').set(headers['crm-key']).set('Idempotency-Key', key).send({ ...NEW_CUSTOMER, customer_name: 'First Caller', cpr: '050590-1234' });
    const other = await http().post('/api/customers').set(headers['crm-client']).set('Idempotency-Key', key).send({ ...NEW_CUSTOMER, customer_name: 'Second Caller', cpr: '060690-1234' });
    const staffOne = await http().post('/api/customers').set(headers.admin).set('Idempotency-Key', key).send({ ...NEW_CUSTOMER, customer_name: 'Third Caller', cpr: '070790-1234' });
    expect([first.status, again.status, other.status, staffOne.status]).toEqual([201, 201, 201, 201]);
    expect(again.body.id).toBe(first.body.id);
    expect(new Set([first.body.id, other.body.id, staffOne.body.id]).size).toBe(3);
  });

  it('dispute desk views need a reason and are audited with it; the audit log reads them back, newest first, and records its own read', async () => {
    const support = bearer(await issueTestJwt({ kind: 'staff', roles: ['support'], subject: 'employee-desk' }));
    const path = `/api/staff/streams/customer-${ids.a}/state`;
    const refused = await http().get(path).set(support);
    expect([refused.status, refused.body.type]).toEqual([400, 'https://datahub-core.dev/problems/access-reason-required']);
    const state = await http().get(path).set(support).set('X-Access-Reason', 'dispute ticket 77 (caller 010190-1234)');
    expect(state.status).toBe(200);
    expect(state.body).toMatchObject({ kind: 'customer', revision: 0, state: { status: 'created', customerId: ids.a } });
    expect(JSON.stringify(state.body)).not.toContain('v1.');
    const log = await http().get('/api/staff/audit?actor_id=employee-desk').set(headers.admin);
    expect(log.status).toBe(200);
    expect(log.body.entries.map((e: { action: string; subject_id: string; reason: string | null; outcome: string }) => [e.action, e.subject_id, e.reason, e.outcome])).toEqual([
      ['stream.state', `customer-${ids.a}`, 'dispute ticket 77 (caller 010190-XXXX)', 'success'],
      ['stream.state', `customer-${ids.a}`, null, 'refused'],
    ]);
    const own = await http().get('/api/staff/audit?action=audit.read&limit=1').set(headers.admin);
    expect(own.body.entries[0]).toMatchObject({ action: 'audit.read', actor_id: 'employee-admin', subject_type: 'audit-log' });
  });

  it('a staff read of personal data without X-Access-Reason is refused (400), with one: 200', async () => {
    const noReason = bearer(await issueTestJwt({ kind: 'staff', roles: ['support'], subject: 'employee-no-reason' }));
    for (const path of [`/api/customers/${ids.a}`, `/api/staff/customers/${ids.a}/export`, `/api/portal/invoices?customer_id=${ids.a}`]) {
      const res = await http().get(path).set(noReason);
      expect({ path, status: res.status, type: res.body.type }).toEqual({ path, status: 400, type: 'https://datahub-core.dev/problems/access-reason-required' });
      expect((await http().get(path).set(noReason).set('X-Access-Reason', 'ticket 1')).status).toBe(200);
    }
  });
});
