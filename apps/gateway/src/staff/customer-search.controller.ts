import { Body, Controller, Get, HttpCode, Inject, Param, ParseUUIDPipe, Post, Query, Req } from '@nestjs/common';
import { IsString, MaxLength, MinLength } from 'class-validator';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { ACCESS_REASON_HEADER, AuditLog, AuditPersonalDataRead, MAX_PURPOSE_LENGTH, RequireScopes, type AuthenticatedRequest } from '@dh/auth';
import { maskCpr } from '@dh/market-ids';
import { nameSearchTerms } from '@dh/portfolio-application';
import { PersonalDataErasedError, PiiVault, ProblemException } from '@dh/platform';
import { DisputeDesk, DisputeDeskError, type EventView } from '@dh/dispute-desk';
import type { JsonObject } from '@dh/event-store';
import { DISPUTE_DESK } from '../dispute-desk/dispute-desk.controller';
import { PII_VAULT } from '../tokens';
import { instantParam } from './query-params';

export class CustomerSearchDto {
  /** A name (every word must match a word of the name), a GSRN, an invoice id, a customer id, a CPR or a CVR. */
  @IsString()
  @MinLength(2)
  @MaxLength(100)
  query!: string;
}

/** `invoice`: a UUID, an invoice id or a customer id. */
export type SearchKind = 'gsrn' | 'invoice' | 'cpr' | 'cvr' | 'name';

export interface CustomerHit {
  id: string;
  customer_name: string | null;
  customer_type: string;
  status: string;
  cpr: string | null;
  cvr: string | null;
  gsrns: string[];
}

/** At most this many events in one timeline answer (the latest ones). */
export const MAX_TIMELINE_EVENTS = 2000;

export interface InvoiceThen {
  stream_id: string;
  invoice_id: string;
  /** `none`: not issued by then. */
  status: string;
  period: string | null;
  total_incl_vat: string | null;
  notes: number;
}

