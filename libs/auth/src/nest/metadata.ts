import type { Request } from 'express';
import type { Principal, Scope } from '../principal';

export const IS_PUBLIC = 'dh:auth:public';
export const REQUIRED_SCOPES = 'dh:auth:scopes';
export const PERSONAL_DATA_READ = 'dh:auth:personal-data-read';

export interface ScopeRequirement {
  mode: 'all' | 'any';
  scopes: readonly Scope[];
}

export interface PersonalDataReadOptions {
  /** Route parameter with the subject id; default `id`. Absent on list endpoints (subject id null). */
  idParam?: string;
  /** Query parameter with the subject id instead (endpoints that name their subject in the query string, e.g. `?customer_id=`). */
  idQuery?: string;
  /** Audit action; default `<subjectType>.read`. */
  action?: string;
}

export interface PersonalDataReadMetadata extends Required<Pick<PersonalDataReadOptions, 'action'>> {
  subjectType: string;
  idParam: string;
  idQuery?: string;
}

/** The request as seen after the guard. */
export type AuthenticatedRequest = Request & { principal?: Principal };

