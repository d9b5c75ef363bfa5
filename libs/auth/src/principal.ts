/**
 * Who is calling, and what they may do. Every authenticated request carries exactly one principal
 * (`request.principal`); authorization decisions look only at `scopes` (and, for customers, at
 * `customerId`), never at the kind of credential that produced them.
 */

export const SCOPES = [
  'settlement:read',
  'settlement:export',
  'payments:read',
  'payments:write',
  'balance:read',
  'customers:read',
  'customers:write',
  'processes:write',
  'portfolio:read',
  'metering-points:read',
  'portal:read',
  'portal:write',
  'staff:read',
  'staff:write',
  'audit:read',
  'webhooks:manage',
  'products:read',
  'rates:write',
  'reconciliation:read',
] as const;

export type Scope = (typeof SCOPES)[number];

export const CONSUMERS = ['erp', 'crm', 'payment'] as const;
export type Consumer = (typeof CONSUMERS)[number];

export const STAFF_ROLES = ['admin', 'support', 'read-only'] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];

export type PrincipalKind = 'api-key' | 'client' | 'customer' | 'staff';

export interface Principal {
  kind: PrincipalKind;
  /** Stable id of the caller: API key id, OAuth2 client id, customer login subject or employee subject. */
  id: string;
  /** For API keys and OAuth2 clients: which system is calling. */
  consumer?: Consumer;
  /** For customer principals: the one customer whose data they may see. Always set for kind `customer`. */
  customerId?: string;
  /** For staff principals. */
  roles?: StaffRole[];
  scopes: Scope[];
}

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

export function isConsumer(value: string): value is Consumer {
  return (CONSUMERS as readonly string[]).includes(value);
}

export function isStaffRole(value: string): value is StaffRole {
  return (STAFF_ROLES as readonly string[]).includes(value);
}

/**
 * Default scopes per system. An API key or a client token may be narrowed below these, never widened
 * (see `narrowScopes`).
 */
export const CONSUMER_SCOPES: Readonly<Record<Consumer, readonly Scope[]>> = {
  // Settlement export, payment status and payment confirmations (bank statements, FI slips booked in ERP), the wholesale
  // reconciliation report (DataHub's bill against our settlement); subscribes to settlement/payment/reconciliation events.
  erp: ['settlement:read', 'settlement:export', 'balance:read', 'payments:read', 'payments:write', 'webhooks:manage', 'reconciliation:read'],
  // Customer creation, process initiation, portfolio read (customer master data, metering points,
  // supply periods, process status) and metering-point lookup.
  crm: ['customers:write', 'customers:read', 'processes:write', 'portfolio:read', 'metering-points:read', 'webhooks:manage', 'products:read'],
  // Server to server: payment status write, balance read.
  payment: ['payments:write', 'balance:read'],
};

/**
 * A customer (portal login) reads their own data only, and changes their own contact details (profile);
 * `assertCustomerAccess` and the portal's own-customer rule enforce the "own".
 */
export const CUSTOMER_SCOPES: readonly Scope[] = ['portal:read', 'portal:write'];

const READ_SCOPES: readonly Scope[] = SCOPES.filter((scope) => scope.endsWith(':read') && scope !== 'audit:read' && scope !== 'portal:read');

export const ROLE_SCOPES: Readonly<Record<StaffRole, readonly Scope[]>> = {
  // Everything, including managing staff and reading the audit log.
  admin: SCOPES,
  // Staff directory plus everything needed to answer a customer: customer, portfolio, invoices, balance.
  support: ['staff:read', 'customers:read', 'portfolio:read', 'metering-points:read', 'settlement:read', 'balance:read', 'payments:read', 'products:read'],
  // Every read scope except the audit log (and the portal's own-data scope, which is for customers).
  'read-only': READ_SCOPES,
};

function unique(scopes: Iterable<Scope>): Scope[] {
  const set = new Set(scopes);
  return SCOPES.filter((scope) => set.has(scope));
}

export function scopesForConsumer(consumer: Consumer): Scope[] {
  return unique(CONSUMER_SCOPES[consumer]);
}

/** The union of the roles' scopes; unknown roles never reach here (they are dropped when parsing). */
export function scopesForRoles(roles: readonly StaffRole[]): Scope[] {
  return unique(roles.flatMap((role) => ROLE_SCOPES[role]));
}

/**
 * A credential may ask for fewer scopes than its defaults (`scope` claim, or the scopes an API key
 * was issued with), never more: the result is the intersection, in canonical order.
 */
export function narrowScopes(granted: readonly Scope[], requested: readonly string[] | undefined): Scope[] {
  if (requested === undefined) return unique(granted);
  const wanted = new Set(requested);
  return unique(granted.filter((scope) => wanted.has(scope)));
}

export function missingScopes(principal: Pick<Principal, 'scopes'>, required: readonly Scope[]): Scope[] {
  return required.filter((scope) => !principal.scopes.includes(scope));
}
