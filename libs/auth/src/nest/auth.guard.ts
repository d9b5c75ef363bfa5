import { type CanActivate, type ExecutionContext, Inject, Injectable, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Response } from 'express';
import { Authenticator } from '../authenticator';
import { missingScopes } from '../principal';
import { AuthenticationError, forbiddenProblem, undeclaredScopesProblem, unauthorizedProblem, wwwAuthenticate } from '../problems';
import { type AuthenticatedRequest, IS_PUBLIC, REQUIRED_SCOPES, type ScopeRequirement } from './metadata';

export const AUTH_GUARD_OPTIONS = Symbol('AUTH_GUARD_OPTIONS');

export interface AuthGuardOptions {
  /**
   * Paths that need no credentials although their controllers carry no `@Public()` (controllers we do
   * not own, such as the platform's health endpoints). Exact strings or patterns on `request.path`.
   */
  publicPaths: readonly (string | RegExp)[];
  /**
   * When true (the default), an authenticated endpoint without `@RequireScopes`/`@RequireAnyScope` is
   * refused (403): forgetting the declaration fails closed.
   */
  requireScopeDeclaration: boolean;
}

/** Health probes and the Prometheus scrape (expose only `/api` through the ingress). */
// Metrics are not among them: the gateway serves them only on its own port (METRICS_PORT), never on the public one.
export const DEFAULT_PUBLIC_PATHS: readonly RegExp[] = [/^\/health(\/live|\/ready)?\/?$/];

/**
 * Global guard: resolves the principal (API key or bearer JWT), attaches it as `request.principal`,
 * answers 401 problem+json with `WWW-Authenticate` when credentials are missing or invalid and 403
 * when a required scope is missing. HTTP only; other transports pass through untouched.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly logger = new Logger('auth');

  constructor(
    private readonly reflector: Reflector,
    @Inject(Authenticator) private readonly authenticator: Authenticator,
    @Inject(AUTH_GUARD_OPTIONS) private readonly options: AuthGuardOptions,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const http = context.switchToHttp();
    const request = http.getRequest<AuthenticatedRequest>();
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets) === true) return true;
    if (this.options.publicPaths.some((p) => (typeof p === 'string' ? p === request.path : p.test(request.path)))) return true;

    try {
      request.principal = await this.authenticator.authenticate({ authorization: request.header('authorization'), apiKey: request.header('x-api-key') });
    } catch (error) {
      if (!(error instanceof AuthenticationError)) throw error;
      http.getResponse<Response>().setHeader('WWW-Authenticate', wwwAuthenticate(error));
      throw unauthorizedProblem(error.publicReason);
    }

    const requirement = this.reflector.getAllAndOverride<ScopeRequirement | undefined>(REQUIRED_SCOPES, targets);
    if (requirement === undefined) {
      if (!this.options.requireScopeDeclaration) return true;
      this.logger.error(`${request.method} ${request.path} declares no scopes; refusing (add @RequireScopes or @Public)`);
      throw undeclaredScopesProblem();
    }
    const principal = request.principal;
    if (requirement.mode === 'all') {
      const missing = missingScopes(principal, requirement.scopes);
      if (missing.length > 0) throw forbiddenProblem(missing, 'all');
    } else if (!requirement.scopes.some((scope) => principal.scopes.includes(scope))) {
      throw forbiddenProblem(requirement.scopes, 'any');
    }
    return true;
  }
}
