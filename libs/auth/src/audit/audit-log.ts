import type { Pool } from 'pg';
import { maskPersonalData } from '@dh/platform';
import type { Principal } from '../principal';

/**
 * Append-only access log in `audit.entries` (UPDATE, DELETE and TRUNCATE are refused by triggers).
 * Rows hold ids only: who (principal id, kind, roles), what (action, subject type and id), when, why
 * (the staff member's stated reason) and how it ended. Free text passes through the personal-data mask
 * (CPR → DDMMYY-XXXX, e-mail → a***@domain) so a reason like "call from 010190-1234" stores no CPR.
 */
export type AuditOutcome = 'success' | 'refused' | 'not-found' | 'error';

export interface AuditRecordInput {
  actor: Pick<Principal, 'id' | 'kind' | 'roles'>;
  /** What was done, an identifier: `customer.read`, `api-key.revoke`. */
  action: string;
  /** What kind of thing it was done to: `customer`. */
  subjectType: string;
  /** Which one (an id, never a name or CPR); absent for list reads. */
  subjectId?: string | null;
  /** Why: the `X-Access-Reason` a staff member gave. */
  purpose?: string | null;
  requestId?: string | null;
  outcome: AuditOutcome;
  /** HTTP status of the answer, when there was one. */
  status?: number | null;
}

export interface AuditEntry {
  id: string;
  at: Date;
  actorId: string;
  actorKind: Principal['kind'];
  actorRoles: string[];
  action: string;
  subjectType: string;
  subjectId: string | null;
  purpose: string | null;
  requestId: string | null;
  outcome: AuditOutcome;
  status: number | null;
}

export interface AuditQuery {
  actorId?: string;
  action?: string;
  subjectType?: string;
  subjectId?: string;
  outcome?: AuditOutcome;
  /** Inclusive. */
  from?: Date;
  /** Exclusive. */
  to?: Date;
  /** Default 100, at most 1000. */
  limit?: number;
  /** Newest first (the latest accesses), instead of oldest first. */
  newestFirst?: boolean;
}

export class AuditInputError extends Error {
  override readonly name = 'AuditInputError';
}

const IDENTIFIER = /^[a-z][a-z0-9_.:-]{0,63}$/;
export const MAX_PURPOSE_LENGTH = 500;
const MAX_ID_LENGTH = 200;

function identifier(value: string, what: string): string {
  if (!IDENTIFIER.test(value)) throw new AuditInputError(`${what} must be a lower-case identifier (a-z 0-9 _ . : -), got ${JSON.stringify(maskPersonalData(value))}`);
  return value;
}

function masked(value: string | null | undefined, max: number): string | null {
  if (value === null || value === undefined) return null;
  const text = maskPersonalData(value.replace(/[\u0000-\u001f\u007f]/g, ' ').trim());
  return text === '' ? null : text.slice(0, max);
}

interface AuditRow {
  id: string;
  at: Date;
  actor_id: string;
  actor_kind: Principal['kind'];
  actor_roles: string[];
  action: string;
  subject_type: string;
  subject_id: string | null;
  purpose: string | null;
  request_id: string | null;
  outcome: AuditOutcome;
  status: number | null;
}

function toEntry(row: AuditRow): AuditEntry {
  return {
    id: String(row.id),
    at: row.at,
    actorId: row.actor_id,
    actorKind: row.actor_kind,
    actorRoles: row.actor_roles,
    action: row.action,
    subjectType: row.subject_type,
    subjectId: row.subject_id,
    purpose: row.purpose,
    requestId: row.request_id,
    outcome: row.outcome,
    status: row.status,
  };
}

export class AuditLog {
  constructor(private readonly pool: Pool) {}

  async record(input: AuditRecordInput): Promise<AuditEntry> {
    const actorId = masked(input.actor.id, MAX_ID_LENGTH);
    if (actorId === null) throw new AuditInputError('An audit entry needs an actor id');
    const { rows } = await this.pool.query<AuditRow>(
      `INSERT INTO audit.entries (actor_id, actor_kind, actor_roles, action, subject_type, subject_id, purpose, request_id, outcome, status)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *`,
      [
        actorId,
        input.actor.kind,
        input.actor.roles ?? [],
        identifier(input.action, 'action'),
        identifier(input.subjectType, 'subjectType'),
        masked(input.subjectId, MAX_ID_LENGTH),
        masked(input.purpose, MAX_PURPOSE_LENGTH),
        masked(input.requestId, MAX_ID_LENGTH),
        input.outcome,
        input.status ?? null,
      ],
    );
    return toEntry(rows[0]);
  }

  /** Oldest first unless `newestFirst`. */
  async query(filter: AuditQuery = {}): Promise<AuditEntry[]> {
    const conditions: string[] = [];
    const values: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      values.push(value);
      conditions.push(sql.replace('?', `$${values.length}`));
    };
    if (filter.actorId !== undefined) add('actor_id = ?', filter.actorId);
    if (filter.action !== undefined) add('action = ?', filter.action);
    if (filter.subjectType !== undefined) add('subject_type = ?', filter.subjectType);
    if (filter.subjectId !== undefined) add('subject_id = ?', filter.subjectId);
    if (filter.outcome !== undefined) add('outcome = ?', filter.outcome);
    if (filter.from !== undefined) add('at >= ?', filter.from);
    if (filter.to !== undefined) add('at < ?', filter.to);
    const limit = Math.min(Math.max(Math.trunc(filter.limit ?? 100), 1), 1000);
    values.push(limit);
    const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
    const { rows } = await this.pool.query<AuditRow>(`SELECT * FROM audit.entries ${where} ORDER BY ${filter.newestFirst ? 'at DESC, id DESC' : 'at, id'} LIMIT $${values.length}`, values);
    return rows.map(toEntry);
  }
}
