import { Controller, Get, Param, ParseUUIDPipe, Query } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { assertCustomerAccess, CurrentPrincipal, RequireAnyScope, type Principal } from '@dh/auth';
import { isValidGsrn } from '@dh/market-ids';
import { ProblemException } from '@dh/platform';
import { asProcessStatus, processOutcomeOf, type ProcessOutcome, type ProcessStatus } from '@dh/portfolio-domain';
import { CUSTOMERS_TABLE, METERING_POINTS_TABLE, PROCESSES_TABLE, SUPPLY_PERIODS_TABLE } from '@dh/read-models';
import { CommandGateway } from '../commands/command-gateway';
import { GSRN_MESSAGE } from '../customers/create-customer.dto';
import type { MeteringPointLookup } from '../customers/onboarding.service';
import { intParam, patternParam } from '../staff/query-params';
import { meteringPointColumns, type MeteringPointRow } from './metering-point-row';

export interface PortfolioSummary {
  customers: { total: number; active: number; by_status: Record<string, number> };
  metering_points: { total: number; supplied: number; by_supply_status: Record<string, number>; by_price_area: Record<string, number> };
  processes: { open: number; by_status: Record<string, number> };
}

const OPEN_PROCESS_STATUSES = ['created', 'requested', 'pending'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DEFAULT_PAGE = 100;
const MAX_PAGE = 500;

/** A metering point as CRM sees it in the overview: master data and our current supply on it. */
export type PortfolioMeteringPoint = MeteringPointRow;

export interface SupplyPeriodView {
  supply_id: string;
  start_date: string;
  /** The first day no longer supplied; null while the supply stands. */
  end_date: string | null;
  status: 'active' | 'ended' | 'reversed';
  end_reason: string | null;
  product_id: string | null;
  /** Changes of product from a day (`POST …/product-changes`), in date order: `product_id` before the first. */
  product_changes: { product_id: string; from: string }[];
  billing_frequency: string | null;
  payment_model: string | null;
  production_gsrn: string | null;
}

export interface CustomerMeteringPointView {
  gsrn: string;
  type: string | null;
  settlement_method: string | null;
  grid_area: string | null;
  price_area: string | null;
  supply_periods: SupplyPeriodView[];
  processes: { process_id: string; kind: string | null; status: ProcessOutcome; detailed_status: ProcessStatus; effective_date: string | null }[];
}

const MP_COLUMNS = meteringPointColumns();

const customerNotFound = (id: string) => ({ type: 'customer-not-found', title: 'Customer not found', status: 404, detail: `No customer with id ${id}` });

/** `limit` and the keyset cursor `after` (the last key of the previous page) of a paged list. */
function page(limit: string | undefined, after: string | undefined, key: RegExp, what: string): { limit: number; after: string | null } {
  return { limit: intParam('limit', limit, 1, MAX_PAGE) ?? DEFAULT_PAGE, after: patternParam('after', after, key, what) ?? null };
}

@Controller('api')
export class PortfolioController {
  constructor(
    private readonly commands: CommandGateway,
    @InjectDataSource() private readonly db: DataSource,
  ) {}

  private async countBy(table: string, column: string, where = 'true'): Promise<Record<string, number>> {
    const rows: { key: string | null; n: string }[] = await this.db.query(`SELECT ${column} AS key, count(*)::text AS n FROM read_models.${table} WHERE ${where} GROUP BY ${column}`);
    return Object.fromEntries(rows.map((r) => [r.key ?? 'unknown', Number(r.n)]));
  }

  /** CRM: active customers, metering points and open processes. */
  @Get('portfolio/summary')
  @RequireAnyScope('portfolio:read', 'staff:read')
  async summary(): Promise<PortfolioSummary> {
    const [customers, supply, areas, processes] = await Promise.all([
      this.countBy('customers', 'status'),
      this.countBy('metering_points', 'supply_status'),
      this.countBy('metering_points', 'price_area', `supply_status = 'active'`),
      this.countBy('processes', 'status'),
    ]);
    const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
    return {
      customers: { total: sum(customers), active: customers.active ?? 0, by_status: customers },
      metering_points: { total: sum(supply), supplied: supply.active ?? 0, by_supply_status: supply, by_price_area: areas },
      processes: { open: OPEN_PROCESS_STATUSES.reduce((n, s) => n + (processes[s] ?? 0), 0), by_status: processes },
    };
  }

  /**
   * CRM: the portfolio's customers, a page at a time (keyset on the customer id: pass the answer's `next` as
   * `after`), each with the metering points we supply or supplied last for them. No personal data: CRM
   * holds the names; `GET /api/customers/{id}` shows them to a caller allowed to read them.
   */
  @Get('portfolio/customers')
  @RequireAnyScope('portfolio:read', 'staff:read')
  async customers(
    @Query('status') status?: string,
    @Query('limit') limit?: string,
    @Query('after') after?: string,
  ): Promise<{ customers: { id: string; customer_type: string; status: string; created_at: string; metering_points: PortfolioMeteringPoint[] }[]; next: string | null }> {
    const p = page(limit, after, UUID, 'a customer id (UUID) from the previous page');
    const state = patternParam('status', status, /^(created|active|offboarded)$/, 'created, active or offboarded') ?? null;
    const rows: { customer_id: string; customer_type: string; status: string; created_at: Date }[] = await this.db.query(
      `SELECT customer_id, customer_type, status, created_at FROM ${CUSTOMERS_TABLE}
       WHERE ($1::uuid IS NULL OR customer_id > $1::uuid) AND ($2::text IS NULL OR status = $2)
       ORDER BY customer_id LIMIT $3`,
      [p.after, state, p.limit + 1],
    );
    const pageRows = rows.slice(0, p.limit);
    const points: MeteringPointRow[] = pageRows.length === 0
      ? []
      : await this.db.query(`SELECT ${MP_COLUMNS} FROM ${METERING_POINTS_TABLE} WHERE customer_id = ANY($1::uuid[]) ORDER BY gsrn`, [pageRows.map((r) => r.customer_id)]);
    return {
      customers: pageRows.map((c) => ({
        id: c.customer_id,
        customer_type: c.customer_type,
        status: c.status,
        created_at: c.created_at.toISOString(),
        metering_points: points.filter((m) => m.customer_id === c.customer_id),
      })),
      next: rows.length > p.limit ? (pageRows[pageRows.length - 1]?.customer_id ?? null) : null,
    };
  }

  /** CRM: the portfolio's metering points, a page at a time (keyset on the GSRN), optionally by supply status. */
  @Get('portfolio/metering-points')
  @RequireAnyScope('portfolio:read', 'staff:read')
  async meteringPoints(
    @Query('supply_status') supplyStatus?: string,
    @Query('limit') limit?: string,
    @Query('after') after?: string,
  ): Promise<{ metering_points: PortfolioMeteringPoint[]; next: string | null }> {
    const p = page(limit, after, /^\d{18}$/, 'a GSRN from the previous page');
    const state = patternParam('supply_status', supplyStatus, /^(none|active|ended|reversed)$/, 'none, active, ended or reversed') ?? null;
    const rows: MeteringPointRow[] = await this.db.query(
      `SELECT ${MP_COLUMNS} FROM ${METERING_POINTS_TABLE} WHERE ($1::text IS NULL OR gsrn > $1) AND ($2::text IS NULL OR supply_status = $2) ORDER BY gsrn LIMIT $3`,
      [p.after, state, p.limit + 1],
    );
    const pageRows = rows.slice(0, p.limit);
    return { metering_points: pageRows, next: rows.length > p.limit ? (pageRows[pageRows.length - 1]?.gsrn ?? null) : null };
  }

  /**
   * CRM: a customer's metering points, each with every supply period we had for this customer (start, end,
   * reason, terms, production point) and the DataHub processes on it (status in the CRM contract's words).
   */
  @Get('customers/:id/metering-points')
  @RequireAnyScope('portfolio:read', 'staff:read')
  async customerMeteringPoints(@Param('id', new ParseUUIDPipe()) id: string, @CurrentPrincipal() principal: Principal): Promise<{ customer_id: string; metering_points: CustomerMeteringPointView[] }> {
    assertCustomerAccess(principal, id, customerNotFound(id));
    const known: { n: number }[] = await this.db.query(`SELECT count(*)::int AS n FROM ${CUSTOMERS_TABLE} WHERE customer_id = $1`, [id]);
    if ((known[0]?.n ?? 0) === 0) throw new ProblemException(customerNotFound(id));
    const [periods, processes]: [
      (SupplyPeriodView & { gsrn: string })[],
      { process_id: string; gsrn: string | null; kind: string | null; status: string; effective_date: string | null }[],
    ] = await Promise.all([
      this.db.query(
        `SELECT supply_id, gsrn, to_char(start_date, 'YYYY-MM-DD') AS start_date, to_char(end_date, 'YYYY-MM-DD') AS end_date, status, end_reason,
           product_id, product_changes, billing_frequency, payment_model, production_gsrn
         FROM ${SUPPLY_PERIODS_TABLE} WHERE customer_id = $1 ORDER BY gsrn, start_date, supply_id`,
        [id],
      ),
      this.db.query(
        `SELECT process_id, gsrn, kind, status, to_char(effective_date, 'YYYY-MM-DD') AS effective_date FROM ${PROCESSES_TABLE}
         WHERE customer_id = $1 ORDER BY gsrn, created_at, process_id`,
        [id],
      ),
    ]);
    const gsrns = [...new Set([...periods.map((r) => r.gsrn), ...processes.flatMap((r) => (r.gsrn === null ? [] : [r.gsrn]))])].sort();
    const master: MeteringPointRow[] = gsrns.length === 0 ? [] : await this.db.query(`SELECT ${MP_COLUMNS} FROM ${METERING_POINTS_TABLE} WHERE gsrn = ANY($1::text[])`, [gsrns]);
    return {
      customer_id: id,
      metering_points: gsrns.map((gsrn) => {
        const m = master.find((r) => r.gsrn === gsrn);
        return {
          gsrn,
          type: m?.type ?? null,
          settlement_method: m?.settlement_method ?? null,
          grid_area: m?.grid_area ?? null,
          price_area: m?.price_area ?? null,
          supply_periods: periods
            .filter((r) => r.gsrn === gsrn)
            .map((r) => ({
              supply_id: r.supply_id,
              start_date: r.start_date,
              end_date: r.end_date,
              status: r.status,
              end_reason: r.end_reason,
              product_id: r.product_id,
              product_changes: r.product_changes,
              billing_frequency: r.billing_frequency,
              payment_model: r.payment_model,
              production_gsrn: r.production_gsrn,
            })),
          processes: processes
            .filter((r) => r.gsrn === gsrn)
            .map((r) => ({ process_id: r.process_id, kind: r.kind, status: processOutcomeOf(asProcessStatus(r.status)), detailed_status: asProcessStatus(r.status), effective_date: r.effective_date })),
        };
      }),
    };
  }

  /** CRM: a GSRN's metering point data, grid area and history from Eloverblik, before we supply it. */
  @Get('metering-points/:gsrn/lookup')
  @RequireAnyScope('metering-points:read', 'staff:read')
  async lookup(@Param('gsrn') gsrn: string): Promise<MeteringPointLookup> {
    if (!isValidGsrn(gsrn)) throw new ProblemException({ type: 'validation', title: 'Invalid GSRN', status: 400, errors: [{ field: 'gsrn', messages: [GSRN_MESSAGE] }] });
    return this.commands.send<MeteringPointLookup>('datahub-integration', 'LookupMeteringPoint', { gsrn });
  }
}
