import { customerScopeFilter, type Principal } from '@dh/auth';
import { ProblemException, type ProblemDetails } from '@dh/platform';

/** Business time of the portal ("today", next settlement date): the service's clock. */
export const PORTAL_CLOCK = Symbol('PORTAL_CLOCK');
/** The `pg` pool of the read models the consumption view reads with named statements (the service's pool). */
export const PORTAL_POOL = Symbol('PORTAL_POOL');
export interface PortalClock {
  now(): Date;
}

/** The query parameter staff use to name the customer; also the audit log's subject id (`idQuery` of `@AuditPersonalDataRead`). */
export const CUSTOMER_ID_PARAM = 'customer_id';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function validationProblem(field: string, message: string): ProblemException {
  return new ProblemException({ type: 'validation', title: 'Invalid query', status: 400, detail: `${field}: ${message}`, errors: [{ field, messages: [message] }] });
}

/**
 * Whose data a portal request reads. A customer principal reads their own customer only: naming
 * another customer in `customer_id` answers the endpoint's own 404, exactly as for data that does not
 * exist. Everyone else reaching a portal endpoint holds `staff:read` (the guard saw to that) and must
 * name the customer in `customer_id`.
 */
export function portalCustomerId(principal: Principal, requested: string | undefined, notFound: ProblemDetails): string {
  if (principal.kind === 'customer') {
    const own = customerScopeFilter(principal).customerId;
    if (own === undefined || (requested !== undefined && requested !== own)) throw new ProblemException(notFound);
    // Customer ids are UUIDs in every read model; a login bound to anything else owns nothing.
    if (!UUID.test(own)) throw new ProblemException(notFound);
    return own;
  }
  if (requested === undefined || requested === '') throw validationProblem(CUSTOMER_ID_PARAM, 'is required for staff (the customer whose portal data to read)');
  if (!UUID.test(requested)) throw validationProblem(CUSTOMER_ID_PARAM, 'must be a UUID');
  return requested.toLowerCase();
}
