/**
 * The human part of the OpenAPI document, one entry per route (`METHOD /path` with `{param}`):
 * summary, tag, success status and response schema, and the endpoint's own problems. Request
 * bodies come from the DTOs and security from the auth decorators, automatically. A route without
 * an entry here fails `openapi.int.spec.ts`: document a new endpoint when you add it.
 */

type Schema = Record<string, unknown>;

export interface OperationDoc {
  summary: string;
  tag: string;
  description?: string;
  /** Success status; default 201 for POST, 200 otherwise. */
  status?: number;
  response?: Schema;
  responseDescription?: string;
  contentType?: string;
  /** Endpoint-specific problems: status → description (with the stable type). */
  problems?: Record<string, string>;
}

const str = (description?: string): Schema => ({ type: 'string', ...(description ? { description } : {}) });
const nullable = (schema: Schema): Schema => ({ anyOf: [schema, { type: 'null' }] });
const uuid = (description?: string): Schema => ({ type: 'string', format: 'uuid', ...(description ? { description } : {}) });
const date: Schema = { type: 'string', format: 'date' };
const dateTime: Schema = { type: 'string', format: 'date-time' };
const amount = (description?: string): Schema => ({ type: 'string', pattern: '^-?\\d+\\.\\d{2}$', description: description ?? 'DKK with two decimals, as a string' });
const int: Schema = { type: 'integer' };
const counts: Schema = { type: 'object', additionalProperties: { type: 'integer' } };
const object = (properties: Record<string, Schema>, description?: string): Schema => ({
  type: 'object',
  properties,
  required: Object.keys(properties),
  ...(description ? { description } : {}),
});
const array = (items: Schema): Schema => ({ type: 'array', items });

export const PROBLEM_SCHEMA = {
  type: 'object' as const,
  description: 'RFC 9457 problem details. `type` is stable per kind of error; switch on it, not on `title` or `detail`.',
  required: ['type', 'title', 'status'],
  properties: {
    type: { type: 'string' as const, format: 'uri', example: 'https://datahub-core.dev/problems/customer-not-found' },
    title: { type: 'string' as const },
    status: { type: 'integer' as const },
    detail: { type: 'string' as const },
    errors: {
      type: 'array' as const,
      items: { type: 'object' as const, properties: { field: { type: 'string' as const }, messages: { type: 'array' as const, items: { type: 'string' as const } } } },
    },
    correlationId: { type: 'string' as const },
    retryAfterSeconds: { type: 'integer' as const },
    missingScopes: { type: 'array' as const, items: { type: 'string' as const } },
  },
};

const anyJson: Schema = { description: 'Any JSON value' };
const eventView = object({
  event_id: uuid(),
  type: str(),
  stream_id: str(),
  revision: int,
  global_position: str(),
  occurred_at: dateTime,
  recorded_at: dateTime,
  correlation_id: str(),
  causation_id: nullable(str()),
  actor: str(),
  context: str(),
  schema_version: int,
  data: { type: 'object', additionalProperties: true, description: 'The event data; sealed personal data and keyed indexes are replaced by a marker' },
});

const versionView = object({
  version: int,
  recorded_at: dateTime,
  occurred_at: dateTime,
  actor: str('Who set it: `staff:<employee>`, a service, or the Energi Data Service schedule'),
  event_id: uuid(),
  data: { type: 'object', additionalProperties: true, description: 'The version as recorded (the event data)' },
});
const ratesChange = object({ streamId: str(), appended: { type: 'boolean', description: 'false when the same definition was already in force' }, version: int, versions: array(versionView) });

const meteringPointLookup = { type: 'object', description: 'Eloverblik master data of the metering point', properties: { gsrn: str('18-digit GSRN') }, required: ['gsrn'], additionalProperties: true };

const customerView = object({
  id: uuid(),
  customer_type: { type: 'string', enum: ['private', 'business'] },
  status: { type: 'string', enum: ['created', 'active', 'offboarded'] },
  customer_name: nullable(str()),
  email: nullable(str()),
  phone: nullable(str()),
  cpr: nullable(str('Masked DDMMYY-XXXX; the full CPR never leaves the system through this API')),
  cvr: nullable(str()),
  address: object({ street: nullable(str()), postcode: nullable(str()), city: nullable(str()) }),
  placeholder: { type: 'boolean', description: 'Received by forced switch (BRS-044) and not completed: no name and no CPR/CVR yet' },
  created_at: dateTime,
  personal_data_erased: { type: 'boolean', description: 'true after GDPR erasure: name, e-mail, phone and CPR/CVR are null' },
});

const deadLetterView = object({
  id: str('The message id (event id), or sha256:<16 hex> of the body'),
  type: nullable(str()),
  routing_key: nullable(str()),
  failure_reason: nullable(str()),
  failure_count: nullable(int),
  first_failed_at: nullable(str()),
  replayed_at: nullable(str()),
  body: str('The message body (JSON text), CPR and e-mail masked'),
});

const contactDetailsChanged = object({ id: uuid(), changed: array(str('A field whose value changed: name, email, phone, street, postcode or city')) });
const customerHit = object({
  id: uuid(),
  customer_name: nullable(str()),
  customer_type: str(),
  status: str(),
  cpr: nullable(str('Masked DDMMYY-XXXX')),
  cvr: nullable(str()),
  gsrns: array(str()),
});

const historyEntry = object({ from: nullable(str()), status: str(), at: dateTime, reason: str() });
historyEntry.required = ['from', 'status', 'at'];

const portfolioMeteringPoint = object({
  gsrn: str(),
  type: nullable(str('E17 consumption, E18 production')),
  settlement_method: nullable(str()),
  grid_area: nullable(str()),
  price_area: nullable(str()),
  customer_id: nullable(uuid('The customer of our current or latest supply')),
  supply_status: { type: 'string', enum: ['none', 'active', 'ended', 'reversed'] },
  supply_start: nullable(date),
  supply_end: nullable(date),
  product_id: nullable(str()),
  billing_frequency: nullable(str()),
  payment_model: nullable(str()),
});

const processOutcome: Schema = {
  type: 'string',
  enum: ['pending', 'accepted', 'rejected', 'cancelled'],
  description: 'As the CRM contract names it: `pending` until DataHub answers, then `accepted` (also once effective), `rejected` or `cancelled` (withdrawn, or reversed by BRS-003)',
};
const processDetailedStatus: Schema = { type: 'string', enum: ['created', 'requested', 'pending', 'active', 'completed', 'rejected', 'cancelled', 'reversed'], description: 'Our finer state; `history` uses these' };

const processView = object({
  id: uuid(),
  kind: nullable(str('switch, move-in, move-out, end-of-supply, …')),
  gsrn: nullable(str()),
  customer_id: nullable(uuid()),
  effective_date: nullable(date),
  status: processOutcome,
  detailed_status: processDetailedStatus,
  rejection: nullable(object({ reason_code: str(), reason_text: str() })),
  history: array(historyEntry),
  updated_at: dateTime,
});

