import { ProblemException, type ProblemDetails } from '@dh/platform';
import type { Principal } from './principal';
import { DEFAULT_NOT_FOUND } from './problems';

/**
 * Row-level rule for customer principals: they see their own customer only. Asking for another
 * customer's resource answers exactly like a resource that does not exist (404), so nothing tells
 * the caller whether it does. Pass the endpoint's own not-found problem to make the two identical.
 * Other principals (staff, systems) pass: their access is governed by scopes alone.
 */
export function assertCustomerAccess(principal: Principal, customerId: string, notFound: ProblemDetails = DEFAULT_NOT_FOUND): void {
  if (principal.kind !== 'customer') return;
  if (principal.customerId === undefined || principal.customerId !== customerId) throw new ProblemException(notFound);
}

/** True when the principal may see the customer's data (same rule as `assertCustomerAccess`). */
export function canAccessCustomer(principal: Principal, customerId: string): boolean {
  return principal.kind !== 'customer' || (principal.customerId !== undefined && principal.customerId === customerId);
}

/**
 * The restriction to add to a list query: `{ customerId }` for customer principals, `{}` for everyone
 * else. Spread it into a TypeORM `where` (`{ ...customerScopeFilter(p), status: 'active' }`) or read
 * `customerId` for SQL. A customer principal without a customer id (which the verifier never
 * produces) is refused rather than given an unfiltered list.
 */
export function customerScopeFilter(principal: Principal): { customerId?: string } {
  if (principal.kind !== 'customer') return {};
  if (principal.customerId === undefined) throw new ProblemException({ type: 'forbidden', title: 'Forbidden', status: 403, detail: 'No customer is bound to this login' });
  return { customerId: principal.customerId };
}
