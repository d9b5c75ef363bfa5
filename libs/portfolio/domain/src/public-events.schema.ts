import { CUSTOMER_UPDATE_FIELDS } from './customer/customer.events';
import { PROCESS_KINDS, PROCESS_STATUSES } from './process/process-kind';

/**
 * JSON Schemas (draft 2020-12) of the `data` of the portfolio's PUBLIC events, the contract
 * external subscribers (ERP, CRM, portal) read on `customer.activated`, `customer.offboarded`
 * and `process.status_changed`. The TypeScript shapes are `CustomerActivatedData`,
 * `CustomerOffboardedData` and `ProcessStatusChangedData`; a unit test keeps both in step.
 * Bump `version` on any change; removing or renaming a property is a breaking change.
 */
export const PUBLIC_EVENT_SCHEMA_VERSION = 1;

const DRAFT = 'https://json-schema.org/draft/2020-12/schema';
const ID_BASE = 'https://schemas.dh-settlement.dk/portfolio';
const LOCAL_DATE = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'Europe/Copenhagen calendar date' } as const;
const GSRN = { type: 'string', pattern: '^\\d{18}$', description: 'GSRN with a valid GS1 check digit' } as const;
const INSTANT = { type: 'string', format: 'date-time', pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z$' } as const;

export const CUSTOMER_ACTIVATED_SCHEMA = {
  $schema: DRAFT,
  $id: `${ID_BASE}/customer.activated/v${PUBLIC_EVENT_SCHEMA_VERSION}.json`,
  title: 'CustomerActivated',
  description: 'Our supply of the metering point to the customer has become effective.',
  version: PUBLIC_EVENT_SCHEMA_VERSION,
  type: 'object',
  required: ['customerId', 'gsrn', 'effectiveDate'],
  additionalProperties: false,
  properties: {
    customerId: { type: 'string', minLength: 1 },
    gsrn: GSRN,
    effectiveDate: LOCAL_DATE,
  },
} as const;

export const CUSTOMER_OFFBOARDED_SCHEMA = {
  $schema: DRAFT,
  $id: `${ID_BASE}/customer.offboarded/v${PUBLIC_EVENT_SCHEMA_VERSION}.json`,
  title: 'CustomerOffboarded',
  description: 'Our supply of the metering point ended; endDate is the first day not supplied (equal to the effective date for an incorrect switch).',
  version: PUBLIC_EVENT_SCHEMA_VERSION,
  type: 'object',
  required: ['customerId', 'gsrn', 'endDate', 'reason'],
  additionalProperties: false,
  properties: {
    customerId: { type: 'string', minLength: 1 },
    gsrn: GSRN,
    endDate: LOCAL_DATE,
    reason: { type: 'string', enum: ['switched-away', 'move-out', 'end-of-supply', 'incorrect-switch'] },
  },
} as const;

export const CUSTOMER_UPDATED_SCHEMA = {
  $schema: DRAFT,
  $id: `${ID_BASE}/customer.updated/v${PUBLIC_EVENT_SCHEMA_VERSION}.json`,
  title: 'CustomerUpdated',
  description:
    "The customer's record changed: contact details (CRM, the portal's profile, staff) or a forced-switch placeholder completed with name and CPR/CVR. Names the changed fields, never their values: read the record from GET /api/customers/{id}.",
  version: PUBLIC_EVENT_SCHEMA_VERSION,
  type: 'object',
  required: ['customerId', 'changed', 'source', 'changedAt'],
  additionalProperties: false,
  properties: {
    customerId: { type: 'string', minLength: 1 },
    changed: {
      type: 'array',
      minItems: 1,
      items: { type: 'string', enum: [...CUSTOMER_UPDATE_FIELDS] },
      description: 'the fields whose value changed (new field names may be added)',
    },
    source: { type: 'string', enum: ['crm', 'portal', 'staff'], description: 'who made the change' },
    changedAt: { ...INSTANT, description: 'when the change was made (UTC)' },
  },
} as const;

export const PROCESS_STATUS_CHANGED_SCHEMA = {
  $schema: DRAFT,
  $id: `${ID_BASE}/process.status_changed/v${PUBLIC_EVENT_SCHEMA_VERSION}.json`,
  title: 'ProcessStatusChanged',
  description: 'A DataHub business process (BRS case) moved from one status to another; from is null when it starts.',
  version: PUBLIC_EVENT_SCHEMA_VERSION,
  type: 'object',
  required: ['processId', 'kind', 'from', 'to', 'at'],
  additionalProperties: false,
  properties: {
    processId: { type: 'string', minLength: 1 },
    kind: { type: 'string', enum: [...PROCESS_KINDS] },
    from: { type: ['string', 'null'], enum: [...PROCESS_STATUSES, null] },
    to: { type: 'string', enum: [...PROCESS_STATUSES] },
    reason: { type: 'string' },
    at: INSTANT,
  },
} as const;

/** Schemas by public event type (the messaging layer maps the type to the routing key). */
export const PUBLIC_EVENT_SCHEMAS = {
  CustomerActivated: CUSTOMER_ACTIVATED_SCHEMA,
  CustomerOffboarded: CUSTOMER_OFFBOARDED_SCHEMA,
  CustomerUpdated: CUSTOMER_UPDATED_SCHEMA,
  ProcessStatusChanged: PROCESS_STATUS_CHANGED_SCHEMA,
} as const;

export type PublicEventType = keyof typeof PUBLIC_EVENT_SCHEMAS;