export interface CustomerTimeline {
  customer_id: string;
  as_of: string | null;
  streams: { stream_id: string; kind: string }[];
  events: EventView[];
  /** More events than MAX_TIMELINE_EVENTS: the earliest were left out. */
  truncated: boolean;
  invoices: InvoiceThen[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_HITS = 20;

/** What a query names, by its shape. A CPR is 10 digits (with or without the dash), a CVR 8, a GSRN 18. */
export function searchKindOf(query: string): SearchKind {
  const q = query.trim();
  if (/^\d{18}$/.test(q)) return 'gsrn';
  if (/^\d{6}-?\d{4}$/.test(q)) return 'cpr';
  if (/^\d{8}$/.test(q)) return 'cvr';
  if (UUID.test(q)) return 'invoice';
  return 'name';
}

/**
 * Finding a customer for support: by name, GSRN, invoice id (or customer id), CPR or CVR. The query
 * travels in the body, never in the URL (a CPR in a URL ends up in access logs). Names and CPR/CVR
 * are sealed, so those searches go through the vault's keyed-hash indexes (exact words of the name,
 * the whole CPR/CVR). Every search, and its kind, is written to the audit log with the staff
 * member's reason (`customer.search.<kind>`); the query itself is not stored.
 */
@Controller('api/staff/customers')
export class CustomerSearchController {
  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    @Inject(PII_VAULT) private readonly vault: PiiVault,
    @Inject(AuditLog) private readonly audit: AuditLog,
    @Inject(DISPUTE_DESK) private readonly desk: DisputeDesk,
  ) {}

  @Post('search')
  @HttpCode(200)
  @RequireScopes('staff:read', 'customers:read')
  async search(@Body() body: CustomerSearchDto, @Req() request: AuthenticatedRequest): Promise<{ kind: SearchKind; customers: CustomerHit[] }> {
    const principal = request.principal!;
    const kind = searchKindOf(body.query);
    const reason = request.header(ACCESS_REASON_HEADER)?.trim() ?? '';
    const entry = { actor: principal, action: `customer.search.${kind}`, subjectType: 'customer', subjectId: null, requestId: request.header('x-request-id') ?? randomUUID() };
    if (reason === '' || reason.length > MAX_PURPOSE_LENGTH) {
      await this.audit.record({ ...entry, purpose: null, outcome: 'refused', status: 400 });
      throw new ProblemException({ type: 'access-reason-required', title: 'Access reason required', status: 400, detail: `A customer search needs an X-Access-Reason header (1-${MAX_PURPOSE_LENGTH} characters): the reason is written to the audit log` });
    }
    const ids = await this.idsFor(kind, body.query.trim());
    const customers = await this.hits(ids);
    await this.audit.record({ ...entry, purpose: reason, outcome: customers.length > 0 ? 'success' : 'not-found', status: 200 });
    return { kind, customers };
  }

  /**
   * The event streams that belong to a customer, for the timeline: the customer, its metering points,
   * processes, invoices, aconto invoices and payments (ids from the read models; the streams are read
   * through the dispute desk). Audited like any staff read of the customer.
   */
  @Get(':id/streams')
  @RequireScopes('staff:read')
  @AuditPersonalDataRead('customer', { action: 'customer.streams' })
  async streams(@Param('id', new ParseUUIDPipe()) id: string): Promise<{ customer_id: string; streams: { stream_id: string; kind: string }[] }> {
    const exists: unknown[] = await this.db.query(`SELECT 1 FROM read_models.customers WHERE customer_id = $1`, [id]);
    if (exists.length === 0) throw new ProblemException({ type: 'customer-not-found', title: 'Customer not found', status: 404, detail: `No customer with id ${id}` });
    const rows: { stream_id: string; kind: string }[] = await this.db.query(
      `SELECT 'metering-point-' || gsrn AS stream_id, 'metering-point' AS kind FROM read_models.metering_points WHERE customer_id = $1
       UNION SELECT 'process-' || process_id, 'process' FROM read_models.processes WHERE customer_id = $1
       UNION SELECT 'invoice-' || invoice_id, 'invoice' FROM read_models.settlement_invoices WHERE customer_id = $2
       UNION SELECT 'aconto-invoice-' || aconto_invoice_id, 'aconto-invoice' FROM read_models.aconto_invoices WHERE customer_id = $2
       UNION SELECT 'payment-' || payment_id, 'payment' FROM read_models.payments WHERE customer_id = $2
       ORDER BY 2, 1 LIMIT 500`,
      [id, id],
    );
    return { customer_id: id, streams: [{ stream_id: `customer-${id}`, kind: 'customer' }, ...rows] };
  }

  /**
   * A customer's timeline in one answer: the events of every stream of the customer recorded by
   * `as_of` (default: now), oldest first, at most 2,000, and each invoice folded as it stood then
   * (status, total incl. VAT, number of correction notes). Audited like any staff read of the customer.
   */
  @Get(':id/timeline')
  @RequireScopes('staff:read')
  @AuditPersonalDataRead('customer', { action: 'customer.timeline' })
  async timeline(@Param('id', new ParseUUIDPipe()) id: string, @Query('as_of') asOfParam?: string): Promise<CustomerTimeline> {
    const asOf = instantParam('as_of', asOfParam);
    const { streams } = await this.streams(id);
    const events: EventView[] = [];
    const invoices: InvoiceThen[] = [];
    for (const { stream_id, kind } of streams) {
      try {
        const page = await this.desk.events(stream_id, { ...(asOf ? { asOf } : {}), limit: MAX_TIMELINE_EVENTS });
        events.push(...page.events);
        if (kind === 'invoice') {
          const { state } = await this.desk.stateAt(stream_id, asOf);
          const s = (state ?? {}) as JsonObject;
          const totals = ((s.current ?? {}) as JsonObject).totals as JsonObject | undefined;
          invoices.push({
            stream_id,
            invoice_id: stream_id.slice('invoice-'.length),
            status: typeof s.status === 'string' ? s.status : 'none',
            period: typeof s.period === 'string' ? s.period : null,
            total_incl_vat: typeof totals?.inclVat === 'string' ? totals.inclVat : null,
            notes: Array.isArray(s.notes) ? s.notes.length : 0,
          });
        }
      } catch (error) {
        // A stream a read model names but the store does not have (yet) shows nothing.
        if (!(error instanceof DisputeDeskError && error.code === 'stream-not-found')) throw error;
      }
    }
    events.sort((a, b) => a.recorded_at.localeCompare(b.recorded_at) || a.stream_id.localeCompare(b.stream_id) || a.revision - b.revision);
    return { customer_id: id, as_of: asOf?.toISOString() ?? null, streams, events: events.slice(-MAX_TIMELINE_EVENTS), truncated: events.length > MAX_TIMELINE_EVENTS, invoices };
  }

  private async idsFor(kind: SearchKind, q: string): Promise<string[]> {
    switch (kind) {
      case 'gsrn': {
        const rows: { customer_id: string }[] = await this.db.query(
          `SELECT DISTINCT customer_id::text AS customer_id FROM read_models.metering_points WHERE gsrn = $1 AND customer_id IS NOT NULL
           UNION SELECT DISTINCT customer_id::text FROM read_models.processes WHERE gsrn = $1 AND customer_id IS NOT NULL LIMIT ${MAX_HITS}`,
          [q],
        );
        return rows.map((r) => r.customer_id);
      }
      case 'invoice': {
        const rows: { customer_id: string }[] = await this.db.query(
          `SELECT customer_id::text AS customer_id FROM read_models.settlement_invoices WHERE invoice_id = $1
           UNION SELECT customer_id::text FROM read_models.customers WHERE customer_id = $1`,
          [q.toLowerCase()],
        );
        return rows.map((r) => r.customer_id);
      }
      case 'cpr':
        return this.vault.subjectsWithIdentity(`cpr:${q.replace(/-/g, '')}`);
      case 'cvr':
        return this.vault.subjectsWithIdentity(`cvr:${q}`);
      case 'name':
        return this.vault.subjectsWithSearchTerms('name', nameSearchTerms(q), MAX_HITS);
    }
  }

  private async hits(ids: string[]): Promise<CustomerHit[]> {
    if (ids.length === 0) return [];
    const rows: { customer_id: string; customer_type: string; status: string; personal_data: string; gsrns: string[] }[] = await this.db.query(
      `SELECT c.customer_id::text AS customer_id, c.customer_type, c.status, c.personal_data,
              COALESCE(array_agg(m.gsrn ORDER BY m.gsrn) FILTER (WHERE m.gsrn IS NOT NULL), '{}') AS gsrns
         FROM read_models.customers c LEFT JOIN read_models.metering_points m ON m.customer_id = c.customer_id
        WHERE c.customer_id = ANY($1::uuid[]) GROUP BY c.customer_id ORDER BY c.customer_id LIMIT ${MAX_HITS}`,
      [ids.slice(0, MAX_HITS)],
    );
    const hits: CustomerHit[] = [];
    for (const row of rows) {
      let personal: Record<string, string | null> | null = null;
      try {
        personal = await this.vault.decrypt(row.customer_id, row.personal_data);
      } catch (error) {
        if (!(error instanceof PersonalDataErasedError)) throw error;
      }
      hits.push({
        id: row.customer_id,
        customer_name: personal?.name ?? null,
        customer_type: row.customer_type,
        status: row.status,
        cpr: personal?.cpr ? maskCpr(personal.cpr) : null,
        cvr: personal?.cvr ?? null,
        gsrns: row.gsrns,
      });
    }
    return hits;
  }
}
