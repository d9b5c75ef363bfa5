import { applyDecorators, createParamDecorator, type ExecutionContext, SetMetadata, UseInterceptors } from '@nestjs/common';
import type { Principal, Scope } from '../principal';
import { unauthorizedProblem } from '../problems';
import { type AuthenticatedRequest, IS_PUBLIC, PERSONAL_DATA_READ, type PersonalDataReadMetadata, type PersonalDataReadOptions, REQUIRED_SCOPES, type ScopeRequirement } from './metadata';
import { PersonalDataReadAuditInterceptor } from './personal-data-read-audit.interceptor';

export type { AuthenticatedRequest, PersonalDataReadOptions } from './metadata';

/** No credentials needed (health, docs, the OpenAPI document). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC, true);

/**
 * The principal needs every one of these scopes (403 naming the missing ones otherwise).
 * `@RequireScopes()` with no scopes means "any authenticated caller". On a method it replaces the
 * class's requirement.
 */
export const RequireScopes = (...scopes: Scope[]): MethodDecorator & ClassDecorator => SetMetadata(REQUIRED_SCOPES, { mode: 'all', scopes } satisfies ScopeRequirement);

/** The principal needs at least one of these scopes: for endpoints that serve the backoffice and the portal alike. */
export const RequireAnyScope = (first: Scope, ...rest: Scope[]): MethodDecorator & ClassDecorator =>
  SetMetadata(REQUIRED_SCOPES, { mode: 'any', scopes: [first, ...rest] } satisfies ScopeRequirement);

/** The authenticated principal; 401 if used on a `@Public()` endpoint that got no credentials. */
export const CurrentPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext): Principal => {
  const principal = context.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  if (!principal) throw unauthorizedProblem('Authentication is required');
  return principal;
});

/**
 * Every read of personal data by staff is written to the audit log (who, which subject, when, why,
 * outcome); staff must send `X-Access-Reason` or get 400. Customers and systems are not audited here.
 */
export function AuditPersonalDataRead(subjectType: string, options: PersonalDataReadOptions = {}): MethodDecorator & ClassDecorator {
  const metadata: PersonalDataReadMetadata = {
    subjectType,
    idParam: options.idParam ?? 'id',
    ...(options.idQuery !== undefined ? { idQuery: options.idQuery } : {}),
    action: options.action ?? `${subjectType}.read`,
  };
  return applyDecorators(SetMetadata(PERSONAL_DATA_READ, metadata), UseInterceptors(PersonalDataReadAuditInterceptor));
}
