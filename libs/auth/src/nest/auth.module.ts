import { type DynamicModule, Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type { Pool } from 'pg';
import { ApiKeyStore } from '../api-keys/api-key-store';
import { AuditLog } from '../audit/audit-log';
import { Authenticator } from '../authenticator';
import { type AuthConfig, loadAuthConfig } from '../jwt/auth-config';
import { JwtVerifier, type JwtVerifierOptions } from '../jwt/jwt-verifier';
import { migrateAuth } from '../migrations';
import { AUTH_GUARD_OPTIONS, AuthGuard, type AuthGuardOptions, DEFAULT_PUBLIC_PATHS } from './auth.guard';
import { PersonalDataReadAuditInterceptor } from './personal-data-read-audit.interceptor';

export interface AuthModuleOptions {
  /** PostgreSQL for `auth.api_keys` and `audit.entries`. */
  pool: Pool;
  /** Trusted issuers; default `loadAuthConfig(process.env)` (AUTH_ISSUERS, AUTH_CLOCK_TOLERANCE_SECONDS). */
  config?: AuthConfig;
  /** Default `DEFAULT_PUBLIC_PATHS` (`/health`, `/health/live`, `/health/ready`). */
  publicPaths?: readonly (string | RegExp)[];
  /** Default true: endpoints must declare scopes (or be `@Public()`). */
  requireScopeDeclaration?: boolean;
  /** Run the `auth`/`audit` migrations when the module starts; default true. */
  migrate?: boolean;
  jwt?: JwtVerifierOptions;
}

const AUTH_MIGRATED = Symbol('AUTH_MIGRATED');

/**
 * Registers the global `AuthGuard` (APP_GUARD) and makes `ApiKeyStore`, `AuditLog`, `JwtVerifier`
 * and `Authenticator` injectable everywhere. Import once, in the root (gateway) module.
 */
@Global()
@Module({})
export class AuthModule {
  static forRoot(options: AuthModuleOptions): DynamicModule {
    const config = options.config ?? loadAuthConfig(process.env);
    const guardOptions: AuthGuardOptions = {
      publicPaths: options.publicPaths ?? DEFAULT_PUBLIC_PATHS,
      requireScopeDeclaration: options.requireScopeDeclaration ?? true,
    };
    return {
      module: AuthModule,
      providers: [
        {
          provide: AUTH_MIGRATED,
          useFactory: async () => {
            if (options.migrate ?? true) await migrateAuth(options.pool);
            return true;
          },
        },
        { provide: ApiKeyStore, useFactory: () => new ApiKeyStore(options.pool), inject: [AUTH_MIGRATED] },
        { provide: AuditLog, useFactory: () => new AuditLog(options.pool), inject: [AUTH_MIGRATED] },
        { provide: JwtVerifier, useFactory: () => new JwtVerifier(config, options.jwt) },
        { provide: Authenticator, useFactory: (jwt: JwtVerifier, keys: ApiKeyStore) => new Authenticator(jwt, keys), inject: [JwtVerifier, ApiKeyStore] },
        { provide: AUTH_GUARD_OPTIONS, useValue: guardOptions },
        { provide: APP_GUARD, useClass: AuthGuard },
        PersonalDataReadAuditInterceptor,
      ],
      exports: [ApiKeyStore, AuditLog, JwtVerifier, Authenticator, AUTH_GUARD_OPTIONS, PersonalDataReadAuditInterceptor],
    };
  }
}
