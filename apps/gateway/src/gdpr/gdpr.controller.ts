import { Controller, Get, HttpCode, Inject, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import type { Pool } from 'pg';
import { AuditLog, AuditPersonalDataRead, CurrentPrincipal, RequireScopes, type Principal, type StaffRole } from '@dh/auth';
import type { EventStore } from '@dh/event-store';
import { PersonalDataErasedError, PiiVault, ProblemException, type ProblemDetails } from '@dh/platform';
import { customerStreamId } from '@dh/portfolio-domain';
import { CommandGateway } from '../commands/command-gateway';
import { maskedContact } from '../customers/customers.controller';
import { PII_VAULT } from '../tokens';

export const GDPR_POOL = Symbol('GDPR_POOL');
export const GDPR_EVENT_STORE = Symbol('GDPR_EVENT_STORE');

/** The portfolio service's erasure stream (apps/portfolio/src/gdpr/erase-personal-data.ts). */
const erasureStreamId = (customerId: string): string => `customer-erasure-${customerId}`;

const customerNotFound = (id: string): ProblemDetails => ({ type: 'customer-not-found', title: 'Customer not found', status: 404, detail: `No customer with id ${id}` });

function requireRole(principal: Principal, allowed: readonly StaffRole[]): void {
  if (principal.kind === 'staff' && (principal.roles ?? []).some((role) => allowed.includes(role))) return;
  throw new ProblemException({ type: 'forbidden', title: 'Forbidden', status: 403, detail: `Only staff with role ${allowed.join(' or ')} may do this.` });
}

type Row = Record<string, unknown>;

/**
 * GDPR for the backoffice. Export (art. 15/20): everything held about one customer as one JSON
 * document, for admin and support. Erasure (art. 17): crypto-shredding of the personal data by the
 * portfolio service, for admin; bookkeeping stays for its retention period. Both demand
 * `X-Access-Reason` and are written to the audit log (`customer.export`, `customer.erase`).
 */
@Controller('api/staff/customers')
export class GdprController {
  constructor(
    private readonly commands: CommandGateway,
    private readonly audit: AuditLog,
    @Inject(GDPR_POOL) private readonly pool: Pool,
    @Inject(GDPR_EVENT_STORE) private readonly store: EventStore,
    @Inject(PII_VAULT) private readonly vault: PiiVault,
  ) {}

  @Get(':id/export')
  @RequireScopes('staff:read', 'customers:read')
  @AuditPersonalDataRead('customer', { action: 'customer.export' })
  async export(@Param('id', new ParseUUIDPipe()) id: string, @CurrentPrincipal() principal: Principal) {
    requireRole(principal, ['admin', 'support']);
    const customer = await this.one(`SELECT customer_id, customer_type, personal_data, status, created_at FROM read_models.customers WHERE customer_id = $1`, [id]);
    if (!customer) throw new ProblemException(customerNotFound(id));
    let personal: Record<string, string | null> | null = null;
    try {
      personal = await this.vault.decrypt(id, String(customer.personal_data));
    } catch (error) {
      if (!(error instanceof PersonalDataErasedError)) throw error;
    }
    const [meteringPoints, processes, invoices, notes, aconto, payments, audit, events] = await Promise.all([
      this.rows('read_models.metering_points', `SELECT * FROM read_models.metering_points WHERE customer_id = $1 ORDER BY gsrn`, [id]),
      this.rows('read_models.processes', `SELECT * FROM read_models.processes WHERE customer_id = $1 ORDER BY created_at, process_id`, [id]),
      this.rows(
        'read_models.settlement_invoices',
        `SELECT invoice_id, run_id, gsrn, period, period_start, period_end, payment_model, lines, total_excl_vat::text, total_vat::text, total_incl_vat::text,
                aconto_paid::text, aconto_difference::text, net_amount_due::text, estimated, issued_at
           FROM read_models.settlement_invoices WHERE customer_id = $1 ORDER BY period, gsrn, invoice_id`,
        [id],
      ),
      this.rows(
        'read_models.settlement_notes',
        `SELECT note_id, invoice_id, gsrn, period, note_type, cause, lines, total_excl_vat::text, total_vat::text, total_incl_vat::text
           FROM read_models.settlement_notes WHERE customer_id = $1 ORDER BY period, note_id`,
        [id],
      ),
      this.rows('read_models.aconto_payments', `SELECT payment_id, gsrn, amount::text, paid_at FROM read_models.aconto_payments WHERE customer_id = $1 ORDER BY paid_at, payment_id`, [id]),
      this.rows(
        'read_models.payments',
        `SELECT payment_id, invoice_id, amount::text, paid_at, method, recorded_at, matched_at FROM read_models.payments WHERE customer_id = $1 ORDER BY paid_at, payment_id`,
        [id],
      ),
      this.audit.query({ subjectType: 'customer', subjectId: id, limit: 1000 }),
      Promise.all([this.store.readStream(customerStreamId(id)), this.store.readStream(erasureStreamId(id))]),
    ]);
    return {
      exported_at: new Date().toISOString(),
      customer: {
        id,
        customer_type: customer.customer_type,
        status: customer.status,
        ...maskedContact(personal),
        created_at: (customer.created_at as Date).toISOString(),
        personal_data_erased: personal === null,
      },
      /** In clear, for the data subject: this document is the answer to their access request. */
      personal_data: personal,
      metering_points: meteringPoints,
      processes,
      invoices,
      credit_and_debit_notes: notes,
      aconto_payments: aconto,
      payments,
      audit_entries: audit.map((entry) => ({ ...entry, at: entry.at.toISOString() })),
      events: events.flat().map((event) => ({
        stream_id: event.streamId,
        revision: Number(event.streamRevision),
        type: event.type,
        occurred_at: event.occurredAt.toISOString(),
        recorded_at: event.recordedAt.toISOString(),
        data: event.data,
      })),
    };
  }

  @Post(':id/erase')
  @HttpCode(200)
  @RequireScopes('staff:write')
  @AuditPersonalDataRead('customer', { action: 'customer.erase' })
  async erase(@Param('id', new ParseUUIDPipe()) id: string, @CurrentPrincipal() principal: Principal) {
    requireRole(principal, ['admin']);
    const exists = await this.one(`SELECT 1 AS found FROM read_models.customers WHERE customer_id = $1`, [id]);
    if (!exists) throw new ProblemException(customerNotFound(id));
    const result = await this.commands.send<{ customerId: string; erasedAt: string; retainBookkeepingUntil: string; alreadyErased: boolean }>(
      'portfolio',
      'EraseCustomerPersonalData',
      { customerId: id },
      `staff:${principal.id}`,
    );
    // Drops this instance's cached copy of the key (the portfolio service destroyed the stored one).
    await this.vault.erase(id);
    return { customer_id: result.customerId, erased_at: result.erasedAt, retain_bookkeeping_until: result.retainBookkeepingUntil, already_erased: result.alreadyErased };
  }

  private async one(sql: string, values: unknown[]): Promise<Row | undefined> {
    const { rows } = await this.pool.query<Row>(sql, values);
    return rows[0];
  }

  /** Rows of a read model that may not exist yet in this deployment (then none). */
  private async rows(table: string, sql: string, values: unknown[]): Promise<Row[]> {
    const { rows: exists } = await this.pool.query<{ present: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS present`, [table]);
    if (!exists[0]?.present) return [];
    return (await this.pool.query<Row>(sql, values)).rows;
  }
}
