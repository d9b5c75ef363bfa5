import { Controller, Get, Header, Inject, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Pool } from 'pg';
import { DataSource, type Repository } from 'typeorm';
import { AuditPersonalDataRead, CurrentPrincipal, RequireAnyScope, type Principal } from '@dh/auth';
import { localDateOf, type LocalDate } from '@dh/dk-time';
import { Money } from '@dh/money';
import { ProblemException, type ProblemDetails } from '@dh/platform';
import {
  AcontoInvoiceReadModel,
  AcontoPaymentReadModel,
  CONSUMPTION_ANOMALIES_TABLE,
  METERING_POINTS_TABLE,
  PORTAL_GRID_AREAS_TABLE,
  PORTAL_PRODUCTS_TABLE,
  PORTAL_RATE_NOTIFICATIONS_TABLE,
  SettlementInvoiceReadModel,
  SettlementNoteReadModel,
} from '@dh/read-models';
import { exportInvoice, exportNote, type ExportInvoice, type ExportNote } from '../settlement/settlement-export';
import { parseConsumptionQuery, readConsumption, readCustomerConsumption, totalOf, type ConsumptionResolution, type ConsumptionValue } from './consumption.query';
import { meteringPointColumns, type MeteringPointRow } from '../portfolio/metering-point-row';
import { kwhString, nextMonth, nextQuarter, firstOfMonth } from './local-time';
import { gzipOf } from './gzip-answer';
import { CUSTOMER_ID_PARAM, PORTAL_CLOCK, PORTAL_POOL, portalCustomerId, type PortalClock } from './portal-access';

/** The same body whether the GSRN is unknown or another customer's. */
const meteringPointNotFound = (): ProblemDetails => ({ type: 'metering-point-not-found', title: 'Metering point not found', status: 404, detail: 'No metering point with this GSRN' });
/** For list endpoints, a customer naming another customer in `customer_id`. */
const customerNotFound = (): ProblemDetails => ({ type: 'customer-not-found', title: 'Customer not found', status: 404, detail: 'No such customer' });

const audit = (what: string) => AuditPersonalDataRead('customer', { idQuery: CUSTOMER_ID_PARAM, action: `portal.${what}.read` });

export interface ConsumptionResponse {
  gsrn: string;
  resolution: ConsumptionResolution;
  from: string;
  to: string;
  time_zone: 'Europe/Copenhagen';
  unit: 'kWh';
  /** The customer's supply on this metering point; the range is clamped to it. */
  supply: { start: string | null; end: string | null };
  values: ConsumptionValue[];
  total_kwh: string;
  estimated: boolean;
  missing: boolean;
}

export interface PortalInvoice extends ExportInvoice {
  period: string;
  payment_model: string;
  estimated: boolean;
  issued_at: string;
}

export interface PortalNotification {
  id: string;
  kind: 'unusual-consumption' | 'charge-prices-changed' | 'product-prices-changed';
  /** The day concerned (unusual consumption) or the date the new rates take effect. */
  date: string;
  gsrns: string[];
  title: string;
  detail: Record<string, unknown>;
}

const MP_COLUMNS = meteringPointColumns();

/**
 * The customer self-service portal (mission §2), read-only. A customer (JWT, `portal:read`) sees the
 * metering points whose `customer_id` is theirs and nothing else: another customer's GSRN answers
 * the same 404 as an unknown one, lists are filtered by customer. Staff (`staff:read`) name the
 * customer with `?customer_id=`; their reads are audited (`X-Access-Reason` required).
 */
interface MatchedPaymentRow {
  payment_id: string;
  invoice_id: string | null;
  amount: string;
  paid_at: Date | string;
  method: string;
}

const paymentView = (p: MatchedPaymentRow) => ({ payment_id: p.payment_id, amount: Money.parse(p.amount).format(), paid_at: new Date(p.paid_at).toISOString(), method: p.method });