const exportLine = object({
  line_key: str(),
  kind: str(),
  description: str(),
  charge_id: nullable(str()),
  month: nullable(str()),
  quantity_kwh: nullable(str('kWh, decimal string')),
  unit_price: nullable(str('DKK per kWh, decimal string')),
  days_supplied: nullable(int),
  amount_excl_vat: amount(),
  vat_amount: amount(),
  amount_incl_vat: amount(),
});

const exportInvoice = object({
  invoice_id: uuid('Stable per GSRN and period'),
  customer_id: str(),
  gsrn: str(),
  period_start: date,
  period_end: { ...date, description: 'Inclusive' },
  lines: array(exportLine),
  total_excl_vat: amount(),
  total_vat: amount(),
  total_incl_vat: amount(),
  aconto_paid: amount(),
  aconto_difference: amount(),
  net_amount_due: amount(),
  payment_reference: str('FI payment id (kortart +71, Luhn check digit) to pay this invoice with: `+71<` + 15 digits'),
});
exportInvoice.additionalProperties = true;

const noteExport = object({
  state: { type: 'string', enum: ['pending', 'acknowledged'], description: '`pending` until ERP acknowledges it has booked the note' },
  acknowledged_at: nullable(dateTime),
  erp_reference: nullable(str("ERP's own id of the booked note")),
});

const exportNote = object({
  note_id: uuid(),
  invoice_id: uuid(),
  note_type: { type: 'string', enum: ['credit', 'debit'] },
  cause: str(),
  customer_id: str(),
  gsrn: str(),
  period: str(),
  lines: array(exportLine),
  total_excl_vat: amount(),
  total_vat: amount(),
  total_incl_vat: amount(),
  issued_at: dateTime,
  export: noteExport,
});

const workerView = object({
  name: str('Queue or relay name'),
  kind: { type: 'string', enum: ['consumer', 'relay'] },
  state: { type: 'string', enum: ['starting', 'running', 'retrying', 'disconnected', 'standby', 'halted', 'stopped'] },
  reason: nullable(str('Why it is not running: the last error, or what halted it')),
  since: dateTime,
});
const healthReport = {
  type: 'object',
  properties: { status: { type: 'string', enum: ['ok'] }, checks: { type: 'object', additionalProperties: true }, workers: array(workerView) },
  required: ['status'],
};
const notReady = { '503': 'Not ready (`service-unavailable`): the detail names each dependency that is down and each consumer that is halted, retrying or disconnected; `checks` and `workers` as in the report.' };

const customerNotFound = '`customer-not-found`: no such customer (or not yours).';
const dkk6 = (description?: string): Schema => ({ type: 'string', pattern: '^-?\\d+\\.\\d{6}$', description: description ?? 'DKK with six decimals (DataHub\'s wholesale precision), as a string' });
const kwh3: Schema = { type: 'string', pattern: '^-?\\d+\\.\\d{3}$', description: 'kWh with three decimals, as a string' };
const findingState: Schema = { type: 'string', enum: ['open', 'explained', 'resolved'] };
const finding: Schema = object({
  finding_id: uuid('stable across runs'),
  grid_area: str(),
  period: str('YYYY-MM'),
  kind: str('metering-point-not-supplied-by-us, metering-point-unknown-to-datahub, metered-data-version, charge-link-unknown-to-us, charge-link-unknown-to-datahub, price, unexplained, invoice'),
  metering_points: array(str('GSRN')),
  charges: array(str('owner:type:code')),
  quantity_difference: nullable(kwh3),
  amount_difference: nullable(dkk6('DataHub − ours')),
  from: nullable(dateTime),
  to: nullable(dateTime),
  explanation: str(),
  datahub_result: str('e.g. D05 v3, D32/D01 v7'),
  state: findingState,
});
const datahubResult: Schema = object({ kind: str('energy or wholesale'), business_reason: str(), settlement_version: nullable(str()), calculation_version: nullable(int), received_at: dateTime, series: int });
const reconciliationCompleted: Schema = { type: 'object', additionalProperties: true, description: 'The data of the run\'s `reconciliation.completed` event (docs/events), in camelCase keys turned snake_case' };

const upstream = { '503': 'The owning service is unavailable (`upstream-unavailable`).', '504': 'The owning service did not answer in time (`upstream-timeout`); retry with the same Idempotency-Key.' };

const GDPR_EXPORT = object(
  {
    exported_at: dateTime,
    customer: customerView,
    personal_data: nullable({ type: 'object', description: 'Decrypted personal data (name, email, phone, cpr, cvr); null after erasure', additionalProperties: nullable(str()) }),
    metering_points: array({ type: 'object', additionalProperties: true }),
    processes: array(processView),
    invoices: array(exportInvoice),
    credit_and_debit_notes: array(exportNote),
    aconto_payments: array(object({ payment_id: str(), gsrn: str(), amount: amount(), paid_at: dateTime })),
    audit_entries: array({ type: 'object', additionalProperties: true, description: 'Audit-log entries whose subject is this customer' }),
    events: array(object({ stream_id: str(), revision: int, type: str(), occurred_at: dateTime, recorded_at: dateTime })),
  },
  'Everything held about one customer (GDPR art. 15/20).',
);