@Controller('api/portal')
export class PortalController {
  private readonly invoices: Repository<SettlementInvoiceReadModel>;
  private readonly notes: Repository<SettlementNoteReadModel>;
  private readonly payments: Repository<AcontoPaymentReadModel>;
  private readonly acontoInvoices: Repository<AcontoInvoiceReadModel>;

  /**
   * The default TypeORM `DataSource` (its class is the injection token `@nestjs/typeorm` registers;
   * injecting it directly keeps this controller loadable in Jest, which cannot load the ESM-only
   * `@nestjs/typeorm`). Settlement's read models are read through their own entities.
   */
  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    @Inject(PORTAL_CLOCK) private readonly clock: PortalClock,
    @Inject(PORTAL_POOL) private readonly pool: Pool,
  ) {
    this.invoices = db.getRepository(SettlementInvoiceReadModel);
    this.notes = db.getRepository(SettlementNoteReadModel);
    this.payments = db.getRepository(AcontoPaymentReadModel);
    this.acontoInvoices = db.getRepository(AcontoInvoiceReadModel);
  }

  /** Payments matched to the customer's invoices and aconto invoices, from every source (Betalingsservice, FI slip, card, ERP…). */
  private matchedPayments(customerId: string): Promise<MatchedPaymentRow[]> {
    return this.db.query(
      `SELECT payment_id, invoice_id::text AS invoice_id, amount::text AS amount, paid_at, method FROM read_models.payments WHERE customer_id = $1 AND status = 'matched' ORDER BY paid_at DESC, payment_id`,
      [customerId],
    );
  }

  private meteringPoints(customerId: string): Promise<MeteringPointRow[]> {
    return this.db.query(`SELECT ${MP_COLUMNS} FROM ${METERING_POINTS_TABLE} WHERE customer_id = $1 ORDER BY supply_start NULLS LAST, gsrn`, [customerId]);
  }

  private today(): LocalDate {
    return localDateOf(this.clock.now());
  }

  @Get('consumption')
  @RequireAnyScope('portal:read', 'staff:read')
  @audit('consumption')
  @Header('Content-Type', 'application/json; charset=utf-8')
  async consumption(
    @Query() query: Record<string, unknown>,
    @CurrentPrincipal() principal: Principal,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ): Promise<string | Buffer> {
    const q = parseConsumptionQuery(query);
    const notFound = meteringPointNotFound();
    const customerId = portalCustomerId(principal, typeof query[CUSTOMER_ID_PARAM] === 'string' ? query[CUSTOMER_ID_PARAM] : undefined, notFound);
    // Hours (~90 KiB of JSON a month) go gzip-encoded to a client that accepts it, stitched from the read model's
    // pre-compressed days (a tenth of the bytes to read, write and send; nothing compressed per request).
    response.vary('Accept-Encoding');
    const gzip = q.resolution === 'hour' && request.acceptsEncodings('gzip', 'identity') === 'gzip';
    // One statement: the customer's supply on the GSRN (none: 404), the range cut to it (only the customer's own supply,
    // not the previous occupant's consumption on the same GSRN) and, for hours and days, the values in the cut range.
    const read = await readCustomerConsumption(this.pool, q.gsrn, customerId, q.from, q.to, q.resolution, gzip);
    if (!read) throw new ProblemException(notFound);
    const head = { gsrn: q.gsrn, resolution: q.resolution, from: q.from, to: q.to, time_zone: 'Europe/Copenhagen', unit: 'kWh', supply: read.supply } as const;
    // Hours and days (hundreds of values) come as JSON text from the read model; this only frames them.
    if (read.json) {
      const open = `${JSON.stringify(head).slice(0, -1)},"values":[`;
      const close = `],"total_kwh":${JSON.stringify(read.json.total)},"estimated":${read.json.estimated},"missing":${read.json.missing}}`;
      if (read.json.valuesPart === null) return `${open}${read.json.valuesJson ?? ''}${close}`;
      const body = gzipOf([open, read.json.valuesPart, close]);
      response.setHeader('Content-Encoding', 'gzip');
      return body;
    }
    const values = read.cut ? await readConsumption(this.db, q.gsrn, read.cut.from, read.cut.to, q.resolution) : [];
    const answer: ConsumptionResponse = { ...head, values, total_kwh: totalOf(values), estimated: values.some((v) => v.estimated), missing: values.some((v) => v.missing) };
    return JSON.stringify(answer);
  }

  @Get('invoices')
  @RequireAnyScope('portal:read', 'staff:read')
  @audit('invoices')
  async invoiceList(@Query(CUSTOMER_ID_PARAM) requested: string | undefined, @CurrentPrincipal() principal: Principal): Promise<{ customer_id: string; invoices: PortalInvoice[]; notes: ExportNote[] }> {
    const customerId = portalCustomerId(principal, requested, customerNotFound());
    const invoices = await this.invoices.find({ where: { customerId }, order: { periodStart: 'DESC', gsrn: 'ASC', invoiceId: 'ASC' } });
    const notes = await this.notes.find({ where: { customerId }, order: { issuedAt: 'DESC', noteId: 'ASC' } });
    const paid = await this.matchedPayments(customerId);
    return {
      customer_id: customerId,
      invoices: invoices.map((i) => {
        const payments = paid.filter((p) => p.invoice_id === i.invoiceId);
        return { ...exportInvoice(i), period: i.period, payment_model: i.paymentModel, estimated: i.estimated, issued_at: i.issuedAt.toISOString(), paid: Money.sum(payments.map((p) => Money.parse(p.amount))).format(), payments: payments.map(paymentView) };
      }),
      notes: notes.map(exportNote),
    };
  }

  @Get('contract')
  @RequireAnyScope('portal:read', 'staff:read')
  @audit('contract')
  async contract(@Query(CUSTOMER_ID_PARAM) requested: string | undefined, @CurrentPrincipal() principal: Principal) {
    const customerId = portalCustomerId(principal, requested, customerNotFound());
    const today = this.today();
    const rows: (MeteringPointRow & { product_name: string | null; product_valid_from: string | null; margin: string | null; subscription: string | null })[] = await this.db.query(
      `SELECT ${meteringPointColumns('mp')}, p.name AS product_name, to_char(p.valid_from, 'YYYY-MM-DD') AS product_valid_from,
         p.margin_dkk_per_kwh::text AS margin, p.monthly_subscription_dkk::text AS subscription
       FROM ${METERING_POINTS_TABLE} mp
       LEFT JOIN LATERAL (SELECT pp.name, pp.valid_from, pp.margin_dkk_per_kwh, pp.monthly_subscription_dkk FROM ${PORTAL_PRODUCTS_TABLE} pp WHERE pp.product_id = mp.product_id AND pp.valid_from <= $2 ORDER BY pp.valid_from DESC LIMIT 1) p ON true
       WHERE mp.customer_id = $1 ORDER BY mp.supply_start NULLS LAST, mp.gsrn`,
      [customerId, today],
    );
    return {
      customer_id: customerId,
      contracts: rows.map((r) => ({
        gsrn: r.gsrn,
        product: {
          product_id: r.product_id,
          name: r.product_name,
          margin_dkk_per_kwh: r.margin,
          monthly_subscription_dkk: r.subscription,
          prices_valid_from: r.product_valid_from,
        },
        billing_frequency: r.billing_frequency,
        payment_model: r.payment_model,
        supply: { status: r.supply_status, start: r.supply_start, end: r.supply_end },
        metering_point: { gsrn: r.gsrn, type: r.type, settlement_method: r.settlement_method, grid_area: r.grid_area, price_area: r.price_area, supply_start: r.supply_start },
      })),
    };
  }

  @Get('aconto')
  @RequireAnyScope('portal:read', 'staff:read')
  @audit('aconto')
  async aconto(@Query(CUSTOMER_ID_PARAM) requested: string | undefined, @CurrentPrincipal() principal: Principal) {
    const customerId = portalCustomerId(principal, requested, customerNotFound());
    const today = this.today();
    const points = await this.meteringPoints(customerId);
    const settled = await this.invoices.find({ where: { customerId, paymentModel: 'aconto' }, order: { periodStart: 'DESC', gsrn: 'ASC' } });
    // Newest quarter first: the first of a GSRN is its current aconto amount.
    const advance = await this.acontoInvoices.find({ where: { customerId }, order: { quarter: 'DESC', gsrn: 'ASC' } });
    // Every aconto payment: those matched to an aconto invoice (any source) and those recorded on the metering point.
    const gsrnOfAconto = new Map(advance.map((a) => [a.acontoInvoiceId, a.gsrn]));
    const matched = (await this.matchedPayments(customerId)).filter((p) => p.invoice_id !== null && gsrnOfAconto.has(p.invoice_id));
    const onMeteringPoint = await this.payments.find({ where: { customerId }, order: { paidAt: 'DESC', paymentId: 'ASC' } });
    const payments = [
      ...matched.map((p) => ({ payment_id: p.payment_id, gsrn: gsrnOfAconto.get(p.invoice_id!)!, amount: Money.parse(p.amount).format(), paid_at: new Date(p.paid_at).toISOString(), method: p.method, aconto_invoice_id: p.invoice_id })),
      ...onMeteringPoint.map((p) => ({ payment_id: p.paymentId, gsrn: p.gsrn, amount: Money.parse(p.amount).format(), paid_at: p.paidAt.toISOString(), method: 'aconto-payment', aconto_invoice_id: null })),
    ].sort((a, b) => b.paid_at.localeCompare(a.paid_at) || a.payment_id.localeCompare(b.payment_id));
    const acontoView = (a: AcontoInvoiceReadModel) => ({
      aconto_invoice_id: a.acontoInvoiceId,
      gsrn: a.gsrn,
      quarter: a.quarter,
      period_start: a.periodStart,
      period_end: a.periodEnd,
      amount_incl_vat: Money.parse(a.amountInclVat).format(),
      due_date: a.dueDate,
      expected_annual_kwh: a.basis.expectedAnnualKwh,
      price_per_kwh: a.basis.pricePerKwh,
      issued_at: a.issuedAt.toISOString(),
    });
    return {
      customer_id: customerId,
      metering_points: points.map((p) => {
        const lastPayment = payments.find((x) => x.gsrn === p.gsrn);
        const current = advance.find((a) => a.gsrn === p.gsrn);
        return {
          gsrn: p.gsrn,
          payment_model: p.payment_model,
          billing_frequency: p.billing_frequency,
          /** The latest aconto invoice (newest quarter) of the metering point, null before the first. */
          current_amount: current ? { amount_incl_vat: Money.parse(current.amountInclVat).format(), quarter: current.quarter, due_date: current.dueDate, aconto_invoice_id: current.acontoInvoiceId } : null,
          last_payment: lastPayment ? { amount: lastPayment.amount, paid_at: lastPayment.paid_at } : null,
          next_settlement_date: p.supply_status === 'active' ? nextSettlementDate(today, p.billing_frequency) : null,
        };
      }),
      aconto_invoices: advance.map(acontoView),
      payments,
      paid_total: Money.sum(payments.map((p) => Money.parse(p.amount))).format(),
      settlements: settled.map((i) => ({
        invoice_id: i.invoiceId,
        gsrn: i.gsrn,
        period: i.period,
        period_start: i.periodStart,
        period_end: i.periodEnd,
        total_incl_vat: Money.parse(i.totalInclVat).format(),
        aconto_paid: Money.parse(i.acontoPaid).format(),
        aconto_difference: Money.parse(i.acontoDifference).format(),
        net_amount_due: Money.parse(i.netAmountDue).format(),
        issued_at: i.issuedAt.toISOString(),
      })),
    };
  }

  @Get('notifications')
  @RequireAnyScope('portal:read', 'staff:read')
  @audit('notifications')
  async notifications(@Query(CUSTOMER_ID_PARAM) requested: string | undefined, @CurrentPrincipal() principal: Principal): Promise<{ customer_id: string; notifications: PortalNotification[] }> {
    const customerId = portalCustomerId(principal, requested, customerNotFound());
    const unusual: { gsrn: string; day: string; quantity: string; median: string; baseline_days: number }[] = await this.db.query(
      `SELECT a.gsrn, to_char(a.day, 'YYYY-MM-DD') AS day, a.quantity::text AS quantity, a.baseline_median::text AS median, a.baseline_days
       FROM ${CONSUMPTION_ANOMALIES_TABLE} a
       JOIN ${METERING_POINTS_TABLE} mp ON mp.gsrn = a.gsrn AND mp.customer_id = $1 AND mp.supply_start IS NOT NULL
         AND a.day >= mp.supply_start AND (mp.supply_end IS NULL OR a.day < mp.supply_end)`,
      [customerId],
    );
    const rates: { notification_id: string; kind: PortalNotification['kind']; effective_from: string; title: string; detail: Record<string, unknown>; gsrn: string; published_at: Date }[] = await this.db.query(
      `SELECT n.notification_id, n.kind, to_char(n.effective_from, 'YYYY-MM-DD') AS effective_from, n.title, n.detail, mp.gsrn, n.published_at
       FROM ${PORTAL_RATE_NOTIFICATIONS_TABLE} n
       JOIN ${METERING_POINTS_TABLE} mp ON mp.customer_id = $1 AND mp.supply_start IS NOT NULL
         AND n.effective_from >= mp.supply_start AND (mp.supply_end IS NULL OR n.effective_from < mp.supply_end)
       LEFT JOIN ${PORTAL_GRID_AREAS_TABLE} g ON g.grid_area = mp.grid_area
       WHERE n.national OR n.product_id = mp.product_id OR n.charge_id = g.grid_tariff_charge_id OR n.charge_id = g.grid_subscription_charge_id
       ORDER BY n.notification_id, mp.gsrn`,
      [customerId],
    );
    const out: PortalNotification[] = unusual.map((u) => ({
      id: `unusual-consumption:${u.gsrn}:${u.day}`,
      kind: 'unusual-consumption',
      date: u.day,
      gsrns: [u.gsrn],
      title: `Unusually high consumption on ${u.day}`,
      detail: { quantity_kwh: kwhString(u.quantity), baseline_median_kwh: kwhString(u.median), baseline_days: u.baseline_days, rule: 'day total > 2 × median of the complete days among the previous 30 (at least 14)' },
    }));
    const byId = new Map<string, PortalNotification>();
    for (const r of rates) {
      const existing = byId.get(r.notification_id);
      if (existing) {
        if (!existing.gsrns.includes(r.gsrn)) existing.gsrns.push(r.gsrn);
        continue;
      }
      byId.set(r.notification_id, { id: r.notification_id, kind: r.kind, date: r.effective_from, gsrns: [r.gsrn], title: r.title, detail: { ...r.detail, published_at: r.published_at.toISOString() } });
    }
    out.push(...byId.values());
    out.sort((a, b) => (a.date === b.date ? a.id.localeCompare(b.id) : a.date < b.date ? 1 : -1));
    return { customer_id: customerId, notifications: out };
  }
}

/**
 * The first local day after the current billing period (a settlement run can settle the period from
 * then on): the 1st of next month for monthly billing, of the next quarter for quarterly billing.
 */
export function nextSettlementDate(today: LocalDate, billingFrequency: string | null): LocalDate | null {
  if (billingFrequency === 'monthly') return nextMonth(firstOfMonth(today));
  if (billingFrequency === 'quarterly') return nextQuarter(today);
  return null;
}