export const OPERATIONS: Record<string, OperationDoc> = {
  'GET /health': { summary: 'Readiness (alias of /health/ready)', tag: 'health', response: healthReport, problems: notReady },
  'GET /health/live': { summary: 'Liveness', tag: 'health', response: object({ status: { type: 'string', enum: ['ok'] } }) },
  'GET /health/ready': {
    summary: 'Readiness: PostgreSQL, RabbitMQ and the event store reachable, every consumer and relay working (their states listed)',
    tag: 'health',
    response: healthReport,
    problems: notReady,
  },

  'POST /api/customers': {
    summary: 'Create a customer; with a GSRN also look up the metering point and start the switch or move-in',
    tag: 'customers',
    description: 'Send `Idempotency-Key` to make retries safe.',
    response: object({ id: uuid(), gsrn: nullable(str()), process_id: nullable(uuid()), metering_point: nullable(meteringPointLookup) }),
    problems: { '409': '`customer-exists`: a customer with this CPR/CVR exists.', '422': 'Refused by the domain (`lead-time`, `unknown-metering-point`, …).', ...upstream },
  },
  'GET /api/customers/{id}': { summary: 'Read a customer', tag: 'customers', response: customerView, problems: { '404': customerNotFound } },
  'PATCH /api/customers/{id}': {
    summary: 'Change contact details (name, e-mail, phone, address); a field left out keeps its value, null removes it',
    tag: 'customers',
    description: 'The whole record is sealed again in a `CustomerPersonalDataChanged` event that names the changed fields, never their values, and the public `customer.updated` is published (the customer id, the changed field names and when). Nothing is recorded when nothing differs. Staff (admin) need `X-Access-Reason`; the change is audited.',
    response: contactDetailsChanged,
    problems: { '404': customerNotFound, '409': '`personal-data-erased`: the customer was erased (GDPR).', ...upstream },
  },
  'POST /api/customers/{id}/identity': {
    summary: 'Complete a customer received by forced switch (BRS-044) with name and CPR (private) or CVR (business)',
    tag: 'customers',
    status: 200,
    description: 'DataHub\'s RSM-028 carries no CPR: such a customer is a placeholder until this is done. Once per customer; afterwards the customer is found by CPR/CVR and name. Publishes `customer.updated` naming the filled fields.',
    response: object({ id: uuid(), customer_type: str(), completed: { type: 'boolean' } }),
    problems: { '404': customerNotFound, '409': '`not-a-placeholder` (the customer has a CPR/CVR or was not received by forced switch), `identity-already-completed`, `personal-data-erased`.', ...upstream },
  },
  'POST /api/customers/{id}/switch': {
    summary: 'Start a supplier switch (BRS-001)',
    tag: 'processes',
    status: 202,
    response: object({ process_id: uuid(), gsrn: str() }),
    problems: { '404': customerNotFound, '409': '`process-exists`/`illegal-transition`.', '422': '`lead-time`, `unknown-metering-point`, …', ...upstream },
  },
  'POST /api/customers/{id}/move-in': {
    summary: 'Start a move-in (BRS-009)',
    tag: 'processes',
    status: 202,
    response: object({ process_id: uuid(), gsrn: str() }),
    problems: { '404': customerNotFound, '409': '`process-exists`/`illegal-transition`.', '422': '`lead-time`, `unknown-metering-point`, …', ...upstream },
  },
  'POST /api/customers/{id}/move-out': {
    summary: 'Start a move-out (BRS-010): the supply ends on effective_date, then `customer.offboarded` (move-out)',
    tag: 'processes',
    status: 202,
    description: 'Send `Idempotency-Key` to make retries safe.',
    response: object({ process_id: uuid(), gsrn: str() }),
    problems: { '404': customerNotFound, '409': '`process-exists`.', '422': '`lead-time`, `unknown-metering-point`, …', ...upstream },
  },
  'POST /api/customers/{id}/metering-points/{gsrn}/product-changes': {
    summary: "Change the product of the customer's supply on a metering point from a day (`ProductChanged`)",
    tag: 'portfolio',
    status: 200,
    description:
      'The supply of this customer running on `effective_date` is priced with `product_id` from that day: settlement corrects the invoices already issued for the days from then (credit/debit notes) and invoices later periods with it; `GET /api/customers/{id}/metering-points` lists it under the supply\'s `product_changes`. The product must be in the catalogue, offered with the supply\'s billing frequency and on sale on the day. The same change again appends nothing (`changed: false`); send `Idempotency-Key` to make retries safe. Staff (admin) need `X-Access-Reason`; the change is audited (`customer.change-product`).',
    response: object({ customer_id: uuid(), gsrn: str(), product_id: str(), effective_date: date, changed: { type: 'boolean' } }),
    problems: {
      '400': '`validation`: the GSRN, the date or the product (not in the catalogue, not offered with the billing frequency, not on sale on the day).',
      '404': `${customerNotFound} \`supply-not-found\`: the customer has no supply of ours on the metering point.`,
      '422': '`no-supply`: no supply of this customer runs on `effective_date` (before its start, after its end); `invalid-product`.',
      ...upstream,
    },
  },
  'POST /api/customers/{id}/end-of-supply': {
    summary: 'Start an end of supply (BRS-002), e.g. after non-payment: 60 calendar days to 3 business days ahead',
    tag: 'processes',
    status: 202,
    description:
      'Send `Idempotency-Key` to make retries safe. Reason `non-payment` only after the legally required reminders: the customer has a claim whose last reminder (warning of further steps) was sent and its deadline has passed. Withdraw it before the date with `POST /api/processes/{id}/cancel` and reason `customer-paid` (RSM-002 inside BRS-002).',
    response: object({ process_id: uuid(), gsrn: str() }),
    problems: { '404': customerNotFound, '409': '`process-exists`; `reminders-not-sent` (non-payment before the reminders).', '422': '`lead-time` (outside 60 calendar days to 3 business days ahead), `unknown-metering-point`, …', ...upstream },
  },
  'GET /api/customers/{id}/balance': {
    summary: 'Customer balance across all invoices, aconto included: invoiced, notes, open aconto invoices, payments',
    tag: 'settlement',
    description:
      'An aconto invoice counts until the settlement invoice of its quarter (same metering point) settles it; from then on that invoice claims the actual consumption and payments made on the aconto invoice count against it.',
    response: object({
      customer_id: str(),
      invoiced: amount('Σ settlement invoices, incl. VAT'),
      notes: amount('Σ credit/debit notes, incl. VAT'),
      aconto_invoiced: amount('Σ aconto invoices not yet settled by a settlement invoice'),
      aconto_paid: amount('Aconto payments recorded on a metering point without an invoice reference'),
      reminder_fees: amount('Σ reminder fees charged (reminder.sent; no VAT, renteloven § 9 b)'),
      interest: amount('Σ interest charged with reminders (reference rate + 8 points, renteloven § 5)'),
      paid: amount('Payments matched to the customer\'s invoices and aconto invoices (payment.received)'),
      written_off: amount('Written off on the debt-collection agency\'s recommendation'),
      balance: amount('invoiced + notes + aconto_invoiced + reminder_fees + interest − aconto_paid − paid − written_off'),
      invoices: int,
      aconto_invoices: int,
    }),
    problems: { '404': customerNotFound },
  },
  'GET /api/customers/{id}/reminders': {
    summary: 'Reminders sent to the customer (reminder.sent), newest first: fee, interest, new deadline, FI payment line',
    tag: 'payments',
    description: 'At most three reminders for the same claim, at least ten days apart, each fee at most 100 DKK without VAT (renteloven § 9 b); interest at the reference rate + 8 points (§ 5). A customer reads their own only.',
    response: object({
      customer_id: str(),
      reminders: array(
        object({
          reminder_id: uuid(),
          invoice_id: uuid(),
          invoice_kind: { type: 'string', enum: ['invoice', 'aconto'] },
          number: int,
          sent_on: date,
          due_date: date,
          deadline: date,
          principal: amount('Overdue amount of the invoice itself'),
          fee: amount('Reminder fee, no VAT'),
          interest: amount('Interest charged with this reminder'),
          interest_from: nullable(date),
          interest_through: nullable(date),
          annual_interest_rates_percent: array(str()),
          amount_due: amount('To pay by the deadline: principal + fees and interest charged so far'),
          payment_reference: str('FI payment line +71<…'),
          warns_of_collection: { type: 'boolean' },
        }),
      ),
    }),
    problems: { '404': customerNotFound },
  },
  'PUT /api/customers/{id}/betalingsservice-agreement': {
    summary: 'Register the customer\'s Betalingsservice agreement (from CRM onboarding): invoices are then collected by Betalingsservice',
    tag: 'payments',
    description:
      'Becomes `BetalingsserviceAgreementRegistered` (source `crm`); agreements registered at the customer\'s bank arrive in Betalingsservice\'s 0603 delivery too. From then on the customer\'s invoices and aconto invoices are collected on the next collection day whose delivery deadline (banking days before the month starts) is met; without an agreement the customer pays by FI slip (+71).',
    status: 200,
    response: object({ customer_id: uuid(), customer_number: str('kundenr, 15 digits, derived from the customer id'), agreement_number: str(), state: { type: 'string', enum: ['active'] }, already_registered: { type: 'boolean' } }),
    problems: { '422': '`validation`.', ...upstream },
  },
  'GET /api/processes/{id}': { summary: 'A DataHub process with its status history', tag: 'processes', response: processView, problems: { '404': '`process-not-found`.' } },
  'POST /api/processes/{id}/cancel': {
    summary: 'Cancel a DataHub process',
    tag: 'processes',
    status: 202,
    response: { type: 'object', additionalProperties: true },
    problems: { '404': '`process-not-found`.', '409': '`illegal-transition`: the process can no longer be cancelled.', ...upstream },
  },
  'POST /api/processes/{id}/incorrect-switch': {
    summary: 'Declare an active switch incorrect (BRS-003): only the latest switch, within 180 days; answers the new BRS-003 process',
    tag: 'processes',
    status: 202,
    description: 'Send `Idempotency-Key` to make retries safe. On DataHub\'s acceptance the supply is reversed (`SupplyReversed`: invoices for it are credited in full) and `customer.offboarded` (incorrect-switch) follows.',
    response: object({ process_id: uuid('The BRS-003 process'), reversed_process_id: uuid('The switch being undone') }),
    problems: {
      '404': '`process-not-found`.',
      '409': '`illegal-transition`: not an active switch (BRS-001/009/044).',
      '422': '`lead-time` (more than 180 days after the switch), `not-latest-switch`.',
      ...upstream,
    },
  },
  'GET /api/portfolio/summary': {
    summary: 'Portfolio counts: customers, metering points, open processes',
    tag: 'portfolio',
    response: object({
      customers: object({ total: int, active: int, by_status: counts }),
      metering_points: object({ total: int, supplied: int, by_supply_status: counts, by_price_area: counts }),
      processes: object({ open: int, by_status: counts }),
    }),
    description: 'Counts only; `GET /api/portfolio/customers` and `GET /api/portfolio/metering-points` list them a page at a time.',
  },
  'GET /api/portfolio/customers': {
    summary: 'The portfolio\'s customers with their metering points, a page at a time',
    tag: 'portfolio',
    description:
      'Keyset paging: `limit` (1-500, default 100) and `after` = the previous page\'s `next` (a customer id); `next` is null on the last page. `status` = created, active or offboarded. No personal data (names stay in CRM).',
    response: object({
      customers: array(object({ id: uuid(), customer_type: str(), status: str(), created_at: dateTime, metering_points: array(portfolioMeteringPoint) })),
      next: nullable(uuid('Pass as `after` for the next page')),
    }),
    problems: { '400': '`validation`: limit, after or status out of range.' },
  },
  'GET /api/portfolio/metering-points': {
    summary: 'The portfolio\'s metering points with our current supply, a page at a time',
    tag: 'portfolio',
    description: 'Keyset paging on the GSRN: `limit` (1-500, default 100), `after` = the previous page\'s `next`. `supply_status` = none, active, ended or reversed.',
    response: object({ metering_points: array(portfolioMeteringPoint), next: nullable(str('GSRN; pass as `after` for the next page')) }),
    problems: { '400': '`validation`: limit, after or supply_status out of range.' },
  },
  'GET /api/customers/{id}/metering-points': {
    summary: 'A customer\'s metering points with every supply period and the DataHub processes on them',
    tag: 'portfolio',
    response: object({
      customer_id: uuid(),
      metering_points: array(
        object({
          gsrn: str(),
          type: nullable(str()),
          settlement_method: nullable(str()),
          grid_area: nullable(str()),
          price_area: nullable(str()),
          supply_periods: array(
            object({
              supply_id: uuid('The process that started the supply'),
              start_date: date,
              end_date: nullable({ ...date, description: 'The first day no longer supplied' }),
              status: { type: 'string', enum: ['active', 'ended', 'reversed'] },
              end_reason: nullable(str('switched-away, move-out, end-of-supply, incorrect-switch')),
              product_id: nullable(str('The product the supply started with')),
              product_changes: array(object({ product_id: str(), from: date }, 'A change of product from `from` (the first day on it), in date order')),
              billing_frequency: nullable(str()),
              payment_model: nullable(str()),
              production_gsrn: nullable(str('The production (E18) metering point netted against this supply (own solar)')),
            }),
          ),
          processes: array(object({ process_id: uuid(), kind: nullable(str()), status: processOutcome, detailed_status: processDetailedStatus, effective_date: nullable(date) })),
        }),
      ),
    }),
    problems: { '404': customerNotFound },
  },
  'GET /api/metering-points/{gsrn}/lookup': { summary: 'Look a metering point up in Eloverblik', tag: 'portfolio', response: meteringPointLookup, problems: { '404': '`metering-point-not-found`.', ...upstream } },
  'GET /api/staff/quarantine': {
    summary: 'DataHub messages that could not be processed (quarantine)',
    tag: 'staff',
    response: { type: 'object', additionalProperties: true },
    problems: upstream,
  },
  'POST /api/staff/quarantine/{id}/reprocess': { summary: 'Reprocess a quarantined DataHub message', tag: 'staff', status: 200, response: { type: 'object', additionalProperties: true }, problems: upstream },
  // Dispute desk (staff; every view needs X-Access-Reason and is audited).
  'GET /api/staff/stream-kinds': {
    summary: 'The stream categories the dispute desk folds (customer, metering point, process, invoice, run, payment, …)',
    tag: 'dispute-desk',
    response: object({ kinds: array(object({ kind: str(), prefix: str(), description: str() })) }),
  },
  'GET /api/staff/streams/{streamId}/events': {
    summary: 'A stream\'s events with recorded time, causation and correlation (sealed personal data redacted)',
    tag: 'dispute-desk',
    description: '`as_of`: only events recorded at or before it; `from_revision` and `limit` (≤ 1000) page; `next_revision` continues.',
    response: object({ stream_id: str(), kind: str(), as_of: nullable(dateTime), events: array(eventView), next_revision: nullable(int) }),
    problems: { '400': '`validation`: malformed stream id or query.', '404': '`stream-not-found`.' },
  },
  'GET /api/staff/streams/{streamId}/state': {
    summary: 'A stream\'s state folded as known at a moment (`as_of`, default now)',
    tag: 'dispute-desk',
    response: object({ stream_id: str(), kind: str(), description: str(), as_of: nullable(dateTime), revision: nullable(int), events_folded: int, last_recorded_at: nullable(dateTime), state: anyJson }),
    problems: { '400': '`validation`.', '404': '`stream-not-found`.' },
  },
  'GET /api/staff/streams/{streamId}/diff': {
    summary: 'What changed in a stream\'s state between two moments, and the events that changed it',
    tag: 'dispute-desk',
    description: '`from` is required, `to` defaults to now.',
    response: object({
      stream_id: str(),
      kind: str(),
      from: object({ as_of: dateTime, revision: nullable(int) }),
      to: object({ as_of: dateTime, revision: nullable(int) }),
      events: array(eventView),
      changes: array(object({ path: str(), change: { type: 'string', enum: ['added', 'removed', 'changed'] }, before: anyJson, after: anyJson })),
    }),
    problems: { '400': '`validation`: from after to, or malformed.', '404': '`stream-not-found`.' },
  },
  'GET /api/staff/events/{eventId}': {
    summary: 'One event with its causation chain (causes up to 25, caused up to 100) and its correlation',
    tag: 'dispute-desk',
    response: object({ event: eventView, causes: array(eventView), caused: array(eventView), correlated: array(eventView) }),
    problems: { '404': '`event-not-found`.', '501': '`not-supported`: the event store cannot look events up by id (KurrentDB).' },
  },
  'GET /api/staff/invoices/{invoiceId}/explanation': {
    summary: 'An invoice explained: as issued beside as computed now, the correction notes that bridge them, each line traced to its inputs',
    tag: 'dispute-desk',
    description:
      'Computed by settlement from its copies, read only. `asIssued` recomputes from what was known when the invoice was issued (`reproduced` says whether it gives the issued lines); `now` is the invoice as a correction issued now would make it; `lines[].pendingExclVat` is that difference per line; `inputs` name the metered data versions and qualities, spot price versions, charge rows, tax rows, electric-heating threshold and production point.',
    response: { type: 'object', additionalProperties: true, required: ['invoice', 'issued', 'notes', 'corrected', 'asIssued', 'now', 'lines', 'bridge'], properties: { invoice: { type: 'object', additionalProperties: true }, lines: array({ type: 'object', additionalProperties: true }), bridge: { type: 'object', additionalProperties: true } } },
    problems: { '404': '`not-found`: no issued invoice with this id.', ...upstream },
  },
  'GET /api/staff/invoices/{invoiceId}/recomputation': {
    summary: 'Dry run of a recomputation: the credit/debit note a recomputation at `as_of` (default now) would issue; appends nothing; audited',
    tag: 'dispute-desk',
    description:
      'Settlement recomputes the invoice from its copies with prices as known at `as_of` and diffs it against the invoice as last corrected. `wouldIssue` is the note per line (`none` when nothing changed or the recomputation halts); `recomputed.inputs` name what it used; `asOf` and `basedOnRevision` are what the apply route needs.',
    response: {
      type: 'object',
      additionalProperties: true,
      required: ['invoiceId', 'gsrn', 'period', 'corrected', 'recomputed', 'wouldIssue', 'asOf', 'basedOnRevision'],
      properties: { wouldIssue: { type: 'object', additionalProperties: true }, asOf: dateTime, basedOnRevision: int },
    },
    problems: { '404': '`not-found`: no issued invoice with this id.', ...upstream },
  },
  'GET /api/staff/recomputations': {
    summary: "Dry runs of a customer's invoices and/or a period's (`customer_id`, `period`), a page at a time; appends nothing; audited",
    tag: 'dispute-desk',
    description:
      'Each entry is the single-invoice dry run (`GET /api/staff/invoices/{invoiceId}/recomputation`); apply each with its `asOf` and `basedOnRevision`. `limit` ≤ 100 (default 20); `next` is the `after` of the next page, null on the last.',
    response: object({ recomputations: array({ type: 'object', additionalProperties: true }), next: nullable(uuid()) }),
    problems: { '400': '`validation`: neither customer_id nor period, or a malformed one.', ...upstream },
  },
  'POST /api/staff/invoices/{invoiceId}/recomputation/apply': {
    summary: 'Apply a recomputation dry run: settlement issues exactly its note, once (`settlement.correction`, cause `recompute`); audited',
    tag: 'dispute-desk',
    status: 200,
    description: 'Send the dry run\'s `asOf` as `as_of` and its `basedOnRevision` as `based_on_revision`. Applying the same dry run again answers the note already issued (`alreadyApplied: true`).',
    response: { type: 'object', additionalProperties: true, required: ['outcome'], properties: { outcome: { type: 'string', enum: ['issued', 'unchanged', 'halted'] }, noteId: uuid(), alreadyApplied: { type: 'boolean' } } },
    problems: { '404': '`not-found`: no issued invoice with this id.', '409': '`recomputation-stale`: the invoice changed since the dry run; dry-run again.', ...upstream },
  },
  'GET /api/staff/audit': {
    summary: 'The audit log, newest first: who read or changed what, when, why and with which outcome (`audit:read`)',
    tag: 'audit',
    description: 'Filters: `actor_id`, `action`, `subject_type`, `subject_id`, `outcome`, `from` (inclusive), `to` (exclusive), `limit` (≤ 1000, default 100). The read itself is recorded as `audit.read`.',
    response: object({
      entries: array(
        object({
          id: str(),
          at: dateTime,
          actor_id: str(),
          actor_kind: str(),
          actor_roles: array(str()),
          action: str(),
          subject_type: str(),
          subject_id: nullable(str()),
          reason: nullable(str('The X-Access-Reason given; CPR numbers and e-mail addresses masked')),
          request_id: nullable(str()),
          outcome: { type: 'string', enum: ['success', 'refused', 'not-found', 'error'] },
          status: nullable(int),
        }),
      ),
    }),
    problems: { '400': '`validation`.' },
  },
  // Rates and products (staff: reads `staff:read`, changes `rates:write`; every change a new version).
  'GET /api/staff/rates/products': {
    summary: 'Every product with every version (who set it, when) and the version in force today',
    tag: 'rates',
    response: object({ today: date, products: array(object({ product_id: str(), in_force: nullable(versionView), versions: array(versionView) })) }),
  },
  'POST /api/staff/rates/products': {
    summary: 'Define a product version: margin, subscription, export fee, validity, billing frequencies (a new version, never an overwrite)',
    tag: 'rates',
    status: 200,
    response: ratesChange,
    problems: { '422': '`InvalidCommand`: the rates service refused a field (named in `detail`).', ...upstream },
  },
  'GET /api/staff/rates/tax-rates': { summary: 'Electricity tax (elafgift) rates with validity, every version', tag: 'rates', response: object({ versions: array(versionView) }) },
  'POST /api/staff/rates/tax-rates': {
    summary: 'Set the electricity tax rates (normal and reduced) for a validity period',
    tag: 'rates',
    status: 200,
    response: ratesChange,
    problems: { '422': '`InvalidCommand`.', ...upstream },
  },
  'GET /api/staff/rates/grid-areas': {
    summary: 'Grid areas: price area, grid company, tariff and subscription charges, every version',
    tag: 'rates',
    response: object({ grid_areas: array(object({ grid_area: str(), current: nullable(versionView), versions: array(versionView) })) }),
  },
  'POST /api/staff/rates/grid-areas': { summary: 'Map a grid area (a new version)', tag: 'rates', status: 200, response: ratesChange, problems: { '422': '`InvalidCommand`.', ...upstream } },
  'GET /api/staff/rates/charges': {
    summary: 'Grid and Energinet charges with their latest price rows',
    tag: 'rates',
    response: object({ charges: array({ type: 'object', additionalProperties: true }) }),
  },
  'GET /api/staff/rates/charges/{chargeId}/versions': {
    summary: 'Every version of a charge\'s price rows (published or corrected by hand)',
    tag: 'rates',
    response: object({ charge_id: str(), versions: array(versionView) }),
    problems: { '404': '`not-found`: no prices of this charge.' },
  },
  'POST /api/staff/rates/charges/{chargeId}/corrections': {
    summary: 'Correct a charge\'s price rows by hand, with a reason (a new version; invoices it changes get correction notes)',
    tag: 'rates',
    status: 200,
    response: object({ streamId: str(), appended: { type: 'boolean' }, version: int }),
    problems: { '422': '`InvalidCommand`: no such charge, or a row is malformed.', ...upstream },
  },
  'GET /api/staff/rates/spot-prices': {
    summary: 'Every version of one delivery day\'s spot prices (`price_area`, `date`)',
    tag: 'rates',
    response: object({ price_area: str(), date, versions: array(versionView) }),
    problems: { '400': '`validation`.' },
  },
  'POST /api/staff/rates/spot-prices/corrections': {
    summary: 'Correct spot prices of a delivery day by hand, with a reason (a new version; invoices it changes get correction notes)',
    tag: 'rates',
    status: 200,
    response: object({ streamId: str(), appended: { type: 'boolean' }, version: int }),
    problems: { '422': '`InvalidCommand`: the day has no published prices, or an interval is not one of the day.', ...upstream },
  },
  'GET /api/products': {
    summary: 'The product catalogue: what may be sold today, with prices in force and upcoming changes (CRM: `products:read`)',
    tag: 'products',
    response: object({
      today: date,
      products: array(
        object({
          product_id: str(),
          name: str(),
          valid_from: date,
          margin_dkk_per_kwh: str(),
          monthly_subscription_dkk: str(),
          export_fee_dkk_per_kwh: nullable(str()),
          billing_frequencies: array({ type: 'string', enum: ['monthly', 'quarterly'] }),
          valid_to: nullable(date),
          upcoming: array(object({ valid_from: date, margin_dkk_per_kwh: str(), monthly_subscription_dkk: str() })),
        }),
      ),
    }),
  },
  'GET /api/staff/ops/dead-letters': {
    summary: 'Dead-letter queues: every registered consumer queue, its DLQ and how many messages wait there',
    tag: 'operations',
    response: object({ queues: array(object({ queue: str(), dead_letter_queue: str(), consumer: str(), messages: nullable(int) })) }),
  },
  'GET /api/staff/ops/dead-letters/{queue}/messages': {
    summary: 'The messages at the head of a DLQ (looked at and put back, nothing consumed); CPR and e-mail masked',
    tag: 'operations',
    response: object({ queue: str(), messages: array(deadLetterView) }),
    problems: { '404': '`unknown-queue`: no such consumer queue.' },
  },
  'GET /api/staff/ops/dead-letters/{queue}/discarded': {
    summary: 'Messages discarded from a DLQ, kept with the reason and who discarded them',
    tag: 'operations',
    response: object({ queue: str(), messages: array({ type: 'object', additionalProperties: true }) }),
  },
  'POST /api/staff/ops/dead-letters/{queue}/messages/{id}/replay': {
    summary: 'Replay one dead-lettered message to its consumer queue only (retry count reset); audited',
    tag: 'operations',
    status: 200,
    response: deadLetterView,
    problems: { '404': '`unknown-queue` or `message-not-found` (within the first 1000 messages).' },
  },
  'POST /api/staff/ops/dead-letters/{queue}/messages/{id}/discard': {
    summary: 'Discard one dead-lettered message with a reason: kept in the discard log, removed from the DLQ; audited',
    tag: 'operations',
    status: 200,
    response: deadLetterView,
    problems: { '404': '`unknown-queue` or `message-not-found`.' },
  },
  'GET /api/staff/ops/settlement-halts': {
    summary: 'Metering points a settlement run halted on, with reason and detail (filter by run_id or period)',
    tag: 'operations',
    response: object({ halts: array(object({ event_id: uuid(), run_id: nullable(uuid()), gsrn: str(), period: str(), reason: str(), detail: anyJson, halted_at: dateTime })) }),
  },
  'GET /api/staff/ops/settlement-runs': {
    summary: 'Settlement runs in progress (status=all: the latest 50 of any status) with item counts',
    tag: 'operations',
    response: object({
      runs: array(
        object({ run_id: uuid(), period: str(), status: str(), items_total: int, items_done: int, items_invoiced: int, items_halted: int, started_at: dateTime, completed_at: nullable(dateTime), progress: { type: 'number', description: 'items_done / items_total, 0..1' } }),
      ),
    }),
  },
  'POST /api/staff/customers/search': {
    summary: 'Find customers by name, GSRN, invoice id (or customer id), CPR or CVR',
    tag: 'staff',
    status: 200,
    description: 'The query goes in the body, never the URL. Names and CPR/CVR are found through keyed-hash indexes (every word of the query must be a word of the name; the whole CPR/CVR). Every search is audited as `customer.search.<kind>` with the `X-Access-Reason`; the query is not stored. At most 20 customers.',
    response: object({ kind: { type: 'string', enum: ['gsrn', 'invoice', 'cpr', 'cvr', 'name'] }, customers: array(customerHit) }),
    problems: { '400': '`access-reason-required`: send `X-Access-Reason`.' },
  },
  'GET /api/staff/customers/{id}/streams': {
    summary: 'The event streams of a customer (customer, metering points, processes, invoices, aconto invoices, payments), for the timeline',
    tag: 'staff',
    response: object({ customer_id: uuid(), streams: array(object({ stream_id: str(), kind: str() })) }),
    problems: { '404': customerNotFound, '400': '`access-reason-required`: send `X-Access-Reason`.' },
  },
  'GET /api/staff/customers/{id}/timeline': {
    summary: 'A customer\'s timeline: the events of every stream of the customer recorded by `as_of` (default now), and each invoice as it stood then',
    tag: 'staff',
    description: 'Oldest first, at most 2,000 events (the latest; `truncated` says when earlier ones were left out). Sealed personal data in event data is replaced by a marker.',
    response: object({
      customer_id: uuid(),
      as_of: nullable(dateTime),
      streams: array(object({ stream_id: str(), kind: str() })),
      events: array(eventView),
      truncated: { type: 'boolean' },
      invoices: array(object({ stream_id: str(), invoice_id: uuid(), status: str('`none` when not issued by then'), period: nullable(str()), total_incl_vat: nullable(str()), notes: int })),
    }),
    problems: { '404': customerNotFound, '400': '`access-reason-required`, or `as_of` is not an ISO 8601 instant.' },
  },
  'GET /api/staff/customers/{id}/export': {
    summary: 'GDPR export: everything held about one customer, as one JSON document',
    tag: 'gdpr',
    response: GDPR_EXPORT,
    problems: { '404': customerNotFound, '400': '`access-reason-required`: send `X-Access-Reason`.' },
  },
  'POST /api/staff/customers/{id}/erase': {
    summary: 'GDPR erasure by crypto-shredding: personal data becomes unreadable; bookkeeping records are kept for 5 years',
    tag: 'gdpr',
    status: 200,
    response: object({ customer_id: uuid(), erased_at: dateTime, retain_bookkeeping_until: date, already_erased: { type: 'boolean' } }),
    problems: { '404': customerNotFound, '400': '`access-reason-required`: send `X-Access-Reason`.', ...upstream },
  },
  'GET /api/settlement/export': {
    summary: 'Settlement export for ERP: invoices with lines for a period (JSON, or CSV with `format=csv`/`Accept: text/csv`)',
    tag: 'settlement',
    response: object({ period: str('YYYY-MM or YYYY-Qn'), invoices: array(exportInvoice) }),
    problems: { '400': '`validation`: period must be YYYY-MM or YYYY-Qn.' },
  },
  'GET /api/settlement/aconto-invoices': {
    summary: 'Aconto invoices (quarterly estimates) for ERP to book as receivables, optionally for one quarter',
    tag: 'settlement',
    response: object({
      quarter: nullable(str('YYYY-Qn')),
      aconto_invoices: array(
        object({
          aconto_invoice_id: uuid('Stable per metering point and quarter'),
          customer_id: uuid(),
          gsrn: str(),
          quarter: str(),
          period_start: date,
          period_end: date,
          amount_excl_vat: amount(),
          vat_amount: amount(),
          amount_incl_vat: amount(),
          due_date: date,
          trigger: str(),
          settled_period: nullable(str()),
          basis: object({
            expected_annual_kwh: str(),
            price_per_kwh: str(),
            price_source: str(),
            reference_month: str(),
            monthly_subscriptions: amount(),
            quarter_share: str(),
            days_supplied: int,
            days_in_quarter: int,
          }),
          issued_at: dateTime,
        }),
      ),
    }),
  },
  'POST /api/payments': {
    summary: 'Record a payment (payment service or ERP); matched to an invoice or aconto invoice by its id or FI +71 reference',
    tag: 'payments',
    description:
      'Matched → `payment.received` once per `payment_id` (a resend appends and publishes nothing: `already_recorded: true`). A reference that matches no invoice, or is malformed, is kept as unmatched (listed at `GET /api/payments/unmatched`) — never dropped; when an invoice or aconto invoice with that id or FI reference is issued later, the payment is matched to it automatically. Send `Idempotency-Key` to make retries safe.',
    response: object({
      payment_id: str(),
      status: { type: 'string', enum: ['matched', 'unmatched'] },
      invoice_id: nullable(uuid()),
      customer_id: nullable(str()),
      unmatched_reason: nullable({ type: 'string', enum: ['malformed-reference', 'unknown-invoice', 'ambiguous-reference'] }),
      already_recorded: { type: 'boolean' },
    }),
    problems: { '409': '`illegal-transition`: this payment_id was recorded with another amount, date or method.', '422': '`validation`.', ...upstream },
  },
  'GET /api/payments/unmatched': {
    summary: 'Payments whose reference matched no invoice, waiting for staff (oldest first)',
    tag: 'payments',
    response: object({
      payments: array(object({ payment_id: str(), reference: nullable(str()), amount: amount(), paid_at: dateTime, method: str(), reason: nullable(str()), recorded_at: dateTime })),
    }),
  },
  'POST /api/payments/unmatched/{id}/match': {
    summary: 'Staff: match an unmatched payment to an issued invoice (then `payment.received`)',
    tag: 'payments',
    status: 200,
    response: object({ payment_id: str(), invoice_id: uuid(), customer_id: str(), status: { type: 'string', enum: ['matched'] }, already_matched: { type: 'boolean' } }),
    problems: {
      '404': '`not-found`/`payment-not-found`: no such payment.',
      '409': '`illegal-transition`: the payment is already matched to another invoice.',
      '422': '`validation`: no issued invoice with this id.',
      ...upstream,
    },
  },
  'GET /api/settlement/credit-notes': {
    summary: 'Credit and debit notes (corrections) with their export state',
    tag: 'settlement',
    description: 'Query `export_state=pending` for the notes ERP has not acknowledged yet (oldest first), `acknowledged` for those it has; `period=YYYY-MM|YYYY-Qn` narrows either.',
    response: object({ notes: array(exportNote) }),
  },
  'POST /api/settlement/credit-notes/{id}/acknowledge': {
    summary: 'ERP acknowledges it has booked a credit or debit note: it leaves the pending export',
    tag: 'settlement',
    description: 'Optional body `{ "erp_reference": "<ERP document id>" }`. Repeating the same acknowledgement answers the first one (`already_acknowledged: true`).',
    status: 200,
    response: object({ note_id: uuid(), export: noteExport, already_acknowledged: { type: 'boolean' } }),
    problems: { '404': '`note-not-found`.', '409': '`already-acknowledged`: booked before under another ERP reference.', ...upstream },
  },
  'POST /api/settlement/runs': {
    summary: 'Start a settlement run for a period (a later run settles what is not yet invoiced)',
    tag: 'settlement',
    description:
      'A period has runs 1, 2, …, one at a time. The first run settles every supply of the period; after a completed run, a start creates a later run (`seq` 2, 3, …) ' +
      'whose work items are only the customer supplies of the period without an issued invoice (points that halted, supplies registered since); nothing is invoiced twice. ' +
      'A start while a run of the period is in progress, or when nothing is left to settle, answers that (last) run with `alreadyStarted: true`.',
    response: object({ runId: uuid(), period: str(), seq: int, items: int, alreadyStarted: { type: 'boolean' }, completed: { type: 'boolean' } }),
    problems: upstream,
  },
  'GET /api/settlement/halted': {
    summary: 'Metering points currently halted in a period (not invoiced since), with the reason',
    tag: 'settlement',
    description:
      'One row per (GSRN, period) whose last settlement halted and that no run has invoiced since: `reason` (`missing-metered-data`, `missing-price`, ' +
      '`missing-configuration`, `invalid-input`), its `detail` (the series and interval lacking data, the price area or charge and interval lacking a price, or the problem), ' +
      'the `runId` it last halted in, `since` (first halt of the point in the period) and `lastHaltedAt`. Each is retried automatically when its missing input arrives ' +
      '(a retry run of the period), and any later run of the period settles it. Query `period=YYYY-MM|YYYY-Qn` and/or `reason=`; pages of `limit` (1–500, default 100) ' +
      'in (period, GSRN) order, `after=<next>` for the following page.',
    response: object({
      halted: array(
        object({
          gsrn: str(),
          period: str(),
          reason: str(),
          detail: { type: 'object', additionalProperties: true },
          runId: uuid(),
          since: dateTime,
          lastHaltedAt: dateTime,
        }),
      ),
      next: nullable(str()),
    }),
    problems: { '400': '`validation`: a malformed period, reason, cursor or limit.' },
  },
  'GET /api/settlement/runs/{runId}': {
    summary: 'Progress of a settlement run',
    tag: 'settlement',
    response: object({
      runId: uuid(),
      period: str(),
      status: str(),
      items: object({ total: int, done: int, invoiced: int, halted: int }),
      halted: array(object({ gsrn: str(), reason: str(), detail: { type: 'object', additionalProperties: true } })),
      startedAt: dateTime,
      completedAt: nullable(dateTime),
    }),
    problems: { '404': '`run-not-found`.' },
  },
  'GET /api/settlement/{id}/lines': {
    summary: 'Invoice lines by invoice id, or by run id (every invoice of the run)',
    tag: 'settlement',
    response: object({ kind: { type: 'string', enum: ['invoice', 'run'] }, id: uuid(), invoices: array(object({ invoice_id: uuid(), gsrn: str(), customer_id: str(), lines: array(exportLine) })) }),
    problems: { '404': '`not-found`: neither an invoice nor a run.' },
  },
  // Customer portal (own data only for customers; staff read any customer with `customer_id`).
  'GET /api/portal/consumption': { summary: 'Consumption per hour, day or month for the customer\'s metering points', tag: 'portal', response: { type: 'object', additionalProperties: true } },
  'GET /api/portal/invoices': {
    summary: 'The customer\'s invoices (each with the payments matched to it, from every source) and credit/debit notes',
    tag: 'portal',
    response: object({ customer_id: str(), invoices: array({ type: 'object', additionalProperties: true }), notes: array(exportNote) }),
  },
  'GET /api/portal/profile': { summary: 'The customer\'s own record: name, e-mail, phone, address, masked CPR', tag: 'portal', response: customerView, problems: { '404': customerNotFound } },
  'PATCH /api/portal/profile': {
    summary: 'The customer changes their own contact details (name, e-mail, phone, address)',
    tag: 'portal',
    description: 'Customers only (`portal:write`); staff and CRM use `PATCH /api/customers/{id}`. A change publishes `customer.updated` (source `portal`).',
    response: contactDetailsChanged,
    problems: { '403': '`forbidden`: not a customer login.', '409': '`personal-data-erased`.', ...upstream },
  },
  'GET /api/portal/contract': { summary: 'The customer\'s supply contract: product, metering points, supply periods', tag: 'portal', response: { type: 'object', additionalProperties: true } },
  'GET /api/portal/aconto': {
    summary: 'Aconto plan and payments: aconto invoices, payments from every source (matched to an aconto invoice, or recorded on the metering point), settlements',
    tag: 'portal',
    response: { type: 'object', additionalProperties: true },
  },
  'GET /api/portal/notifications': {
    summary: 'Notifications for the customer (e.g. rate changes)',
    tag: 'portal',
    response: object({ customer_id: str(), notifications: array({ type: 'object', additionalProperties: true }) }),
  },

  // Webhooks (ERP/CRM subscribe to the public events by HTTP callback).
  'POST /api/webhooks': {
    summary: 'Register a webhook; the signing secret is returned once',
    tag: 'webhooks',
    response: { type: 'object', additionalProperties: true, properties: { id: str(), secret: str('HMAC signing secret, shown once') }, required: ['id', 'secret'] },
  },
  'GET /api/webhooks': { summary: 'The caller\'s webhooks', tag: 'webhooks', response: object({ items: array({ type: 'object', additionalProperties: true }) }) },
  'DELETE /api/webhooks/{id}': { summary: 'Remove a webhook', tag: 'webhooks', status: 204, responseDescription: 'Removed', problems: { '404': '`webhook-not-found`.' } },
  'GET /api/webhooks/{id}/deliveries': { summary: 'Delivery log of a webhook', tag: 'webhooks', response: object({ items: array({ type: 'object', additionalProperties: true }) }), problems: { '404': '`webhook-not-found`.' } },
  'POST /api/webhooks/deliveries/{deliveryId}/redeliver': { summary: 'Redeliver one delivery', tag: 'webhooks', status: 202, response: { type: 'object', additionalProperties: true }, problems: { '404': '`delivery-not-found`.' } },

  // Wholesale reconciliation (DataHub's RSM-014/019 against our settlement; ERP and staff).
  'GET /api/reconciliation/reports': {
    summary: 'Reconciliation of a grid area and month: DataHub\'s wholesale bill and energy against our DataHub-rule recomputation and our invoices (JSON, or CSV with `format=csv`/`Accept: text/csv`)',
    tag: 'reconciliation',
    description:
      'Query `period` (YYYY-MM) and `grid_area` (3 digits). The latest run: `summary` (as the `reconciliation.completed` event), `report` (per charge DataHub\'s monthly amount, ours and our invoices\' with the per-line rounding difference apart; totals per charge owner; energy per metering point type and settlement method; up to 2000 differing slots), `datahub_results` (every result DataHub sent for the month: balance fixing, wholesale fixing, correction settlements; the highest is compared with) and `findings`. DKK with 6 decimals, kWh with 3, as strings.',
    response: object({ summary: reconciliationCompleted, report: { type: 'object', additionalProperties: true }, datahub_results: array(datahubResult), findings: array(finding) }),
    problems: { '400': '`validation`: period must be YYYY-MM, grid_area 3 digits.', '404': '`not-found`: no reconciliation of that grid area and month yet.', ...upstream },
  },
  'GET /api/reconciliation/findings': {
    summary: 'Findings (differences with the metering points that explain them), optionally by `period`, `grid_area` and `state` (open, explained, resolved)',
    tag: 'reconciliation',
    response: object({ findings: array(finding) }),
    problems: { '400': '`validation`.', ...upstream },
  },
  'GET /api/reconciliation/findings/{id}': {
    summary: 'One finding with its audit trail (found, explained, resolved, reopened: who, when, why)',
    tag: 'reconciliation',
    response: { ...finding, properties: { ...(finding.properties as Record<string, Schema>), audit_trail: array(object({ type: str(), at: dateTime, by: str(), note: nullable(str()), state: nullable(str()) })) } },
    problems: { '404': '`not-found`.', ...upstream },
  },
  'POST /api/reconciliation/findings/{id}/state': {
    summary: 'Explain (a note is required), resolve or reopen a finding; kept in its audit trail with the staff member',
    tag: 'reconciliation',
    status: 200,
    response: object({ finding_id: uuid(), state: findingState }),
    problems: { '404': '`not-found`.', '409': '`illegal-transition`: e.g. resolving a resolved finding, or explaining without a note.', ...upstream },
  },
  'POST /api/reconciliation/requests': {
    summary: 'Ask DataHub for our results of a grid area and month: RSM-016 (energy) or RSM-017 (wholesale); the answer re-runs the reconciliation',
    tag: 'reconciliation',
    status: 202,
    response: object({ request_id: uuid('transaction id DataHub answers with'), kind: str(), grid_area: str(), period: str(), start: dateTime, end: dateTime, business_reason: str(), settlement_version: nullable(str()), energy_supplier_gln: str(), requested_by: str(), status: str('requested') }),
    problems: { '422': '`validation`: e.g. D32 without a settlement version.', ...upstream },
  },
  'GET /api/reconciliation/requests': {
    summary: 'Requests to DataHub for a grid area and month, with their status (requested, sent, refused, answered, rejected with DataHub\'s reasons)',
    tag: 'reconciliation',
    response: object({ requests: array({ type: 'object', additionalProperties: true }) }),
    problems: { '400': '`validation`.', ...upstream },
  },
  'POST /api/reconciliation/runs': {
    summary: 'Run the reconciliation of a grid area and month now (it also runs by itself when DataHub\'s results or newer metered data arrive)',
    tag: 'reconciliation',
    status: 202,
    response: object({ grid_area: str(), period: str(), scheduled: { type: 'boolean' } }),
    problems: upstream,
  },
};
